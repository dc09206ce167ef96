import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { enqueueRun } from '../helpers/enqueue-run';
import { SAMPLE_DATASET } from '../helpers/env';
import { Stack, startStack, waitForRun } from '../helpers/stack';

describe('retries', () => {
  let stack: Stack;
  before(async () => {
    // The fault drill makes the first attempt of these stages fail with an ordinary (transient) error.
    stack = await startStack({
      workers: 1,
      workerEnv: { TICKETFLOW_FAIL_ONCE: 'feature-extraction,text-chunks' },
    });
  });
  after(async () => stack.close());

  it('a stage and a chunk that fail once transiently complete on attempt 2 and the run completes', async () => {
    const runId = await enqueueRun(stack.runs, {
      dataset: SAMPLE_DATASET,
      params: { chunkSize: 400 },
    });
    const started = Date.now();
    const status = await waitForRun(stack.runs, runId);
    assert.equal(status.state, 'completed', JSON.stringify(status.error));
    const byStage = Object.fromEntries(status.stages.map((s) => [s.stage, s]));
    assert.equal(byStage['feature-extraction']!.attemptsMade, 2);
    assert.equal(byStage['transform-split']!.attemptsMade, 1);
    assert.equal(byStage['training']!.attemptsMade, 1);
    const chunkJobs = await stack.queues['text-chunks'].getJobs(['completed']);
    const retried = chunkJobs.filter((j) => j.data.runId === runId && j.attemptsMade === 2);
    assert.equal(retried.length, 1, 'exactly one chunk was retried, alone');
    assert.ok(chunkJobs.filter((j) => j.data.runId === runId && j.attemptsMade === 1).length >= 1);
    assert.ok(Date.now() - started >= 2 * 2000, 'two retries each waited the 2 s backoff');
  });
});
