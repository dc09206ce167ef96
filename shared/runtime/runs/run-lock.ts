import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { logLost } from '../../core/logger';

const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/** A lock outlives a holder that died (kill -9) this long: the work under it takes milliseconds. */
export const LOCK_TTL_MS = 3000;

export class LockBusy extends Error {
  override readonly name = 'LockBusy';
}

/**
 * Run `body` holding a Redis lock on `key`: the record of a run is read, changed and written by workers
 * on several hosts and by the API, and without the lock two writers would lose each other's change.
 * The lock expires after `ttlMs` (LOCK_TTL_MS), so a crashed holder delays others by that at most; work
 * that may take longer asks for more. Waits up to `waitMs` for it, then throws LockBusy.
 */
export async function withLock<T>(
  redis: Redis,
  key: string,
  body: () => Promise<T>,
  waitMs = LOCK_TTL_MS + 2000,
  ttlMs = LOCK_TTL_MS,
): Promise<T> {
  const token = randomBytes(8).toString('hex');
  const deadline = Date.now() + waitMs;
  for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
    if ((await redis.set(key, token, 'PX', ttlMs, 'NX')) === 'OK') break;
    if (Date.now() > deadline) throw new LockBusy(`could not take the lock ${key} within ${waitMs} ms`);
    await new Promise((r) => setTimeout(r, wait));
  }
  try {
    return await body();
  } finally {
    await redis
      .eval(RELEASE, 1, key, token)
      .catch(logLost(`releasing the lock ${key} (it expires by itself)`));
  }
}
