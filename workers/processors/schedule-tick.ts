import { Job } from 'bullmq';
import { Logger } from '../../shared/core/logger';
import { StageContext } from '../../shared/pipeline/stages/context';
import { SCHEDULES_QUEUE } from '../../shared/runtime/flow/queue-names';
import { failOnceIfAsked } from './fault-injection';
import { RunsContext } from '../../shared/runtime/runs/context';
import { TickJobData } from '../../shared/runtime/schedules/schedules';
import { runTick, TickOutcome } from '../../shared/runtime/schedules/tick';

/**
 * A schedule's tick (a job its BullMQ job scheduler added): start the schedule's run, or record why not
 * (shared/runtime/schedules/tick.ts). Inline: it only reads Redis and submits a run.
 */
export function scheduleTickProcessor(runs: RunsContext, log: Logger) {
  return async (job: Job<TickJobData>): Promise<TickOutcome> => {
    const outcome = await runTick(runs, job.data.schedule, job.id!, {
      // TICKETFLOW_FAIL_ONCE=schedules: the tick's first attempt fails after submitting its run, so its
      // retry submits again (and must get the same run).
      afterSubmit: (runId) =>
        failOnceIfAsked({ store: runs.artifacts, runId } as StageContext, SCHEDULES_QUEUE),
    });
    if (outcome.kind === 'started')
      log.info(
        `schedule ${job.data.schedule}: tick ${job.id} ${outcome.existing ? 'had' : 'started'} run ${outcome.run}`,
      );
    else if (outcome.kind === 'skipped')
      log.info(`schedule ${job.data.schedule}: tick ${job.id} skipped: ${outcome.reason}`);
    return outcome;
  };
}
