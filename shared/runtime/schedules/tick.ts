import { openDatasetSource } from '../../core/dataset/open-dataset-source';
import { BadInputError } from '../../core/errors';
import { RunsContext } from '../runs/context';
import { submitRun } from '../runs/submit';
import { readRun } from '../runs/sync';
import { promotionGate } from './promotion-gate';
import { readSchedule, recordTick, tickMillis, TickEntry, withScheduleLock } from './schedule-store';

/** What a tick did. */
export type TickOutcome =
  | { kind: 'started'; run: string; existing: boolean }
  | { kind: 'skipped'; reason: string }
  | { kind: 'done-before'; entry: string }
  | { kind: 'no-schedule' };

export interface TickOptions {
  /** called between submitting the run and recording it (a fault drill fails the tick there) */
  afterSubmit?: (runId: string) => Promise<void>;
}

/**
 * Handle tick `tick` (its job id, `repeat:<id>:<ms>`) of schedule `id`: start the schedule's run unless
 * the run its last tick started is still waiting or active (then the tick is recorded as skipped).
 *
 * At most one run per tick, whoever handles it and however often: the run is submitted with the tick's
 * job id as its Idempotency-Key (a second submission answers the first's run), the tick's outcome is
 * recorded once, and the schedule's lock keeps two ticks from each finding no run active.
 */
export async function runTick(
  ctx: RunsContext,
  id: string,
  tick: string,
  opts: TickOptions = {},
): Promise<TickOutcome> {
  return withScheduleLock(ctx.redis, ctx.keys, id, async () => {
    const schedule = await readSchedule(ctx.redis, ctx.keys, id);
    // Removed or disabled since the tick was due: it starts nothing.
    if (!schedule || !schedule.enabled) return { kind: 'no-schedule' };
    const done = await ctx.redis.hget(ctx.keys.scheduleTicks(id), tick);
    if (done !== null) return { kind: 'done-before', entry: done };
    const entry = (extra: Pick<TickEntry, 'run' | 'skipped'>): TickEntry => ({
      tick,
      dueAt: new Date(tickMillis(tick)).toISOString(),
      at: new Date().toISOString(),
      ...extra,
    });
    const last = await ctx.redis.get(ctx.keys.scheduleLastRun(id));
    if (last !== null) {
      const previous = await readRun(ctx, last);
      if (previous && (previous.state === 'waiting' || previous.state === 'active')) {
        const reason = `run ${last} of the previous tick is still ${previous.state}`;
        await recordTick(ctx.redis, ctx.keys, id, entry({ skipped: reason }));
        return { kind: 'skipped', reason };
      }
      // Its gate decides before the next run's: judged in the wrong order, the older model could
      // replace the newer. A gate whose hook was lost (its process died) is run here.
      if (previous?.state === 'completed' && previous.schedule?.promote && !previous.promotion) {
        await promotionGate(ctx, last);
        if (!(await ctx.store.read(last))?.promotion) {
          const reason = `the promotion gate has not decided on run ${last} of the previous tick yet`;
          await recordTick(ctx.redis, ctx.keys, id, entry({ skipped: reason }));
          return { kind: 'skipped', reason };
        }
      }
    }
    const datasets = openDatasetSource(ctx.config);
    let submitted: Awaited<ReturnType<typeof submitRun>>;
    try {
      const { name, location } = await datasets.resolve(schedule.dataset);
      submitted = await submitRun(ctx, {
        dataset: name,
        datasetFile: location,
        params: schedule.params,
        idempotencyKey: `schedule:${tick}`,
        hash: (file) => datasets.digest(file),
        schedule: { id, tick, ...(schedule.promote ? { promote: schedule.promote } : {}) },
      });
    } catch (err) {
      // A dataset gone or parameters this data cannot take: trying the tick again changes nothing.
      if (!(err instanceof BadInputError)) throw err;
      const reason = `the run could not be submitted: ${err.message}`;
      await recordTick(ctx.redis, ctx.keys, id, entry({ skipped: reason }));
      return { kind: 'skipped', reason };
    }
    const { record, existing } = submitted;
    await opts.afterSubmit?.(record.id);
    await ctx.redis.set(ctx.keys.scheduleLastRun(id), record.id);
    await recordTick(ctx.redis, ctx.keys, id, entry({ run: record.id }));
    return { kind: 'started', run: record.id, existing };
  });
}
