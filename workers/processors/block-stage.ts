import { Job, Queue, QueueEvents } from 'bullmq';
import { TicketflowConfig } from '../../shared/core/config/config';
import { StageContext } from '../../shared/pipeline/stages/context';
import { StageName } from '../../shared/pipeline/stages/definitions';
import { StageJobData } from '../../shared/runtime/flow/job-types';
import { RunsContext } from '../../shared/runtime/runs/context';
import { stageCodeIdentity } from '../../shared/runtime/runs/code-identity';
import { runLogged } from './stage-context';
import { failOnceIfAsked } from './fault-injection';
import { bullmqBlockMapper } from './block-mapper';

/**
 * A stage that fans out through a block mapper (feature extraction, transform-split): its function runs
 * here, in the worker's process, and its block tasks as child jobs any worker's sandbox may take. The
 * function's own work is the reductions over small per-block results, so the event loop stays free to
 * renew the job's lock while it awaits them.
 */
export function blockStageProcessor<R>(
  config: TicketflowConfig,
  runs: RunsContext,
  stage: StageName,
  run: (ctx: StageContext) => Promise<R>,
  children: Queue,
  events: () => QueueEvents,
) {
  // Three parameters: BullMQ then hands over an abort signal, which a cancelled run's worker aborts.
  return async (job: Job<StageJobData>, _token?: string, signal?: AbortSignal): Promise<R> =>
    runLogged(
      job,
      stage,
      async (ctx) => {
        await failOnceIfAsked(ctx, stage);
        // BullMQ counts an attempt started on every move to active, stalls included.
        const attempt = Math.max(1, job.attemptsStarted ?? job.attemptsMade + 1);
        // The code this process runs: the try records it, and its child jobs refuse another build's.
        const code = stageCodeIdentity(stage);
        const stageCtx = { ...ctx, attempt, generation: job.data.generation, code };
        const blocks = bullmqBlockMapper({
          config,
          runs,
          job,
          ctx: stageCtx,
          stage,
          children,
          events: events(),
          ...(signal ? { signal } : {}),
        });
        return run({ ...stageCtx, blocks });
      },
      signal,
    );
}
