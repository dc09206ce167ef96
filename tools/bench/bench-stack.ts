/** What the benches share: a private Redis and run context in a scratch folder, and the API as its own process. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ChildProcess, spawn, StdioOptions } from 'node:child_process';
import type { Redis } from 'ioredis';
import { resolveConfig, TicketflowConfig } from '../../shared/core/config/config';
import { createConnection } from '../../shared/runtime/flow/connection';
import { ensureRedis, LocalRedis } from '../../shared/runtime/redis/local-redis';
import { closeRunsContext, openRunsContext, RunsContext } from '../../shared/runtime/runs/context';

export interface BenchStack {
  scratch: string;
  config: TicketflowConfig;
  redis: LocalRedis;
  connection: Redis;
  runs: RunsContext;
  /** Close the run context and connection, stop the Redis, remove the scratch folder. */
  close(): Promise<void>;
}

/**
 * A private redis-server and a run context whose storage is a fresh scratch folder and whose queue prefix
 * is the bench's name and pid; `env` adds to (or overrides) the configuration's environment.
 */
export async function openBenchStack(
  name: string,
  env: NodeJS.ProcessEnv = {},
  connect: (url: string) => Redis = createConnection,
): Promise<BenchStack> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), `ticketflow-${name}-`));
  const config = resolveConfig({
    ...process.env,
    TICKETFLOW_STORAGE_DIR: path.join(scratch, 'storage'),
    TICKETFLOW_QUEUE_PREFIX: `${name}-${process.pid}`,
    // nothing answers on port 1: a private redis-server is started on a free port
    REDIS_URL: 'redis://127.0.0.1:1',
    ...env,
  });
  const redis = await ensureRedis({
    url: config.redisUrl,
    dir: path.join(scratch, 'redis'),
    mode: 'private',
  });
  const connection = connect(redis.url);
  const runs = openRunsContext({ ...config, redisUrl: redis.url }, connection);
  return {
    scratch,
    config,
    redis,
    connection,
    runs,
    close: async () => {
      await closeRunsContext(runs);
      connection.disconnect();
      await redis.stop();
      fs.rmSync(scratch, { recursive: true, force: true });
    },
  };
}

/** Where an API process finds its runs: a Redis, a storage folder and a queue prefix. */
export interface ApiTarget {
  redisUrl: string;
  storageDir: string;
  queuePrefix: string;
}

/** A bench stack as an API's target. */
export function stackTarget(stack: BenchStack): ApiTarget {
  return {
    redisUrl: stack.redis.url,
    storageDir: stack.config.storageDir,
    queuePrefix: stack.config.queuePrefix,
  };
}

/**
 * The API of the build under `root` (its dist/) as its own process, as deployed, on `target`'s Redis,
 * storage and queue prefix; resolves once /healthz answers, rejects when it has not after 20 s.
 */
export async function startApiProcess(
  root: string,
  target: ApiTarget,
  port: number,
  env: NodeJS.ProcessEnv,
  stdio: StdioOptions,
): Promise<ChildProcess> {
  const api = spawn(process.execPath, [path.join(root, 'dist', 'producers', 'api', 'main.js')], {
    env: {
      ...process.env,
      REDIS_URL: target.redisUrl,
      PORT: String(port),
      TICKETFLOW_STORAGE_DIR: target.storageDir,
      TICKETFLOW_QUEUE_PREFIX: target.queuePrefix,
      TICKETFLOW_LOG_LEVEL: 'warn',
      ...env,
    },
    stdio,
  });
  for (let i = 0; ; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return api;
    if (i > 200) {
      api.kill('SIGTERM');
      throw new Error(`the API of ${root} did not answer /healthz on port ${port}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
