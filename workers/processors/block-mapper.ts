import { Job, Queue, QueueEvents, UnrecoverableError } from 'bullmq';
import { TicketflowConfig } from '../../shared/core/config/config';
import { BlockMapper, BlockTaskDef } from '../../shared/pipeline/stages/blocks/block-mapper';
import { StageName } from '../../shared/pipeline/stages/definitions';
import { nodeOptions } from '../../shared/runtime/flow/build-flow';
import { BlockJobData, StageJobData, blockJobId } from '../../shared/runtime/flow/job-types';

/**
 * A stage job's block mapper on BullMQ: each input becomes a child job of the stage job (so Bull Board,
 * the run's timeline and cancel see it like stage 1's chunks) on the stage's child queue, with the run's
 * retry policy; the stage job stays active and awaits them through `events`. Job ids count the children
 * over the attempt, so an attempt that runs again (a stalled worker's job) re-adds the same ids: BullMQ
 * adds nothing twice, and children already completed answer at once.
 */
export function bullmqBlockMapper(opts: {
  config: TicketflowConfig;
  job: Job<StageJobData>;
  stage: StageName;
  children: Queue;
  events: QueueEvents;
  signal?: AbortSignal;
}): BlockMapper {
  const { config, job, stage, children, events, signal } = opts;
  let added = 0;
  return {
    async map<I, O>(task: BlockTaskDef<I, O>, inputs: readonly I[]): Promise<O[]> {
      signal?.throwIfAborted();
      if (inputs.length === 0) return [];
      const parent = { id: job.id!, queue: job.queueQualifiedName };
      const first = added;
      added += inputs.length;
      const jobs = inputs.map((input, i) => {
        const data: BlockJobData = {
          runId: job.data.runId,
          generation: job.data.generation,
          stage,
          task: task.name,
          input,
          tags: job.data.tags,
          params: job.data.params,
          artifacts: job.data.artifacts,
        };
        const id = blockJobId(job.data.runId, stage, first + i, job.data.generation);
        return { name: task.name, data, opts: { ...nodeOptions(config, id, true), parent } };
      });
      // The count of children so far: the run's record shows block jobs done of those added.
      await job.updateData({ ...job.data, chunks: added, reusedChunks: 0 });
      const queued = await children.addBulk(jobs);
      const aborted = new Promise<never>((_, reject) => {
        if (!signal) return;
        const onAbort = () => reject(signal.reason as Error);
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      });
      aborted.catch(() => undefined);
      const results = await Promise.race([
        Promise.all(queued.map((q) => finished<O>(q, events, children))),
        aborted,
      ]);
      return results;
    },
  };
}

/** The child's result once it completed; its own failure (for good) when it failed. */
async function finished<O>(child: Job, events: QueueEvents, queue: Queue): Promise<O> {
  try {
    return (await child.waitUntilFinished(events)) as O;
  } catch (err) {
    const failed = await queue.getJob(child.id!);
    const reason = failed?.failedReason || (err as Error).message;
    const message = `${queue.name} job ${child.id} (${child.name}) failed: ${reason}`;
    // A child that failed before using its attempts failed as bad input: so does its stage.
    if (failed && failed.attemptsMade < (failed.opts.attempts ?? 1)) throw new UnrecoverableError(message);
    throw new Error(message, { cause: err });
  }
}
