import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Job, Queue, QueueEvents, Worker } from 'bullmq';
import { CHUNK_QUEUE } from '../../shared/pipeline/stages/text-processing/definition';
import { QUEUES } from '../../shared/runtime/flow/queue-names';
import { createConnection } from '../../shared/runtime/flow/connection';
import { enqueueRun } from '../helpers/enqueue-run';
import { StageJobData, chunkJobId, stageJobId } from '../../shared/runtime/flow/job-types';
import { RunRecord } from '../../shared/runtime/runs/record';
import { textProcessingProcessor } from '../../workers/processors/text-processing';
import { SAMPLE_DATASET, tempDir } from '../helpers/env';
import { Proc, startWorker, waitFor } from '../helpers/processes';
import { startStack, waitForRun } from '../helpers/stack';

const FIELD = /record (\d+), field "_source\.complaint_what_happened": is a number/;

/** `count` records of the bundled sample, with a number where the text of records `bad` should be. */
function badDataset(file: string, count: number, bad: number[]): void {
  const lines = fs.readFileSync(SAMPLE_DATASET, 'utf8').split('\n');
  const records = lines
    .filter((l) => l.startsWith('{'))
    .slice(0, count)
    .map((l) => JSON.parse(l.replace(/,$/, '')) as { _source: Record<string, unknown> });
  for (const i of bad) records[i]!._source.complaint_what_happened = 42;
  fs.writeFileSync(file, JSON.stringify(records));
}

function assertRootCause(record: RunRecord, records: number[]): void {
  assert.equal(record.state, 'failed');
  assert.equal(record.error?.stage, 'text-processing');
  const m = FIELD.exec(record.error?.message ?? '');
  assert.ok(m, `run ${record.id}: the error names record and field: ${record.error?.message}`);
  assert.ok(records.includes(Number(m[1])), `run ${record.id}: a bad record: ${record.error?.message}`);
  const stage = record.stages[0]!;
  assert.match(stage.failedReason ?? '', FIELD, 'the stage carries the chunk’s reason');
  for (const s of record.stages.slice(1)) {
    assert.equal(s.state, 'skipped', `${s.stage} never ran`);
    assert.equal(s.attemptsMade, 0, `run ${record.id}: ${s.stage} never ran, so no attempt ended`);
    assert.equal(s.attemptsStarted, 0, `run ${record.id}: ${s.stage} never started`);
  }
}

describe('a run that fails in stage 1 records the failing chunk’s own error', () => {
  let dir: string;
  before(() => {
    dir = tempDir('root-cause');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('when the chunk fails before its parent begins to wait for its children', async () => {
    // The interleaving that happens now and then under load, forced: the stage's chunk queue hands
    // its parent back the batch of chunks that holds the bad one only after that chunk (picked up by the
    // other workers) has failed for good.
    const file = path.join(dir, 'early.json');
    badDataset(file, 40, [20]);
    const stack = await startStack({ env: { TICKETFLOW_DATA_DIR: dir } });
    const { config } = stack;
    const connection = createConnection(config.redisUrl);
    const chunkQueue = new (class extends Queue {
      override async addBulk(...args: Parameters<Queue['addBulk']>) {
        const added = await super.addBulk(...args);
        const batch = args[0]!.map((j) => j.data as { runId: string; generation: number; chunk: number });
        if (!batch.some((d) => d.chunk === 4)) return added;
        const { runId, generation } = batch[0]!;
        const id = chunkJobId(runId, 4, generation);
        await waitFor(
          `chunk ${id} failed`,
          async () => ((await this.getJobState(id)) === 'failed' ? true : undefined),
          30_000,
          20,
        );
        return added;
      }
    })(CHUNK_QUEUE, { connection, prefix: config.queuePrefix });
    const env = {
      TICKETFLOW_DATA_DIR: config.dataDir,
      TICKETFLOW_STORAGE_DIR: config.storageDir,
      TICKETFLOW_QUEUE_PREFIX: config.queuePrefix,
    };
    // The parent runs in this process: its stage context opens the store its environment names, where
    // the chunks it merges are.
    Object.assign(process.env, env);
    const parentConnection = createConnection(config.redisUrl);
    const eventsConnection = createConnection(config.redisUrl);
    const events = new QueueEvents(CHUNK_QUEUE, { connection: eventsConnection, prefix: config.queuePrefix });
    const parent = new Worker<StageJobData>(
      'text-processing',
      textProcessingProcessor(config, chunkQueue, () => events) as (
        job: Job<StageJobData>,
      ) => Promise<unknown>,
      { connection: parentConnection, prefix: config.queuePrefix },
    );
    // A worker process for every other queue (the chunks, and the stages the failure skips).
    let others: Proc | null = null;
    try {
      const queues = QUEUES.filter((q) => q !== 'text-processing').join(',');
      others = await startWorker({ env }, ['--queues', queues]);
      const runId = await enqueueRun(stack.runs, { dataset: file, params: { chunkSize: 5, cache: false } });
      const record = await waitForRun(stack.runs, runId, 60_000);
      assertRootCause(record, [20]);
      // Bull Board shows the same: the stage's job failed with the chunk's reason, not BullMQ's.
      const job = await stack.queues['text-processing'].getJob(stageJobId(runId, 'text-processing'));
      assert.match(job?.failedReason ?? '', FIELD);
    } finally {
      await parent.close();
      await others?.stop();
      await chunkQueue.close();
      await events.close();
      connection.disconnect();
      parentConnection.disconnect();
      eventsConnection.disconnect();
      await stack.close();
    }
  });

  it('for every one of many runs with bad records in late chunks, taken by two workers', async () => {
    const file = path.join(dir, 'late.json');
    badDataset(file, 60, [35, 50]);
    const stack = await startStack({ workers: 2, env: { TICKETFLOW_DATA_DIR: dir } });
    try {
      const ids = await Promise.all(
        Array.from({ length: 8 }, () =>
          enqueueRun(stack.runs, { dataset: file, params: { chunkSize: 5, cache: false } }),
        ),
      );
      const records = await Promise.all(ids.map((id) => waitForRun(stack.runs, id, 60_000)));
      for (const record of records) assertRootCause(record, [35, 50]);
    } finally {
      await stack.close();
    }
  });
});
