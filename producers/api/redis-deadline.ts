/**
 * Requests that need Redis answer 503 when Redis cannot serve them: at once when the connection is down,
 * after `REDIS_DEADLINE_MS` when Redis does not answer, and when it refuses writes (MISCONF, READONLY,
 * OOM), naming why: a client learns in seconds that it should retry, instead of hanging or reading a 500.
 */
import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';
import type { Redis } from 'ioredis';
import { writeRefusal } from '../../shared/runtime/redis/write-refusal';

/** A request that needs Redis answers 503 when Redis has not answered within this time (under 2 s). */
export const REDIS_DEADLINE_MS = 1800;

/** What the deadline needs: the API's connection and where it points (for messages). */
export interface RedisSide {
  redis: Pick<Redis, 'status'>;
  config: { redisUrl: string };
}

class RedisDeadlineExceeded extends Error {}

/** The connection is not ready: the 503 message, or null when it is. */
export function redisDown(side: RedisSide): string | null {
  const status = side.redis.status;
  return status === 'ready'
    ? null
    : `Redis at ${side.config.redisUrl} is unreachable (connection ${status}): try again shortly`;
}

/** The 503 message when `err` is Redis's fault (no answer in time, gone, refusing writes), else null. */
export function redisProblem(side: RedisSide, err: unknown): string | null {
  const url = side.config.redisUrl;
  const message = (err as { message?: string })?.message ?? '';
  // The connection's own command timeout (shorter than the deadline) says the same.
  if (err instanceof RedisDeadlineExceeded || /Command timed out/.test(message))
    return `Redis at ${url} did not answer in time: try again shortly`;
  const refusal = writeRefusal(err);
  if (refusal !== null)
    return `Redis at ${url} ${refusal.what} (${refusal.detail}): try again once an operator has fixed it`;
  if (side.redis.status !== 'ready')
    return `Redis at ${url} became unreachable (connection ${side.redis.status}): try again shortly`;
  return null;
}

/** Run `work` against the deadline: its value, or a RedisDeadlineExceeded. */
export async function underDeadline<T>(work: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RedisDeadlineExceeded()), REDIS_DEADLINE_MS);
  });
  try {
    return await Promise.race([work(), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

const LATE_WRITES = [
  'status',
  'set',
  'header',
  'type',
  'json',
  'send',
  'sendStatus',
  'render',
  'end',
] as const;

/** Answer 503 and make the handler's own late answer a no-op (its Redis commands may still complete). */
function answer503(res: Response, error: string): void {
  if (res.headersSent) return;
  res.status(503).set('Retry-After', '2').json({ error });
  for (const method of LATE_WRITES) (res as unknown as Record<string, () => Response>)[method] = () => res;
}

/**
 * Middleware for handlers that write their own answer (the run pages' data, Bull Board's API): 503 at once
 * when the connection is down, and 503 at the deadline when no answer was sent by then.
 */
export function redisDeadline(side: RedisSide): RequestHandler {
  return (_req: Request, res: Response, next: NextFunction) => {
    const down = redisDown(side);
    if (down !== null) return answer503(res, down);
    const timer = setTimeout(
      () => answer503(res, `Redis at ${side.config.redisUrl} did not answer in time: try again shortly`),
      REDIS_DEADLINE_MS,
    );
    res.once('close', () => clearTimeout(timer));
    next();
  };
}

/** Error middleware: a Redis failure answers 503 naming it; any other error goes on. */
export function redisErrors(side: RedisSide): ErrorRequestHandler {
  return (err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return res.writableEnded ? undefined : next(err);
    const problem = redisProblem(side, err);
    if (problem === null) return next(err);
    answer503(res, problem);
  };
}
