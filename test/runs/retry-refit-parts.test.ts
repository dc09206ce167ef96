import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Stack, startStack } from '../helpers/stack';
import { retriedAsClean, runWithFailedRefit, searchJobsOf } from './refit-retry';

/** The sample's products in three classes and "other": four one-vs-rest problems; two candidates. */
const PARAMS = {
  labels: 'category',
  labelMap: {
    'Debt collection': 'debt',
    Mortgage: 'loan',
    'Checking or savings account': 'bank',
    'Student loan': 'loan',
  },
  searchC: [1, 3],
  searchNgrams: [1],
  searchClassWeight: ['none'],
  cache: false,
};
const FOLDS = 2 * 3;
const CLASSES = 4;

describe('a refit in parts, retried after its join failed', () => {
  let faulty: Stack;
  let clean: Stack;
  before(async () => {
    [faulty, clean] = await Promise.all([
      // In parts however few the tickets; the join (the refit job) fails for good on its first attempt.
      startStack({
        workers: 2,
        workerEnv: {
          TICKETFLOW_PARTED_REFIT_TICKETS: '0',
          TICKETFLOW_FAIL_ONCE: 'training-refit:permanent',
        },
      }),
      // The default threshold: the sample's refit is one job.
      startStack({ workers: 1 }),
    ]);
  });
  after(async () => Promise.all([faulty.close(), clean.close()]));

  it('reuses every fold and class row, runs only the join, and ends byte-identical to a whole refit', async () => {
    const { runId, cleanId } = await runWithFailedRefit(faulty, clean, PARAMS);
    const first = await searchJobsOf(faulty, runId, 1);
    assert.equal(first.filter((j) => j.data.kind === 'cv').length, FOLDS);
    assert.deepEqual(
      first
        .filter((j) => j.data.kind === 'refit-part')
        .map((j) => j.data.problem)
        .sort(),
      [0, 1, 2, 3],
      'one job per class',
    );

    const { job, ran, total } = await retriedAsClean(
      faulty,
      clean,
      { runId, cleanId },
      'the same artifacts as a run whose refit was one job and never failed',
    );
    assert.equal(job.data.reusedChunks, FOLDS + CLASSES, 'every fold result and class row reused');
    assert.deepEqual(job.data.refitParts, [0, 1, 2, 3]);
    assert.deepEqual(
      ran.map((j) => [j.data.kind, j.data.parts]),
      [['refit', [0, 1, 2, 3]]],
      'only the join ran again',
    );
    assert.equal(total, FOLDS + 1 + CLASSES);
  });
});
