import { Redis } from 'ioredis';
import { QueueName } from '../flow/queue-names';
import { RunKeys } from './keys';
import { logLost } from '../../core/logger';

/** A worker that has not beaten for this long counts as gone. */
const HEARTBEAT_TTL_MS = 10_000;
const BEAT_EVERY_MS = 2_500;

/**
 * Each worker process says, every few seconds, which queues it serves (a sorted set per queue: worker
 * name → expiry). `/readyz` and run submission read it to tell whether every stage has a live worker.
 */
export function startHeartbeat(
  redis: Redis,
  keys: RunKeys,
  name: string,
  queues: readonly QueueName[],
): () => Promise<void> {
  const beat = async () => {
    const tx = redis.multi();
    for (const q of queues) tx.zadd(keys.workers(q), Date.now() + HEARTBEAT_TTL_MS, name);
    await tx.exec();
  };
  // A missed beat is retried at the next tick; the entry outlives a few misses (HEARTBEAT_TTL_MS).
  const lost = logLost(`worker heartbeat of ${name}`);
  beat().catch(lost);
  const timer = setInterval(() => beat().catch(lost), BEAT_EVERY_MS);
  timer.unref();
  return async () => {
    clearInterval(timer);
    const tx = redis.multi();
    for (const q of queues) tx.zrem(keys.workers(q), name);
    await tx.exec().catch(logLost(`removing the heartbeat of ${name} (it expires by itself)`));
  };
}

/** Live workers per queue, by heartbeat. */
export async function liveWorkers(
  redis: Redis,
  keys: RunKeys,
  queues: readonly QueueName[],
): Promise<Record<string, number>> {
  const now = Date.now();
  const counts = await Promise.all(queues.map((q) => redis.zcount(keys.workers(q), now, '+inf')));
  return Object.fromEntries(queues.map((q, i) => [q, counts[i] ?? 0]));
}
