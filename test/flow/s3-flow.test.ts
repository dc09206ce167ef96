import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { enqueueRun } from '../helpers/enqueue-run';
import { SAMPLE_DATASET } from '../helpers/env';
import { Stack, startStack, waitForRun } from '../helpers/stack';
import { S3Server } from '../helpers/s3-server';
import { comparableBytes } from '../runs/artifacts';
import { openStore } from '../../shared/core/store/open-store';

const ARTIFACTS = [
  'tickets.csv',
  'tickets_topics.csv',
  'topics.json',
  'features.json',
  'features.bin',
  'split.json',
  'model.json',
  'metrics.json',
  'test_predictions.json',
  'report.html',
];

/** One whole run on the bundled sample with 2 workers; its artifacts read back through the store. */
async function runOn(env: Record<string, string>): Promise<{ files: Map<string, Buffer>; stack: Stack }> {
  const stack = await startStack({ workers: 2, env, workerEnv: env });
  const store = openStore(stack.config.storage);
  try {
    const runId = await enqueueRun(stack.runs, { dataset: SAMPLE_DATASET, params: { chunkSize: 200 } });
    const done = await waitForRun(stack.runs, runId);
    assert.equal(done.state, 'completed', JSON.stringify(done.error));
    // The report is written by the finished-run hook, just after the run's state turns final.
    for (let i = 0; i < 200 && !(await store.stat(`runs/${runId}/report.html`)); i++)
      await new Promise((r) => setTimeout(r, 50));
    const files = new Map<string, Buffer>();
    for (const name of ARTIFACTS)
      files.set(name, comparableBytes(name, await store.get(`runs/${runId}/${name}`)));
    return { files, stack };
  } catch (err) {
    await stack.close();
    throw err;
  } finally {
    await store.close();
  }
}

describe('the whole flow with artifacts in S3 (s3rver on 127.0.0.1)', () => {
  const s3 = new S3Server('flow');
  before(async () => {
    await s3.start();
  });
  after(() => s3.close());

  it('completes with the same bytes as on a local folder, and writes nothing to the local folder', async () => {
    const local = await runOn({});
    await local.stack.close();
    const remote = await runOn(s3.env('team/tf'));
    try {
      assert.equal(remote.stack.config.storage.kind, 's3');
      for (const name of ARTIFACTS) {
        if (name === 'report.html') continue; // names the run and its times
        assert.ok(local.files.get(name)!.equals(remote.files.get(name)!), `${name} differs between backends`);
      }
      const leftLocally = fs.existsSync(remote.stack.config.storageDir)
        ? fs.readdirSync(remote.stack.config.storageDir, { recursive: true })
        : [];
      assert.deepEqual(leftLocally, [], 'no artifact in the local storage folder');
    } finally {
      await remote.stack.close();
    }
  });
});
