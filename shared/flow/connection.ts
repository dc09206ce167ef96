import IORedis, { Redis } from 'ioredis';

/**
 * BullMQ workers need `maxRetriesPerRequest: null` so blocking commands wait through Redis restarts
 * instead of failing; producers use the same settings so one helper serves both.
 */
export function createConnection(redisUrl: string): Redis {
  return new IORedis(redisUrl, { maxRetriesPerRequest: null, enableReadyCheck: true });
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
