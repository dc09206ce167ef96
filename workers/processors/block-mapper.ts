import { Job, Queue, QueueEvents } from 'bullmq';
import { childFinishedPolled } from './child-finished';
import { TicketflowConfig } from '../../shared/core/config/config';
import { BlockMapper, MapOptions } from '../../shared/pipeline/stages/blocks/block-mapper';
import {
  BlockTaskContext,
  BlockTaskDef,
  StageTry,
  openStageTry,
  reuseBlockTask,
} from '../../shared/pipeline/stages/blocks/block-task';
import { StageName } from '../../shared/pipeline/stages/definitions';
import { nodeOptions } from '../../shared/runtime/flow/build-flow';
import { BlockJobData, StageJobData, blockJobId } from '../../shared/runtime/flow/job-types';
import { QueueName } from '../../shared/runtime/flow/queue-names';
import { RunsContext } from '../../shared/runtime/runs/context';
import { liveWorkers } from '../../shared/runtime/runs/heartbeats';

/** How often settle() reads whether the stage job still has children queued or running. */
export const SETTLE_POLL_MS = 100;

/**
 * A stage job's block mapper on BullMQ: each input becomes a child job of the stage job (so Bull Board,
 * the run's timeline and cancel see it like stage 1's chunks) on the stage's child queue, with the run's
 * retry policy; the stage job stays active and awaits them through `events`. Job ids number the inputs
 * of the driver's map calls in order, and a later attempt of the stage job (after a failure, or a stall:
 * Redis gone while it waited) numbers its own, as it writes its own files (scratchDir): the earlier
 * attempt may have finished and removed its block files, which its completed children would vouch for.
 * A task whose output an earlier try of the stage left (reuseBlockTask: an earlier attempt, or the failed
 * generation a retry follows) is not added at all: its files are copied into this try's folder.
 */
export function bullmqBlockMapper(opts: {
  config: TicketflowConfig;
  /** run control, whose heartbeats say how many workers serve the child queue */
  runs: RunsContext;
  job: Job<StageJobData>;
  /** the stage's context: its store, run and try, where earlier tries' outputs are looked for */
  ctx: BlockTaskContext;
  stage: StageName;
  children: Queue;
  events: QueueEvents;
  signal?: AbortSignal;
}): BlockMapper {
  const { config, runs, job, ctx, stage, children, events, signal } = opts;
  // BullMQ's waitUntilFinished listens for the queue's closing once per awaited job: a round of many
  // blocks is many listeners, not a leak.
  children.setMaxListeners(0);
  const attempt = ctx.attempt ?? 1;
  // Every input of every map call gets the next number, run or reused. Ids hold the attempt, and every
  // start of a stage job is an attempt of its own (attemptsStarted): a number names one input of one
  // driver's calls, though a later attempt's driver, going on from an earlier one, makes fewer.
  let planned = 0;
  let reused = 0;
  const earlier = new Map<string, Promise<StageTry[]>>();
  return {
    async parallelism(): Promise<number> {
      // By heartbeat (a worker beats every 2.5 s), at this worker's concurrency: an estimate, which only
      // sizes rounds; the bytes do not depend on it.
      const live = (await liveWorkers(runs.redis, runs.keys, [children.name as QueueName]))[children.name];
      return Math.max(1, live ?? 1) * config.concurrency;
    },
    async settle(): Promise<void> {
      // The stage job's unprocessed dependencies are every child not yet finished, whichever attempt
      // added it (children hang off the job, not off an attempt).
      for (;;) {
        signal?.throwIfAborted();
        const { unprocessed } = await job.getDependenciesCount({ unprocessed: true });
        if (!unprocessed) return;
        await new Promise((resolve) => setTimeout(resolve, SETTLE_POLL_MS));
      }
    },
    async map<I, O>(task: BlockTaskDef<I, O>, inputs: readonly I[], opts?: MapOptions<O>): Promise<O[]> {
      signal?.throwIfAborted();
      const tries = earlier.get(task.stage) ?? openStageTry(ctx, task.stage);
      earlier.set(task.stage, tries);
      const from = await tries;
      const outputs: (O | undefined)[] = await Promise.all(
        inputs.map((input) => reuseBlockTask(task, ctx, input, from)),
      );
      const todo = inputs.flatMap((input, i) => (outputs[i] === undefined ? [{ input, i }] : []));
      const first = planned;
      planned += inputs.length;
      reused += inputs.length - todo.length;
      if (todo.length < inputs.length)
        ctx.log.info(
          `${task.name}: ${inputs.length - todo.length} of ${inputs.length} task(s) reused from an earlier try of the stage, ${reused} so far`,
        );
      if (todo.length === 0) {
        await job.updateData({ ...job.data, chunks: planned, reusedChunks: reused });
        for (const [i, output] of outputs.entries()) await opts?.inOrder?.(output as O, i);
        return outputs as O[];
      }
      const parent = { id: job.id!, queue: job.queueQualifiedName };
      const jobs = todo.map(({ input, i }) => {
        const data: BlockJobData = {
          runId: job.data.runId,
          generation: job.data.generation,
          stage,
          attempt,
          task: task.name,
          input,
          ...(ctx.code !== undefined ? { code: ctx.code } : {}),
          tags: job.data.tags,
          params: job.data.params,
          artifacts: job.data.artifacts,
        };
        const id = blockJobId(job.data.runId, stage, first + i, job.data.generation, attempt);
        return { name: task.name, data, opts: { ...nodeOptions(config, id, true), parent } };
      });
      // Children so far, and tasks an earlier generation had done: the run's record counts them as done.
      await job.updateData({ ...job.data, chunks: planned, reusedChunks: reused });
      const queued = await children.addBulk(jobs);
      let onAbort: (() => void) | undefined;
      const aborted = new Promise<never>((_, reject) => {
        if (!signal) return;
        onAbort = () => reject(signal.reason as Error);
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      });
      aborted.catch(() => undefined);
      const pending = queued.map((q) => childFinishedPolled<O>(q, events, children));
      // Each is awaited below, some only after the map has failed for another reason.
      for (const p of pending) p.catch(() => undefined);
      const pendingOf = new Map(todo.map(({ i }, q) => [i, pending[q]!]));
      const inOrder = opts?.inOrder;
      const streamed = inOrder
        ? (async () => {
            for (let i = 0; i < inputs.length; i++)
              await inOrder(pendingOf.has(i) ? await pendingOf.get(i)! : (outputs[i] as O), i);
          })()
        : Promise.resolve();
      streamed.catch(() => undefined);
      let results: O[];
      try {
        results = await Promise.race([
          Promise.all([Promise.all(pending), streamed]).then(([all]) => all),
          aborted,
        ]);
      } finally {
        // One listener per map call, of hundreds a stage makes: gone once the call is over.
        if (onAbort) signal?.removeEventListener('abort', onAbort);
      }
      todo.forEach(({ i }, q) => (outputs[i] = results[q]));
      return outputs as O[];
    },
  };
}
