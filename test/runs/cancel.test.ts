import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { CHUNK_QUEUE } from '../../shared/pipeline/stages/text-processing/definition';
import { enqueueRun } from '../helpers/enqueue-run';
import { cancelRun, retryRun } from '../../shared/runtime/runs/control';
import { readRun } from '../../shared/runtime/runs/sync';
import { runDir } from '../../shared/core/storage';
import { SAMPLE_DATASET } from '../helpers/env';
import { SampleStack, startSampleStack, startStack, waitForRun } from '../helpers/stack';
import { scaleDataset } from '../../tools/bench/scale-dataset';
import { planChunks } from '../../shared/core/dataset/plan-chunks';
import { stageJobId } from '../../shared/runtime/flow/job-types';

function listTree(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true, recursive: true })
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

describe('cancel', () => {
  let stack: SampleStack;
  let data: string;
  let dataset: string;
  before(async () => {
    stack = await startSampleStack('cancel-data', { workers: 2 });
    data = stack.dataDir;
    dataset = path.join(data, 'sample-x15.jsonl');
    await scaleDataset(SAMPLE_DATASET, 15, dataset);
  });
  after(async () => {
    await stack.close();
  });

  it('stops every job of the run on both worker processes within 2 s, removes queued jobs, cleans up', async (t) => {
    const runId = await enqueueRun(stack.runs, { dataset, params: { chunkSize: 200, cache: false } });
    const chunks = stack.queues[CHUNK_QUEUE];
    // Wait until both workers are busy with chunks of the run and some are still queued.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const active = (await chunks.getJobs(['active'])).filter((j) => j?.data.runId === runId);
      const waiting = await chunks.getWaitingCount();
      if (new Set(active.map((j) => j.processedBy)).size === 2 && waiting > 0) break;
      assert.ok(Date.now() < deadline, 'both workers never held a chunk at once');
      await new Promise((r) => setTimeout(r, 10));
    }
    const started = performance.now();
    const { record, stoppedSeconds } = await cancelRun(stack.runs, runId);
    const wall = (performance.now() - started) / 1000;
    t.diagnostic(
      `cancel: jobs stopped after ${stoppedSeconds.toFixed(3)} s, answered after ${wall.toFixed(3)} s`,
    );
    assert.equal(record.state, 'cancelled');
    assert.ok(stoppedSeconds < 2, `jobs stopped after ${stoppedSeconds} s`);
    assert.ok(wall < 2, `cancel answered after ${wall} s`);

    const ofRun = async (states: ('active' | 'waiting' | 'delayed' | 'failed')[]) =>
      (await chunks.getJobs(states)).filter((j) => j?.data.runId === runId);
    assert.equal((await ofRun(['active'])).length, 0, 'no chunk of the run is active');
    assert.equal((await ofRun(['waiting', 'delayed'])).length, 0, 'queued chunks were removed');
    const killed = await ofRun(['failed']);
    assert.ok(killed.length >= 2, `${killed.length} running chunk(s) stopped`);
    for (const j of killed) {
      assert.match(j.failedReason, /cancelled/);
      assert.equal(j.attemptsMade, 1, 'a cancelled job is not retried');
    }
    const dir = runDir(stack.config.storageDir, runId);
    const files = listTree(dir);
    assert.ok(!files.some((f) => f.startsWith('chunks')), `no chunks/ left: ${files.join(', ')}`);
    assert.ok(!files.some((f) => f.endsWith('.tmp')), 'no temporary files left');
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual(listTree(dir), files, 'nothing more is written');
    const shown = await readRun(stack.runs, runId);
    assert.equal(shown!.state, 'cancelled');
    assert.ok(shown!.stages.every((s) => s.state === 'cancelled'));
    assert.deepEqual(
      shown!.events.map((e) => e.event),
      ['created', 'cancelled'],
    );

    // A cancelled run can go on: the retry completes it.
    await retryRun(stack.runs, runId, dataset);
    const done = await waitForRun(stack.runs, runId);
    assert.equal(done.state, 'completed', JSON.stringify(done.error));
  });

  it('leaves no chunk active or queued when cancelled while stage 1 still adds its chunks', async () => {
    // A file whose scan takes a while: chunks are added as the scan finds them, after the cancel began.
    const big = path.join(data, 'sample-x80.jsonl');
    if (!fs.existsSync(big)) await scaleDataset(SAMPLE_DATASET, 80, big);
    const planned = (await planChunks(big, 100)).chunks.length;
    const chunks = stack.queues[CHUNK_QUEUE];
    let duringScan = 0;
    for (let round = 0; round < 3; round++) {
      const runId = await enqueueRun(stack.runs, { dataset: big, params: { chunkSize: 100, cache: false } });
      const deadline = Date.now() + 30_000;
      while ((await chunks.getJobs(['active'])).every((j) => j?.data.runId !== runId)) {
        assert.ok(Date.now() < deadline, 'no chunk of the run ever ran');
        await new Promise((r) => setTimeout(r, 5));
      }
      const parent = await stack.queues['text-processing'].getJob(stageJobId(runId, 'text-processing', 1));
      if ((parent?.data.chunks ?? 0) < planned) duringScan++;
      await cancelRun(stack.runs, runId);
      const ofRun = async () =>
        (await chunks.getJobs(['active', 'waiting', 'delayed', 'prioritized'])).filter(
          (j) => j?.data.runId === runId,
        );
      assert.deepEqual(
        (await ofRun()).map((j) => j.id),
        [],
        `round ${round}: no chunk of the run is active or queued once the cancel answered`,
      );
      await new Promise((r) => setTimeout(r, 500));
      assert.deepEqual(
        (await ofRun()).map((j) => j.id),
        [],
        `round ${round}: nor half a second later`,
      );
    }
    assert.ok(duringScan > 0, `the scan had added all ${planned} chunks before every cancel`);
  });

  it('cancels a run that is only queued, and refuses to cancel a finished one', async () => {
    const idle = await startStack({ workers: 0 });
    try {
      const runId = await enqueueRun(idle.runs, { dataset: SAMPLE_DATASET });
      const { record, stoppedSeconds } = await cancelRun(idle.runs, runId);
      assert.equal(record.state, 'cancelled');
      assert.ok(stoppedSeconds < 0.5);
      const counts = await Promise.all(Object.values(idle.queues).map((q) => q.getJobCounts()));
      const left = counts.reduce((n, c) => n + (c.waiting ?? 0) + (c['waiting-children'] ?? 0), 0);
      assert.equal(left, 0, 'every queued job of the run was removed');
    } finally {
      await idle.close();
    }
    const runId = await enqueueRun(stack.runs, { dataset: path.join(data, 'sample.json') });
    await waitForRun(stack.runs, runId);
    await assert.rejects(cancelRun(stack.runs, runId), /already completed: nothing to cancel/);
  });
});
