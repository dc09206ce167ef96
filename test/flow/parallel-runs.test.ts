import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { enqueueRun } from '../helpers/enqueue-run';
import { SAMPLE_DATASET } from '../helpers/env';
import { Stack, startStack, waitForRun } from '../helpers/stack';

describe('several runs at once', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ workers: 2 });
  });
  after(async () => stack.close());

  it('3 runs submitted together on 2 workers all complete, progressing in parallel', async () => {
    const ids = await Promise.all(
      [0, 1, 2].map((i) =>
        enqueueRun(stack.runs, {
          dataset: SAMPLE_DATASET,
          params: { chunkSize: 200 + i, topics: 3, cache: false },
        }),
      ),
    );
    const statuses = await Promise.all(ids.map((id) => waitForRun(stack.runs, id, 180_000)));
    for (const s of statuses) assert.equal(s.state, 'completed', JSON.stringify(s.error));
    const spans = statuses.map((s) => ({
      start: Math.min(...s.stages.map((x) => Date.parse(x.startedAt!))),
      end: Math.max(...s.stages.map((x) => Date.parse(x.finishedAt!))),
    }));
    const overlapping = spans.some((a, i) =>
      spans.some((b, j) => i !== j && a.start < b.end && b.start < a.end),
    );
    assert.ok(overlapping, `runs overlapped in time: ${JSON.stringify(spans)}`);
    // Both worker processes took work: chunk jobs of these runs were processed by more than one worker.
    const chunkJobs = await stack.queues['text-chunks'].getJobs(['completed']);
    const processedBy = new Set(chunkJobs.map((j) => j.processedBy).filter(Boolean));
    assert.ok(processedBy.size >= 2, `chunks were processed by ${processedBy.size} worker(s)`);
  });
});
