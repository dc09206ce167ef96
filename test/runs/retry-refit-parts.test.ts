import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { enqueueRun } from '../helpers/enqueue-run';
import { stageJobId } from '../../shared/runtime/flow/job-types';
import { retryRun } from '../../shared/runtime/runs/control';
import { SAMPLE_DATASET } from '../helpers/env';
import { Stack, startStack, waitForRun } from '../helpers/stack';
import { artifactHashes } from './artifacts';

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
    const cleanId = await enqueueRun(clean.runs, { dataset: SAMPLE_DATASET, params: PARAMS });
    const runId = await enqueueRun(faulty.runs, { dataset: SAMPLE_DATASET, params: PARAMS });
    let record = await waitForRun(faulty.runs, runId);
    assert.equal(record.state, 'failed');
    const training = record.stages.find((s) => s.stage === 'training')!;
    assert.equal(training.state, 'failed');
    assert.match(training.failedReason ?? '', /injected permanent failure of training-refit/);
    const searchJobs = async (generation: number) =>
      (await faulty.queues['training-search'].getJobs(['completed'])).filter(
        (j) => j?.data.runId === runId && j.data.generation === generation,
      );
    const first = await searchJobs(1);
    assert.equal(first.filter((j) => j.data.kind === 'cv').length, FOLDS);
    assert.deepEqual(
      first
        .filter((j) => j.data.kind === 'refit-part')
        .map((j) => j.data.problem)
        .sort(),
      [0, 1, 2, 3],
      'one job per class',
    );

    await retryRun(faulty.runs, runId, SAMPLE_DATASET);
    record = await waitForRun(faulty.runs, runId);
    assert.equal(record.state, 'completed', JSON.stringify(record.error));
    const job = await faulty.queues.training.getJob(stageJobId(runId, 'training', 2));
    assert.equal(job!.data.reusedChunks, FOLDS + CLASSES, 'every fold result and class row reused');
    assert.deepEqual(job!.data.refitParts, [0, 1, 2, 3]);
    const second = await searchJobs(2);
    assert.deepEqual(
      second.map((j) => [j.data.kind, j.data.parts]),
      [['refit', [0, 1, 2, 3]]],
      'only the join ran again',
    );
    const stage = record.stages.find((s) => s.stage === 'training')!;
    assert.equal(stage.chunks?.total, FOLDS + 1 + CLASSES);
    assert.equal(stage.chunks?.completed, stage.chunks?.total);

    const cleanRecord = await waitForRun(clean.runs, cleanId);
    assert.equal(cleanRecord.state, 'completed');
    assert.deepEqual(
      artifactHashes(faulty.config.storageDir, runId),
      artifactHashes(clean.config.storageDir, cleanId),
      'the same artifacts as a run whose refit was one job and never failed',
    );
  });
});
