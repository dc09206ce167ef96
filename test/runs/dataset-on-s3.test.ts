import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { STAGES } from '../../shared/pipeline/stages/definitions';
import { chunkJobId } from '../../shared/runtime/flow/job-types';
import { CLASSIFICATION_FILES, classificationDir } from '../../shared/runtime/classify/batch';
import { readTickets } from '../../shared/core/dataset/read-tickets';
import { readCsvFile } from '../helpers/read-csv-file';
import { resolveConfig } from '../../shared/core/config/config';
import { S3Store } from '../../shared/core/store/s3-store';
import { parseStoreUrl } from '../../shared/core/store/store-location';
import { spawnWorkers } from '../../producers/cli/self-contained';
import { S3RVER_CREDENTIALS, S3Server } from '../helpers/s3-server';
import { SAMPLE_DATASET } from '../helpers/env';
import { spawnNode, stopAll, WORKER_MAIN, waitFor } from '../helpers/processes';
import { Stack, startSampleStack, startStack, waitForRun } from '../helpers/stack';
import { artifactHashes } from './artifacts';
import { withOneLetterChanged } from '../helpers/one-letter';

const sample = fs.readFileSync(SAMPLE_DATASET);
const records = JSON.parse(sample.toString('utf8')) as Record<string, unknown>[];
const json = (recs: unknown[]) => JSON.stringify(recs);

/**
 * Datasets as objects under an S3 prefix (TICKETFLOW_DATA_URL=s3://bucket/prefix, a real s3rver on
 * loopback), artifacts on the file backend: the same checks, chunk planning by byte ranges (ranged GETs)
 * and swap check as datasets in the local data root.
 */
