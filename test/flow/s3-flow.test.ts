import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { enqueueRun } from '../helpers/enqueue-run';
import { SAMPLE_DATASET } from '../helpers/env';
import { Stack, startStack, waitForRun } from '../helpers/stack';
import { S3Server } from '../helpers/s3-server';
import { ALL_ARTIFACTS, comparableBytes } from '../runs/artifacts';
import { openStore } from '../../shared/core/store/open-store';
import { QUEUES } from '../../shared/runtime/flow/queue-names';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * One whole run on the bundled sample with 2 workers; `during` runs while it does. Its stages' artifacts are
 * read back through the store, once the finished-run hook has written report.html (just after the state
 * turns final), so that the stack closes with no write under way.
 */
async function runOn(
  stack: Stack,
  during: (runId: string) => Promise<void> = async () => undefined,
): Promise<Map<string, Buffer>> {
  const store = openStore(stack.config.storage);
  try {
    const runId = await enqueueRun(stack.runs, { dataset: SAMPLE_DATASET, params: { chunkSize: 200 } });
    await during(runId);
    const done = await waitForRun(stack.runs, runId);
    assert.equal(done.state, 'completed', JSON.stringify(done.error));
    for (let i = 0; i < 200 && !(await store.stat(`runs/${runId}/report.html`)); i++) await sleep(50);
    const files = new Map<string, Buffer>();
    for (const name of ALL_ARTIFACTS)
      files.set(name, comparableBytes(name, await store.get(`runs/${runId}/${name}`)));
    return files;
  } finally {
    await store.close();
  }
}

function assertSameBytes(local: Map<string, Buffer>, remote: Map<string, Buffer>): void {
  for (const name of ALL_ARTIFACTS)
    assert.ok(local.get(name)!.equals(remote.get(name)!), `${name} differs between backends`);
}

async function onStack<T>(env: Record<string, string>, fn: (stack: Stack) => Promise<T>): Promise<T> {
  const stack = await startStack({ workers: 2, env, workerEnv: env });
  try {
    return await fn(stack);
  } finally {
    await stack.close();
  }
}

describe('the whole flow with artifacts in S3 (s3rver on 127.0.0.1)', () => {
  const s3 = new S3Server('flow');
  let local: Map<string, Buffer>;
  before(async () => {
    await s3.start();
    local = await onStack({}, (stack) => runOn(stack));
  });
  after(() => s3.close());

  it('completes with the same bytes as on a local folder, none of them in the local folder, through the S3 endpoint stopping mid-run (jobs fail naming it and retry with backoff)', async (t) => {
    await onStack(s3.env('team/tf'), async (stack) => {
      assert.equal(stack.config.storage.kind, 's3');
      let run = '';
      const remote = await runOn(stack, async (runId) => {
        run = runId;
        // Stop the server once stage 1's chunks are under way, for less than the retries' total backoff.
        const chunks = stack.queues['text-chunks'];
        for (let i = 0; i < 600 && (await chunks.getCompletedCount()) === 0; i++) await sleep(25);
        const stopped = Date.now();
        await s3.stop();
        await sleep(3000);
        await s3.start();
        t.diagnostic(`s3rver stopped for ${Date.now() - stopped} ms`);
      });
      const failures: string[] = [];
      for (const name of QUEUES)
        for (const job of await stack.queues[name].getJobs(['completed', 'failed']))
          if (job?.id?.startsWith(run))
            failures.push(...(job.stacktrace ?? []).map((s) => s.split('\n')[0]!));
      assertSameBytes(local, remote);
      const leftLocally = fs.existsSync(stack.config.storageDir)
        ? fs.readdirSync(stack.config.storageDir, { recursive: true })
        : [];
      assert.deepEqual(leftLocally, [], 'no artifact in the local storage folder');
      assert.ok(failures.length > 0, 'some job attempt failed during the outage');
      for (const f of failures)
        assert.match(f, new RegExp(`127\\.0\\.0\\.1:${s3.port}`), 'the failure names the endpoint');
    });
  });
});
