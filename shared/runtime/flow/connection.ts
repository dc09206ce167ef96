import IORedis, { Redis } from 'ioredis';

/**
 * BullMQ workers need `maxRetriesPerRequest: null` so blocking commands wait through Redis restarts
 * instead of failing. An 'error' listener keeps ioredis from printing every reconnection attempt; nothing is
 * lost by it, since every command on a broken connection fails (or waits) on its own and its caller reports it.
 */
export function createConnection(redisUrl: string): Redis {
  const client = new IORedis(redisUrl, { maxRetriesPerRequest: null, enableReadyCheck: true });
  client.on('error', () => undefined);
  return client;
}

/**
 * The API's connection: while Redis is down, commands fail at once instead of queueing (a request that
 * answered 503 must not go on to create a run later), and a command Redis does not answer fails in time.
 */
export function createApiConnection(redisUrl: string): Redis {
  const client = new IORedis(redisUrl, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    enableReadyCheck: true,
    commandTimeout: 1500,
    retryStrategy: (times) => Math.min(times * 100, 1000),
  });
  client.on('error', () => undefined);
  return client;
}

/** True when a Redis server answers PING at `redisUrl` within `timeoutMs`. */
export async function redisReachable(redisUrl: string, timeoutMs = 1000): Promise<boolean> {
  const client = new IORedis(redisUrl, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}
