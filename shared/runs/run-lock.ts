import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/**
 * Run `body` holding a Redis lock on `key`: the record of a run is read, changed and written by workers
 * on several hosts and by the API, and without the lock two writers would lose each other's change.
 * The lock expires after `ttlMs` so a crashed holder cannot wedge the run.
 */
export async function withLock<T>(
  redis: Redis,
  key: string,
  body: () => Promise<T>,
  ttlMs = 15_000,
): Promise<T> {
  const token = randomBytes(8).toString('hex');
  const deadline = Date.now() + ttlMs + 5_000;
  for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
    if ((await redis.set(key, token, 'PX', ttlMs, 'NX')) === 'OK') break;
    if (Date.now() > deadline) throw new Error(`could not take the lock ${key} within ${ttlMs + 5_000} ms`);
    await new Promise((r) => setTimeout(r, wait));
  }
  try {
    return await body();
  } finally {
    await redis.eval(RELEASE, 1, key, token).catch(() => undefined);
  }
}
