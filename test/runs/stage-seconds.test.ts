import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Job } from 'bullmq';
import { enqueueRun } from '../helpers/enqueue-run';
import { stageJobId } from '../../shared/runtime/flow/job-types';
import { stageRecord } from '../../shared/runtime/runs/record';
import { gatherRunReport, renderRunReport } from '../../shared/runtime/report/run-report';
import { formatReport } from '../../producers/cli/report';
import { SAMPLE_DATASET } from '../helpers/env';
import { Stack, startStack, waitForRun } from '../helpers/stack';

describe('a stage’s seconds span its child jobs', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ workers: 2 });
  });
  after(async () => stack.close());

  it('text processing and training cover their chunks, search and refit; the refit is shown apart', async () => {
    const runId = await enqueueRun(stack.runs, {
      dataset: SAMPLE_DATASET,
      params: { chunkSize: 300, cache: false },
    });
    const record = await waitForRun(stack.runs, runId);
    assert.equal(record.state, 'completed', JSON.stringify(record.error));
    const ofRun = async (queue: 'text-chunks' | 'training-search') =>
      (await stack.queues[queue].getJobs(['completed'])).filter((j): j is Job => j?.data.runId === runId);

    // From the jobs' own timestamps: the first child's start to the stage job's completion.
    const span = async (stage: 'text-processing' | 'training', queue: 'text-chunks' | 'training-search') => {
      const children = await ofRun(queue);
      assert.ok(children.length >= 2, `${stage}: ${children.length} child jobs`);
      const parent = await stack.queues[stage].getJob(stageJobId(runId, stage));
      const first = Math.min(...children.map((j) => j.processedOn!));
      return { seconds: (parent!.finishedOn! - first) / 1000, children };
    };
    const text = await span('text-processing', 'text-chunks');
    assert.ok(
      stageRecord(record, 'text-processing').seconds! >= text.seconds,
      `text-processing ${stageRecord(record, 'text-processing').seconds} s ≥ ${text.seconds} s of its chunks`,
    );
    const training = stageRecord(record, 'training');
    const search = await span('training', 'training-search');
    assert.ok(
      training.seconds! >= search.seconds,
      `training ${training.seconds} s ≥ ${search.seconds} s from its first search job to its end`,
    );
    const refit = search.children.find((j) => j.data.kind === 'refit')!;
    assert.equal(training.refitSeconds, (refit.returnvalue as { seconds: number }).seconds);
    assert.ok(training.refitSeconds! < training.seconds!);
    // Every job of the run reads its span the same way: finishedOn − startedAt.
    for (const s of record.stages)
      assert.equal(s.seconds, (Date.parse(s.finishedAt!) - Date.parse(s.startedAt!)) / 1000, s.stage);

    // The CLI's table and report.html say the same.
    const cli = formatReport(record, '/tmp/x', { seconds: 1, startupSeconds: 0 });
    const row = cli.split('\n').find((l) => l.startsWith('training '))!;
    assert.match(
      row,
      new RegExp(
        `^training\\s+completed\\s+${training.seconds!.toFixed(2)}\\s+1  \\(refit ${training.refitSeconds!.toFixed(2)} s of it\\)$`,
      ),
    );
    const html = renderRunReport(record, await gatherRunReport(stack.runs, record));
    const cell =
      /<tr data-stage="training"[\s\S]*?data-testid="stage-seconds">([\d.]+)<br><span class="muted">refit <span data-testid="refit-seconds">([\d.]+)</.exec(
        html,
      );
    assert.ok(cell, 'report.html shows the training seconds with the refit apart');
    assert.deepEqual([cell[1], cell[2]], [training.seconds!.toFixed(2), training.refitSeconds!.toFixed(2)]);
  });
});
