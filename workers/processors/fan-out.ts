import { ErrorCode, Job, Queue, UnrecoverableError, WaitingChildrenError } from 'bullmq';
import { ChunkPlan } from '../../shared/core/dataset/plan-chunks';
import { MAX_CHUNKS } from '../../shared/core/dataset/limits';
import { FanOutState } from '../../shared/runtime/flow/job-types';
import { Logger } from '../../shared/core/logger';

/**
 * End a fan-out parent's split step: note the plan in the job's data (the merge step reads it), then
 * wait for the chunk children (BullMQ's WaitingChildrenError pattern). `added` chunks were added now; the
 * others' output is already in storage. Returns only when no child is pending (go on to merge).
 */
export async function awaitChunks<D extends FanOutState>(
  job: Job<D>,
  token: string,
  split: SplitDone & { children: Queue },
): Promise<void> {
  await noteSplit(job, 'merge', split);
  await waitForChildren(job, token, split.children);
}

export interface SplitDone {
  plan: ChunkPlan;
  added: number;
  startedAt: number;
  chunkSize: number;
  log: Logger;
}

/**
 * Log a fan-out parent's plan and note it in the job's data, with the step that follows: "merge" after
 * a wait for the children, "merging" for a merge that runs as they complete.
 */
export async function noteSplit<D extends FanOutState>(
  job: Job<D>,
  step: 'merge' | 'merging',
  split: SplitDone,
): Promise<void> {
  const { plan, added, startedAt, chunkSize, log } = split;
  const reusedChunks = plan.chunks.length - added;
  const splitSeconds = (Date.now() - startedAt) / 1000;
  log.info(
    `${plan.records} records in ${plan.file}: ${plan.chunks.length} chunk(s) of ${chunkSize} records or 1/${MAX_CHUNKS} of the file, whichever is more` +
      `${reusedChunks > 0 ? `, ${reusedChunks} already done by an earlier attempt` : ''} (${splitSeconds} s)`,
  );
  await job.updateData({
    ...job.data,
    step,
    startedAt,
    chunks: plan.chunks.length,
    reusedChunks,
    records: plan.records,
    splitSeconds,
  });
}

/**
 * Move a parent to waiting-children, or return when none of its children is pending (the caller goes
 * on to its next step). A child that failed for good before the parent began to wait (it ran while
 * the parent was still adding its siblings) makes BullMQ refuse the wait with "Cannot complete job …
 * because it has at least one failed child"; the parent then fails with that child's own reason, as it
 * does when the child fails during the wait, so the run's record names the record and field at fault.
 */
export async function waitForChildren(job: Job, token: string, children: Queue): Promise<void> {
  let waiting: boolean;
  try {
    waiting = await job.moveToWaitingChildren(token);
  } catch (err) {
    if ((err as { code?: unknown }).code !== ErrorCode.JobHasFailedChildren) throw err;
    throw new UnrecoverableError((await firstFailedChildReason(job, children)) ?? (err as Error).message);
  }
  if (waiting) throw new WaitingChildrenError();
}

/** The failure reason of the parent's earliest child that failed for good, when it is still in Redis. */
async function firstFailedChildReason(job: Job, children: Queue): Promise<string | undefined> {
  const { failed } = await job.getDependencies({ failed: { count: 1 } });
  const key = failed?.[0];
  const prefix = `${children.qualifiedName}:`;
  if (!key?.startsWith(prefix)) return undefined;
  const child = await children.getJob(key.slice(prefix.length));
  return child?.failedReason || undefined;
}
