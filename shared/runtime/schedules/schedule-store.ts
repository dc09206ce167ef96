import { Redis } from 'ioredis';
import { RunKeys } from '../runs/keys';
import { withLock } from '../runs/run-lock';
import { ScheduleDefinition } from './schedule-spec';

/** What one tick did: the run it started, or why it started none. */
export interface TickEntry {
  /** the tick's job id, `repeat:<schedule>:<ms>` */
  tick: string;
  /** when the tick was due */
  dueAt: string;
  /** when it was handled */
  at: string;
  run?: string;
  skipped?: string;
}

/** Ticks kept per schedule. */
const TICKS_KEPT = 200;

/** The ms a tick was due at, from its job id. */
export function tickMillis(tick: string): number {
  return Number(tick.slice(tick.lastIndexOf(':') + 1));
}

export async function readSchedule(
  redis: Redis,
  keys: RunKeys,
  id: string,
): Promise<ScheduleDefinition | null> {
  const raw = await redis.hget(keys.schedules, id);
  return raw === null ? null : (JSON.parse(raw) as ScheduleDefinition);
}

export async function readSchedules(redis: Redis, keys: RunKeys): Promise<ScheduleDefinition[]> {
  const all = await redis.hgetall(keys.schedules);
  return Object.values(all)
    .map((raw) => JSON.parse(raw) as ScheduleDefinition)
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * Record what a tick did, once: a tick handled again (its job retried, or run twice after a stall) keeps
 * the first entry. False when the tick had an entry already.
 */
export async function recordTick(
  redis: Redis,
  keys: RunKeys,
  id: string,
  entry: TickEntry,
): Promise<boolean> {
  const key = keys.scheduleTicks(id);
  const added = (await redis.hsetnx(key, entry.tick, JSON.stringify(entry))) === 1;
  if (added && (await redis.hlen(key)) > TICKS_KEPT) {
    const ticks = (await redis.hkeys(key)).sort((a, b) => tickMillis(a) - tickMillis(b));
    await redis.hdel(key, ...ticks.slice(0, ticks.length - TICKS_KEPT));
  }
  return added;
}

/** A schedule's ticks, newest first. */
export async function readTicks(redis: Redis, keys: RunKeys, id: string): Promise<TickEntry[]> {
  const all = await redis.hgetall(keys.scheduleTicks(id));
  return Object.values(all)
    .map((raw) => JSON.parse(raw) as TickEntry)
    .sort((a, b) => tickMillis(b.tick) - tickMillis(a.tick));
}

/** Longer than a tick's work (hashing a large dataset included); a holder that died frees it after this. */
const SCHEDULE_LOCK_MS = 120_000;

/**
 * Run `body` holding the schedule's lock: two ticks of one schedule handled at once (a late tick and the
 * next, on two workers) must not both find no run active and each start one. Waits up to `waitMs`.
 */
export async function withScheduleLock<T>(
  redis: Redis,
  keys: RunKeys,
  id: string,
  body: () => Promise<T>,
  waitMs = 30_000,
): Promise<T> {
  return withLock(redis, keys.scheduleLock(id), body, waitMs, SCHEDULE_LOCK_MS);
}
