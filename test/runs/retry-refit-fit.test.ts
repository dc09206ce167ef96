import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { stageJobId } from '../../shared/runtime/flow/job-types';
import { Stack, startStack } from '../helpers/stack';
import { retriedAsClean, runWithFailedRefit, searchJobsOf } from './refit-retry';

const PARAMS = { cache: false };
const FOLDS = 3;

describe('a refit in two halves, retried after its scoring failed', () => {
  let faulty: Stack;
  let clean: Stack;
  before(async () => {
    [faulty, clean] = await Promise.all([
      // The refit job (the scoring) fails for good on its first attempt; its fit job completed.
      startStack({ workers: 2, workerEnv: { TICKETFLOW_FAIL_ONCE: 'training-refit:permanent' } }),
      startStack({ workers: 1 }),
    ]);
  });
  after(async () => Promise.all([faulty.close(), clean.close()]));

  it('its fit runs as a child of its scoring; a retry reuses the folds and the fit, and scores only', async () => {
    const { runId, cleanId } = await runWithFailedRefit(faulty, clean, PARAMS);
    const first = await searchJobsOf(faulty, runId, 1);
    assert.deepEqual(first.map((j) => j.data.kind).sort(), ['cv', 'cv', 'cv', 'refit-fit']);
    const fit = first.find((j) => j.data.kind === 'refit-fit')!;
    const [scoring] = await searchJobsOf(faulty, runId, 1, 'failed');
    assert.equal(scoring?.data.kind, 'refit');
    assert.equal(scoring?.data.fitted, true);
    // The fit is the scoring's child, and the scoring the training job's.
    assert.equal(fit.parentKey, `${scoring!.queueQualifiedName}:${scoring!.id}`);
    assert.equal(
      scoring!.parentKey,
      `${faulty.queues.training.qualifiedName}:${stageJobId(runId, 'training')}`,
    );
    assert.ok(fit.finishedOn! <= scoring!.processedOn!, 'the scoring began once its fit had completed');

    const { job, ran, total } = await retriedAsClean(
      faulty,
      clean,
      { runId, cleanId },
      'the same artifacts as a run whose refit never failed',
    );
    assert.equal(job.data.reusedChunks, FOLDS + 1, 'every fold result and the fit reused');
    assert.deepEqual(
      ran.map((j) => [j.data.kind, j.data.fitted]),
      [['refit', true]],
      'only the scoring ran again',
    );
    assert.equal(total, FOLDS + 2);
  });
});
