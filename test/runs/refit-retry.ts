import assert from 'node:assert/strict';
import { Job } from 'bullmq';
import { enqueueRun } from '../helpers/enqueue-run';
import { SAMPLE_DATASET } from '../helpers/env';
import { Stack, waitForRun } from '../helpers/stack';
import { SearchJobData, StageJobData, stageJobId } from '../../shared/runtime/flow/job-types';
import { retryRun } from '../../shared/runtime/runs/control';
import { artifactHashes } from './artifacts';

/**
 * The same run on `clean` and on `faulty`, whose workers fail the refit job for good once
 * (TICKETFLOW_FAIL_ONCE=training-refit:permanent): waits until the faulty one failed at its refit.
 */
export async function runWithFailedRefit(
  faulty: Stack,
  clean: Stack,
  params: Record<string, unknown>,
): Promise<{ runId: string; cleanId: string }> {
  const cleanId = await enqueueRun(clean.runs, { dataset: SAMPLE_DATASET, params });
  const runId = await enqueueRun(faulty.runs, { dataset: SAMPLE_DATASET, params });
  const record = await waitForRun(faulty.runs, runId);
  assert.equal(record.state, 'failed');
  const training = record.stages.find((s) => s.stage === 'training')!;
  assert.equal(training.state, 'failed');
  assert.match(training.failedReason ?? '', /injected permanent failure of training-refit/);
  // The run fails with its stage, while a fold that began before the refit failed may still run on
  // another worker: what it leaves is for the retry to reuse, so wait until it is done.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const pending = (
      await faulty.queues['training-search'].getJobs(['active', 'waiting', 'delayed', 'prioritized'])
    ).filter((j) => j?.data.runId === runId);
    if (pending.length === 0) break;
    assert.ok(Date.now() < deadline, `search jobs still pending: ${pending.map((j) => j.id).join(', ')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { runId, cleanId };
}

/** The run's search jobs of one generation in `state`. */
export async function searchJobsOf(
  stack: Stack,
  runId: string,
  generation: number,
  state: 'completed' | 'failed' = 'completed',
): Promise<Job<SearchJobData>[]> {
  return (await stack.queues['training-search'].getJobs([state])).filter(
    (j): j is Job<SearchJobData> => j?.data.runId === runId && j.data.generation === generation,
  );
}

/**
 * Retries the faulty run of runWithFailedRefit: it completes, with every training child counted done,
 * and its artifacts are those of the clean run (`same`: why). Returns generation 2's training job, its
 * search jobs that ran and the training stage's count of children.
 */
export async function retriedAsClean(
  faulty: Stack,
  clean: Stack,
  { runId, cleanId }: { runId: string; cleanId: string },
  same: string,
): Promise<{ job: Job<StageJobData>; ran: Job<SearchJobData>[]; total: number | undefined }> {
  await retryRun(faulty.runs, runId, SAMPLE_DATASET);
  const record = await waitForRun(faulty.runs, runId);
  assert.equal(record.state, 'completed', JSON.stringify(record.error));
  const stage = record.stages.find((s) => s.stage === 'training')!;
  assert.equal(stage.chunks?.completed, stage.chunks?.total);
  const cleanRecord = await waitForRun(clean.runs, cleanId);
  assert.equal(cleanRecord.state, 'completed');
  assert.deepEqual(
    artifactHashes(faulty.config.storageDir, runId),
    artifactHashes(clean.config.storageDir, cleanId),
    same,
  );
  const job = (await faulty.queues.training.getJob(stageJobId(runId, 'training', 2))) as Job<StageJobData>;
  return { job, ran: await searchJobsOf(faulty, runId, 2), total: stage.chunks?.total };
}
