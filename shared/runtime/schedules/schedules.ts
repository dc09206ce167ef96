/**
 * Training schedules on BullMQ job schedulers (one per enabled schedule, on the `schedules` queue). A job
 * scheduler keeps exactly one delayed job, `repeat:<id>:<ms>`, for its next tick, and adds the following
 * one when a worker takes it (only if that tick's job does not exist yet): however many API and worker
 * processes there are, each tick is one job. The schedule itself (dataset, parameters, gate, enabled)
 * and its ticks' outcomes are ticketflow's own Redis state beside it.
 */
import { Queue } from 'bullmq';
import { SCHEDULES_QUEUE } from '../flow/queue-names';
import { RunsContext } from '../runs/context';
import { RunSummary } from '../runs/record';
import { parseScheduleBody, ScheduleDefinition } from './schedule-spec';
import { readSchedule, readSchedules, readTicks, TickEntry } from './schedule-store';

/** The job data of a tick (the job's id says which tick). */
export interface TickJobData {
  schedule: string;
}

/** How many finished tick jobs BullMQ keeps (the ticks' outcomes are kept apart, in scheduleTicks). */
const TICK_JOBS_KEPT = 100;

/** Ticks listed per schedule: the runs and the skipped ticks. */
const LISTED_TICKS = 10;

/** No schedule by that id (→ 404). */
export class NoSuchSchedule extends Error {
  override readonly name = 'NoSuchSchedule';
}

/** A schedule id taken already (→ 409). */
export class ScheduleExists extends Error {
  override readonly name = 'ScheduleExists';
}

export interface ScheduleView extends ScheduleDefinition {
  /** when the next tick is due (null while disabled) */
  nextTick: string | null;
  /** the last ticks that started a run, newest first, with the run's state */
  runs: (TickEntry & { state: string | null })[];
  /** the last ticks skipped, newest first, with why */
  skipped: TickEntry[];
}

const ticks = (ctx: RunsContext): Queue => ctx.queues[SCHEDULES_QUEUE];

/** Register (or re-register) the schedule's job scheduler: its next tick is computed from now. */
async function arm(ctx: RunsContext, s: ScheduleDefinition): Promise<void> {
  const repeat = s.cron !== undefined ? { pattern: s.cron, tz: 'UTC' } : { every: s.everySeconds! * 1000 };
  await ticks(ctx).upsertJobScheduler(s.id, repeat, {
    name: 'tick',
    data: { schedule: s.id } satisfies TickJobData,
    opts: {
      // A tick that could not submit (Redis or storage hiccup) tries again; its run's Idempotency-Key is
      // the tick's job id, so a retry never makes a second run.
      attempts: 3,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: { count: TICK_JOBS_KEPT },
      removeOnFail: { count: TICK_JOBS_KEPT },
    },
  });
}

/** Create a schedule from a POST /schedules body; BadInputError naming the field, ScheduleExists. */
export async function createSchedule(ctx: RunsContext, body: unknown): Promise<ScheduleView> {
  const s = await parseScheduleBody(ctx.config, body);
  if ((await ctx.redis.hsetnx(ctx.keys.schedules, s.id, JSON.stringify(s))) !== 1)
    throw new ScheduleExists(`a schedule ${JSON.stringify(s.id)} exists: DELETE /schedules/${s.id} first`);
  try {
    await arm(ctx, s);
  } catch (err) {
    await ctx.redis.hdel(ctx.keys.schedules, s.id);
    throw err;
  }
  return view(ctx, s);
}

async function existing(ctx: RunsContext, id: string): Promise<ScheduleDefinition> {
  const s = await readSchedule(ctx.redis, ctx.keys, id);
  if (!s) throw new NoSuchSchedule(`no schedule ${JSON.stringify(id)}: GET /schedules lists them`);
  return s;
}

/** Remove a schedule, its job scheduler and its pending tick; its runs stay. */
export async function removeSchedule(ctx: RunsContext, id: string): Promise<void> {
  await existing(ctx, id);
  await ticks(ctx).removeJobScheduler(id);
  await ctx.redis.del(ctx.keys.scheduleTicks(id), ctx.keys.scheduleLastRun(id));
  await ctx.redis.hdel(ctx.keys.schedules, id);
}

/**
 * Enable or disable a schedule: disabling removes its job scheduler (no tick comes until it is enabled
 * again, none is made up for); enabling registers it again, its next tick counted from now.
 */
export async function setScheduleEnabled(
  ctx: RunsContext,
  id: string,
  enabled: boolean,
): Promise<ScheduleView> {
  const s = { ...(await existing(ctx, id)), enabled };
  await ctx.redis.hset(ctx.keys.schedules, id, JSON.stringify(s));
  if (enabled) await arm(ctx, s);
  else await ticks(ctx).removeJobScheduler(id);
  return view(ctx, s);
}

export async function listSchedules(ctx: RunsContext): Promise<ScheduleView[]> {
  const all = await readSchedules(ctx.redis, ctx.keys);
  return Promise.all(all.map((s) => view(ctx, s)));
}

export async function getSchedule(ctx: RunsContext, id: string): Promise<ScheduleView> {
  return view(ctx, await existing(ctx, id));
}

async function view(ctx: RunsContext, s: ScheduleDefinition): Promise<ScheduleView> {
  const [scheduler, entries] = await Promise.all([
    s.enabled ? ticks(ctx).getJobScheduler(s.id) : Promise.resolve(undefined),
    readTicks(ctx.redis, ctx.keys, s.id),
  ]);
  const ran = entries.filter((e) => e.run !== undefined).slice(0, LISTED_TICKS);
  const states = ran.length === 0 ? [] : await ctx.redis.hmget(ctx.keys.summaries, ...ran.map((e) => e.run!));
  const next = scheduler?.next;
  return {
    ...s,
    nextTick: typeof next === 'number' && Number.isFinite(next) ? new Date(next).toISOString() : null,
    runs: ran.map((e, i) => ({
      ...e,
      state: states[i] ? (JSON.parse(states[i]) as RunSummary).state : null,
    })),
    skipped: entries.filter((e) => e.skipped !== undefined).slice(0, LISTED_TICKS),
  };
}
