import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { enqueueRun } from '../helpers/enqueue-run';
import { stageJobId } from '../../shared/runtime/flow/job-types';
import { retryRun } from '../../shared/runtime/runs/control';
import { SAMPLE_DATASET } from '../helpers/env';
import { Stack, startStack, waitForRun } from '../helpers/stack';
import { artifactHashes } from './artifacts';

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
    const cleanId = await enqueueRun(clean.runs, { dataset: SAMPLE_DATASET, params: PARAMS });
    const runId = await enqueueRun(faulty.runs, { dataset: SAMPLE_DATASET, params: PARAMS });
    let record = await waitForRun(faulty.runs, runId);
    assert.equal(record.state, 'failed');
    const training = record.stages.find((s) => s.stage === 'training')!;
    assert.match(training.failedReason ?? '', /injected permanent failure of training-refit/);
    const searchJobs = async (generation: number, state: 'completed' | 'failed') =>
      (await faulty.queues['training-search'].getJobs([state])).filter(
        (j) => j?.data.runId === runId && j.data.generation === generation,
      );
    const first = await searchJobs(1, 'completed');
    assert.deepEqual(first.map((j) => j.data.kind).sort(), ['cv', 'cv', 'cv', 'refit-fit']);
    const fit = first.find((j) => j.data.kind === 'refit-fit')!;
    const [scoring] = await searchJobs(1, 'failed');
    assert.equal(scoring?.data.kind, 'refit');
    assert.equal(scoring?.data.fitted, true);
    // The fit is the scoring's child, and the scoring the training job's.
    assert.equal(fit.parentKey, `${scoring!.queueQualifiedName}:${scoring!.id}`);
    assert.equal(
      scoring!.parentKey,
      `${faulty.queues.training.qualifiedName}:${stageJobId(runId, 'training')}`,
    );
    assert.ok(fit.finishedOn! <= scoring!.processedOn!, 'the scoring began once its fit had completed');

    await retryRun(faulty.runs, runId, SAMPLE_DATASET);
    record = await waitForRun(faulty.runs, runId);
    assert.equal(record.state, 'completed', JSON.stringify(record.error));
    const job = await faulty.queues.training.getJob(stageJobId(runId, 'training', 2));
    assert.equal(job!.data.reusedChunks, FOLDS + 1, 'every fold result and the fit reused');
    const second = await searchJobs(2, 'completed');
    assert.deepEqual(
      second.map((j) => [j.data.kind, j.data.fitted]),
      [['refit', true]],
      'only the scoring ran again',
    );
    const stage = record.stages.find((s) => s.stage === 'training')!;
    assert.equal(stage.chunks?.total, FOLDS + 2);
    assert.equal(stage.chunks?.completed, stage.chunks?.total);

    const cleanRecord = await waitForRun(clean.runs, cleanId);
    assert.equal(cleanRecord.state, 'completed');
    assert.deepEqual(
      artifactHashes(faulty.config.storageDir, runId),
      artifactHashes(clean.config.storageDir, cleanId),
      'the same artifacts as a run whose refit never failed',
    );
  });
});