describe('datasets from an S3 bucket', () => {
  const s3 = new S3Server('data-bucket');
  const prefix = 'team/datasets';
  const dataUrl = `s3://data-bucket/${prefix}`;
  let env: Record<string, string>;
  let objects: S3Store;
  let stack: Stack;
  /** the completed run trained on the object (first test), for the classification test */
  let trained: string | undefined;

  before(async () => {
    await s3.start();
    env = {
      ...S3RVER_CREDENTIALS,
      AWS_REGION: 'us-east-1',
      TICKETFLOW_S3_ENDPOINT: s3.endpoint,
      TICKETFLOW_DATA_URL: dataUrl,
    };
    const location = parseStoreUrl(dataUrl, env, 'TICKETFLOW_DATA_URL');
    assert.equal(location.kind, 's3');
    const { kind: _kind, ...s3Location } = location as Extract<typeof location, { kind: 's3' }>;
    objects = new S3Store(s3Location);
    await objects.put('sample.json', sample);
    // No workers yet: each test starts its own, after arranging the bucket.
    stack = await startStack({ env, api: true });
    assert.equal(stack.config.data.kind, 's3');
    assert.equal(stack.config.storage.kind, 'file');
  });
  after(async () => {
    await stopAll();
    await stack.close();
    await objects.close();
    await s3.close();
  });

  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${stack.baseUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const submit = async (dataset: string, params?: unknown) => {
    const res = await post('/runs', { dataset, ...(params ? { params } : {}) });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    return res.body.id as string;
  };
  const withWorkers = async <T>(body: () => Promise<T>): Promise<T> => {
    const workers = await spawnWorkers(stack.config, stack.queues, stack.config.redisUrl, 1, 'warn', env);
    try {
      return await body();
    } finally {
      await workers.stop();
    }
  };
  const noCacheEntry = async (record: { stages: { cacheKey: string }[] }) => {
    for (const [i, s] of record.stages.entries())
      assert.equal(await stack.runs.cache.get(s.cacheKey), null, `no cache entry for ${STAGES[i]}`);
  };

  it('trains on an object in the bucket: the same artifacts as the same file in a local data root', async () => {
    const params = { chunkSize: 300, cache: false };
    const s3Run = await submit('sample.json', params);
    const fromBucket = await withWorkers(() => waitForRun(stack.runs, s3Run, 180_000));
    assert.equal(fromBucket.state, 'completed', JSON.stringify(fromBucket.error));
    assert.equal(fromBucket.dataset, 'sample.json');
    trained = s3Run;
    const chunks = (await stack.queues['text-chunks'].getJobs(['completed'])).filter(
      (j) => j.data.runId === s3Run,
    );
    assert.equal(chunks.length, 4, '1200 records in chunks of 300: four ranged reads');

    const local = await startSampleStack('s3-data-local', { workers: 1 });
    try {
      assert.equal(local.config.data.kind, 'file');
      const { submitRun } = await import('../../shared/runtime/runs/submit');
      const { record } = await submitRun(local.runs, {
        dataset: 'sample.json',
        datasetFile: `${local.dataDir}/sample.json`,
        params,
      });
      const fromFile = await waitForRun(local.runs, record.id, 180_000);
      assert.equal(fromFile.state, 'completed', JSON.stringify(fromFile.error));
      assert.equal(fromBucket.datasetSha256, fromFile.datasetSha256);
      assert.deepEqual(
        artifactHashes(stack.config.storageDir, s3Run),
        artifactHashes(local.config.storageDir, record.id),
      );
    } finally {
      await local.close();
    }
  });

  it('answers 400 naming the dataset for a name outside the prefix or a missing object', async () => {
    for (const [name, why] of [
      ['../sample.json', /"\.\.\/sample\.json" has a "\." or "\.\." segment: it would leave the prefix/],
      ['a/../../sample.json', /"a\/\.\.\/\.\.\/sample\.json" has a "\." or "\.\." segment/],
      ['/team/datasets/sample.json', /"\/team\/datasets\/sample\.json" is an absolute name/],
      ['sub\\sample.json', /"sub\\\\sample\.json" holds a backslash/],
      ['sub//sample.json', /"sub\/\/sample\.json" has an empty segment/],
      ['sub/', /"sub\/" has an empty segment/],
    ] as const) {
      const res = await post('/runs', { dataset: name });
      assert.equal(res.status, 400, name);
      assert.match(String(res.body.error), why, name);
      assert.match(String(res.body.error), /datasets are objects under s3:\/\/data-bucket\/team\/datasets/);
    }
    const missing = await post('/runs', { dataset: 'nope.json' });
    assert.equal(missing.status, 400);
    assert.match(
      String(missing.body.error),
      /"nope\.json" does not exist: there is no object s3:\/\/data-bucket\/team\/datasets\/nope\.json/,
    );
    const cls = await post('/classifications', { dataset: '../sample.json' });
    assert.equal(cls.status, 400);
    assert.match(String(cls.body.error), /it would leave the prefix/);
  });

  it('fails a malformed record on the first attempt, naming the object, the record and the field', async () => {
    const bad = records.slice(0, 50).map((r) => structuredClone(r));
    (bad[37]!._source as Record<string, unknown>).product = 42;
    await objects.put('bad/records.json', json(bad));
    const id = await submit('bad/records.json', { cache: false });
    const record = await withWorkers(() => waitForRun(stack.runs, id, 60_000));
    assert.equal(record.state, 'failed');
    assert.equal(record.stages[0]!.attemptsMade, 1, 'failed on its first attempt');
    assert.match(
      record.error!.message,
      /s3:\/\/data-bucket\/team\/datasets\/bad\/records\.json, record 37, field "_source\.product"/,
    );
  });

  it('fails stage 1 on its first attempt when the object is replaced after POST /runs, caching nothing', async () => {
    const original = json(records.slice(0, 300));
    await objects.put('swap.json', original);
    const id = await submit('swap.json');
    // Same size, one letter changed: only the bytes (hash, ETag) tell.
    const edited = withOneLetterChanged(original);
    assert.equal(Buffer.byteLength(edited), Buffer.byteLength(original));
    await objects.put('swap.json', edited);
    const record = await withWorkers(() => waitForRun(stack.runs, id, 60_000));
    assert.equal(record.state, 'failed');
    assert.equal(record.stages[0]!.state, 'failed');
    assert.equal(record.stages[0]!.attemptsMade, 1, 'failed on its first attempt');
    assert.match(
      record.error!.message,
      /s3:\/\/data-bucket\/team\/datasets\/swap\.json: the dataset changed since the run was submitted/,
    );
    assert.match(record.error!.message, new RegExp(record.datasetSha256));
    await noCacheEntry(record);
    // A retry would rerun stage 1 on other bytes: refused, the object hashed again through the API.
    const again = await post(`/runs/${id}/retry`, {});
    assert.equal(again.status, 409, JSON.stringify(again.body));
    assert.match(String(again.body.error), /the dataset swap\.json changed since run/);
  });

  it('a replacement between planning and a chunk reading its range fails the chunk, naming the object', async () => {
    const original = json(records.slice(0, 300));
    await objects.put('late.json', original);
    const runId = await submit('late.json', { chunkSize: 100, cache: false });
    // Only the stage's parent runs: it verifies the object, plans three chunks and adds their jobs.
    const parent = spawnNode('parent worker', WORKER_MAIN, ['--queues', 'text-processing'], {
      ...env,
      REDIS_URL: stack.config.redisUrl,
      TICKETFLOW_QUEUE_PREFIX: stack.config.queuePrefix,
      TICKETFLOW_STORAGE_DIR: stack.config.storageDir,
      TICKETFLOW_LOG_LEVEL: 'warn',
    });
    const chunks = stack.queues['text-chunks'];
    await waitFor(
      'the chunk jobs added',
      async () => ((await chunks.getJob(chunkJobId(runId, 2))) ? true : undefined),
      30_000,
    );
    await parent.stop();
    await objects.put('late.json', withOneLetterChanged(original));
    const record = await withWorkers(() => waitForRun(stack.runs, runId, 60_000));
    assert.equal(record.state, 'failed');
    const failed = (await chunks.getJobs(['failed'])).filter((j) => j.data.runId === runId);
    assert.ok(failed.length > 0, 'a chunk failed');
    for (const job of failed) {
      assert.equal(job.attemptsMade, 1, 'on its first attempt');
      assert.match(
        job.failedReason,
        /s3:\/\/data-bucket\/team\/datasets\/late\.json: the dataset changed since the run was submitted/,
      );
    }
    await noCacheEntry(record);
  });

  it('classifies an object in the bucket in chunks (POST /classifications): one row per ticket, in order', async () => {
    assert.ok(trained !== undefined, 'the first test trained a model');
    const res = await post('/classifications', { dataset: 'sample.json', model: trained, chunkSize: 300 });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const id = res.body.id as string;
    const status = await withWorkers(() =>
      waitFor(
        'the classification finished',
        async () => {
          const s = (await (await fetch(`${stack.baseUrl}/classifications/${id}`)).json()) as {
            state: string;
            error?: string;
          };
          return s.state === 'completed' || s.state === 'failed' ? s : undefined;
        },
        120_000,
      ),
    );
    assert.equal(status.state, 'completed', status.error ?? '');
    const file = path.join(classificationDir(stack.config.storageDir, id), CLASSIFICATION_FILES.predictions);
    const rows: string[] = [];
    await readCsvFile(file, ['ticket_id'], (row) => void rows.push(row.ticket_id!));
    const ids: string[] = [];
    await readTickets(SAMPLE_DATASET, (rec) => void ids.push(rec.id ?? String(rec.index)));
    assert.equal(ids.length, 1140);
    assert.deepEqual(rows, ids, 'one row per kept ticket, in input order');
  });

  it('answers 503 naming the endpoint while the bucket holding the datasets does not answer', async () => {
    await s3.stop();
    try {
      const res = await post('/runs', { dataset: 'sample.json' });
      assert.equal(res.status, 503, JSON.stringify(res.body));
      assert.match(
        String(res.body.error),
        new RegExp(
          `cannot look up the dataset sample\\.json in s3://data-bucket/team/datasets at ${s3.endpoint}`,
        ),
      );
    } finally {
      await s3.start();
    }
    assert.equal((await post('/runs', { dataset: 'sample.json', params: { topics: 4 } })).status, 202);
  });

  it('keeps today’s data root when TICKETFLOW_DATA_URL is unset, and takes a file URL as the root', () => {
    const plain = resolveConfig({ TICKETFLOW_DATA_DIR: '/srv/data' });
    assert.deepEqual(plain.data, { kind: 'file', root: '/srv/data' });
    const file = resolveConfig({ TICKETFLOW_DATA_URL: 'file:///srv/other' });
    assert.equal(file.dataDir, '/srv/other');
    assert.throws(() => resolveConfig({ TICKETFLOW_DATA_URL: 'ftp://x/y' }), /TICKETFLOW_DATA_URL/);
  });
});
