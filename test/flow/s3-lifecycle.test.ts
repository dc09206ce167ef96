import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { scaleDataset } from '../../tools/bench/scale-dataset';
import { SAMPLE_DATASET } from '../helpers/env';
import { SampleStack, startSampleStack, waitForRun } from '../helpers/stack';
import { S3Server } from '../helpers/s3-server';
import { comparableBytes } from '../runs/artifacts';
import { ArtifactStore } from '../../shared/core/store/artifact-store';
import { openStore } from '../../shared/core/store/open-store';

const TOKEN = randomBytes(24).toString('hex');
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A run's life on the S3 backend, through the HTTP API, with workers that share nothing on disk with the
 * API: a failed run retried from its failed stage, the report and artifacts served from the bucket, a
 * second run served from the stage cache (server-side copies), a batch classification, a cancel and a
 * delete, each checked against what is in the bucket.
 */
describe('a run through the API on the S3 backend: retry, report, stage cache, classification, cancel, delete', () => {
  const s3 = new S3Server('life');
  let stack: SampleStack;
  let store: ArtifactStore;
  let base: string;

  const call = async (
    method: string,
    route: string,
    body?: unknown,
  ): Promise<{ status: number; json: any }> => {
    const res = await fetch(`${base}${route}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, json: text.startsWith('{') ? JSON.parse(text) : text };
  };
  /** POSTs `body`, which must be accepted (202); the new run's or classification's id. */
  const submit = async (route: string, body: unknown): Promise<string> => {
    const posted = await call('POST', route, body);
    assert.equal(posted.status, 202, JSON.stringify(posted.json));
    return posted.json.id as string;
  };
  /** An artifact's bytes as the API serves them. */
  const download = async (route: string): Promise<{ status: number; bytes: Buffer }> => {
    const res = await fetch(`${base}${route}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()) };
  };
  const keysOf = async (prefix: string) => (await store.list(prefix)).map((e) => e.key.slice(prefix.length));

  before(async () => {
    await s3.start();
    const env = { ...s3.env('life'), TICKETFLOW_API_TOKEN: TOKEN };
    stack = await startSampleStack('s3-life', {
      workers: 2,
      api: true,
      env,
      workerEnv: { ...env, TICKETFLOW_FAIL_ONCE: 'feature-extraction:permanent' },
    });
    assert.equal(stack.config.storage.kind, 's3');
    await scaleDataset(SAMPLE_DATASET, 15, path.join(stack.dataDir, 'sample-x15.jsonl'));
    base = stack.baseUrl!;
    store = openStore(stack.config.storage);
  });
  after(async () => {
    await store?.close();
    await stack?.close();
    await s3.close();
  });

  let runId: string;
  it('retries a failed run from its failed stage, then serves its report and artifacts from the bucket', async () => {
    runId = await submit('/runs', { dataset: 'sample.json', params: { chunkSize: 300 } });
    const failed = await waitForRun(stack.runs, runId);
    assert.equal(failed.state, 'failed');
    assert.equal(failed.error?.stage, 'feature-extraction');
    const stage1 = failed.stages[0]!;
    const retried = await call('POST', `/runs/${runId}/retry`);
    assert.equal(retried.status, 202, JSON.stringify(retried.json));
    const done = await waitForRun(stack.runs, runId);
    assert.equal(done.state, 'completed', JSON.stringify(done.error));
    assert.deepEqual(
      [done.stages[0]!.jobId, done.stages[0]!.attemptsMade],
      [stage1.jobId, stage1.attemptsMade],
      'stage 1 was not run again',
    );

    for (let i = 0; i < 200 && !(await store.stat(`runs/${runId}/report.html`)); i++) await sleep(50);
    const report = await call('GET', `/runs/${runId}/report`);
    assert.equal(report.status, 200);
    assert.ok(String(report.json).includes(runId), 'the report names the run');
    const listed = (await call('GET', `/runs/${runId}/artifacts`)).json.artifacts as {
      name: string;
      sha256: string;
    }[];
    const model = await store.get(`runs/${runId}/model.json`);
    assert.equal(listed.find((a) => a.name === 'model.json')?.sha256, sha256(model));
    assert.ok((await download(`/runs/${runId}/artifacts/model.json`)).bytes.equals(model));
  });

  let cachedId: string;
  it('answers the same run from the stage cache, its artifacts copied in the bucket', async () => {
    cachedId = await submit('/runs', { dataset: 'sample.json', params: { chunkSize: 300 } });
    const done = await waitForRun(stack.runs, cachedId);
    assert.equal(done.state, 'completed', JSON.stringify(done.error));
    assert.deepEqual(
      done.stages.map((s) => s.cached),
      done.stages.map(() => true),
    );
    for (const name of ['tickets.csv', 'features.bin', 'model.json', 'metrics.json'])
      assert.ok(
        comparableBytes(name, await store.get(`runs/${cachedId}/${name}`)).equals(
          comparableBytes(name, await store.get(`runs/${runId}/${name}`)),
        ),
        `${name} copied`,
      );
  });

  it('classifies a dataset in batch with the trained model, its outputs in the bucket and served', async () => {
    const id = await submit('/classifications', { dataset: 'sample.json', model: runId });
    let state = '';
    for (let i = 0; i < 1200 && state !== 'completed' && state !== 'failed'; i++) {
      state = (await call('GET', `/classifications/${id}`)).json.state;
      if (state !== 'completed') await sleep(100);
    }
    assert.equal(state, 'completed');
    const names = await keysOf(`classifications/${id}/`);
    assert.ok(names.includes('predictions.csv'), names.join(', '));
    const served = await download(`/classifications/${id}/artifacts/predictions.csv`);
    assert.equal(served.status, 200);
    assert.ok(served.bytes.equals(await store.get(`classifications/${id}/predictions.csv`)));
  });

  it('cancels a running run, removing its chunk outputs from the bucket', async () => {
    const id = await submit('/runs', { dataset: 'sample-x15.jsonl', params: { chunkSize: 200 } });
    for (let i = 0; i < 1200 && (await keysOf(`runs/${id}/chunks/`)).length === 0; i++) await sleep(25);
    assert.ok((await keysOf(`runs/${id}/chunks/`)).length > 0, 'a chunk output is in the bucket');
    const cancelled = await call('POST', `/runs/${id}/cancel`);
    assert.equal(cancelled.status, 200, JSON.stringify(cancelled.json));
    assert.equal((await waitForRun(stack.runs, id)).state, 'cancelled');
    assert.deepEqual(await keysOf(`runs/${id}/chunks/`), []);
  });

  it('deletes a run: nothing of it is left in the bucket', async () => {
    assert.ok((await keysOf(`runs/${cachedId}/`)).includes('model.json'));
    const deleted = await call('DELETE', `/runs/${cachedId}`);
    assert.equal(deleted.status, 200, JSON.stringify(deleted.json));
    assert.deepEqual(await keysOf(`runs/${cachedId}/`), []);
    assert.equal((await call('GET', `/runs/${cachedId}`)).status, 404);
    assert.ok((await keysOf(`runs/${runId}/`)).includes('model.json'), 'the other run is untouched');
  });
});
