import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { STAGES } from '../../shared/pipeline/stages/definitions';
import { enqueueRun } from '../helpers/enqueue-run';
import { chunkJobId } from '../../shared/runtime/flow/job-types';
import { spawnWorkers } from '../../producers/cli/self-contained';
import { SAMPLE_DATASET, tempDir } from '../helpers/env';
import { spawnNode, stopAll, WORKER_MAIN, waitFor } from '../helpers/processes';
import { Stack, startStack, waitForRun } from '../helpers/stack';
import { withOneLetterChanged } from '../helpers/one-letter';

const records = JSON.parse(fs.readFileSync(SAMPLE_DATASET, 'utf8')) as unknown[];
const json = (recs: unknown[]) => JSON.stringify(recs);

describe('a dataset rewritten after POST /runs', () => {
  let stack: Stack;
  let data: string;
  before(async () => {
    data = tempDir('swap-data');
    // No workers yet: the runs wait while their files change under them.
    stack = await startStack({ env: { TICKETFLOW_DATA_DIR: data } });
  });
  after(async () => {
    await stopAll();
    await stack.close();
    fs.rmSync(data, { recursive: true, force: true });
  });

  const noCacheEntry = async (record: { stages: { cacheKey: string }[] }) => {
    for (const [i, s] of record.stages.entries())
      assert.equal(await stack.runs.cache.get(s.cacheKey), null, `no cache entry for ${STAGES[i]}`);
  };

  it('fails stage 1 on its first attempt naming the file, caches nothing; an unchanged file completes', async () => {
    const poison = path.join(data, 'poison.json');
    fs.writeFileSync(poison, json(records.slice(0, 800)));
    fs.writeFileSync(path.join(data, 'steady.json'), json(records.slice(800)));
    const swappedId = await enqueueRun(stack.runs, { dataset: 'poison.json' });
    const steadyId = await enqueueRun(stack.runs, { dataset: 'steady.json' });
    // In place (same inode), keeping the first half of the records.
    fs.writeFileSync(poison, json(records.slice(0, 400)));

    const workers = await spawnWorkers(stack.config, stack.queues, stack.config.redisUrl, 1, 'warn');
    try {
      const swapped = await waitForRun(stack.runs, swappedId, 60_000);
      assert.equal(swapped.state, 'failed');
      const stage1 = swapped.stages[0]!;
      assert.equal(stage1.state, 'failed');
      assert.equal(stage1.attemptsMade, 1, 'failed on its first attempt');
      assert.match(swapped.error!.message, /poison\.json: the dataset changed since the run was submitted/);
      assert.match(swapped.error!.message, new RegExp(swapped.datasetSha256));
      await noCacheEntry(swapped);
      assert.ok(!fs.existsSync(path.join(stack.config.storageDir, 'runs', swappedId, 'tickets.csv')));

      const steady = await waitForRun(stack.runs, steadyId, 120_000);
      assert.equal(steady.state, 'completed', JSON.stringify(steady.error));
    } finally {
      await workers.stop();
    }
  });

  it('a rewrite between planning and a chunk reading its range fails the chunk, naming the file', async () => {
    const file = path.join(data, 'late.json');
    const original = json(records.slice(0, 300));
    fs.writeFileSync(file, original);
    const runId = await enqueueRun(stack.runs, {
      dataset: 'late.json',
      params: { chunkSize: 100, cache: false },
    });
    // Only the stage's parent runs: it verifies the file, plans three chunks and adds their jobs.
    const env = {
      REDIS_URL: stack.config.redisUrl,
      TICKETFLOW_QUEUE_PREFIX: stack.config.queuePrefix,
      TICKETFLOW_STORAGE_DIR: stack.config.storageDir,
      TICKETFLOW_DATA_DIR: data,
      TICKETFLOW_LOG_LEVEL: 'warn',
    };
    const parent = spawnNode('parent worker', WORKER_MAIN, ['--queues', 'text-processing'], env);
    const chunks = stack.queues['text-chunks'];
    await waitFor(
      'the chunk jobs added',
      async () => ((await chunks.getJob(chunkJobId(runId, 2))) ? true : undefined),
      30_000,
    );
    await parent.stop();
    // Same size, one letter changed, in place: only the file's identity (mtime, ctime) tells.
    const edited = withOneLetterChanged(original);
    assert.equal(Buffer.byteLength(edited), Buffer.byteLength(original));
    fs.writeFileSync(file, edited);

    const workers = await spawnWorkers(stack.config, stack.queues, stack.config.redisUrl, 1, 'warn');
    try {
      const record = await waitForRun(stack.runs, runId, 60_000);
      assert.equal(record.state, 'failed');
      const failed = (await chunks.getJobs(['failed'])).filter((j) => j.data.runId === runId);
      assert.ok(failed.length > 0, 'a chunk failed');
      for (const job of failed) {
        assert.equal(job.attemptsMade, 1, 'on its first attempt');
        assert.match(job.failedReason, /late\.json: the dataset changed since the run was submitted/);
      }
      await noCacheEntry(record);
    } finally {
      await workers.stop();
    }
  });
});
