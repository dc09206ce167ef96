import { Job, WaitingChildrenError } from 'bullmq';
import { ChunkPlan } from '../../shared/dataset/plan-chunks';
import { FanOutState } from '../../shared/flow/job-types';
import { Logger } from '../../shared/logger';

/**
 * End a fan-out parent's split step: note the plan in the job's data (the merge step reads it), then
 * wait for the chunk children (BullMQ's WaitingChildrenError pattern). `added` chunks were added now; the
 * others' output is already in storage. Returns only when no child is pending (go on to merge).
 */
export async function awaitChunks<D extends FanOutState>(
  job: Job<D>,
  token: string,
  split: { plan: ChunkPlan; added: number; startedAt: number; chunkSize: number; log: Logger },
): Promise<void> {
  const { plan, added, startedAt, chunkSize, log } = split;
  const reusedChunks = plan.chunks.length - added;
  const splitSeconds = (Date.now() - startedAt) / 1000;
  log.info(
    `${plan.records} records in ${plan.file}: ${plan.chunks.length} chunk(s) of up to ${chunkSize}` +
      `${reusedChunks > 0 ? `, ${reusedChunks} already done by an earlier attempt` : ''} (${splitSeconds} s)`,
  );
  await job.updateData({
    ...job.data,
    step: 'merge',
    startedAt,
    chunks: plan.chunks.length,
    reusedChunks,
    records: plan.records,
    splitSeconds,
  });
  if (await job.moveToWaitingChildren(token)) throw new WaitingChildrenError();
}
