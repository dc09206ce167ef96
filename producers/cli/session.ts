/** What the CLI's commands share: usage errors, progress output, a Redis and run context per command. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { datasetFileProblem } from '../../shared/core/dataset/open-dataset';
import { TicketflowConfig } from '../../shared/core/config/config';
import { placeInDataRoot } from '../../shared/core/dataset/data-root';
import { locationUrl } from '../../shared/core/store/store-location';
import { createConnection, redisReachable } from '../../shared/runtime/flow/connection';
import { ensureRedis, LocalRedis } from '../../shared/runtime/redis/local-redis';
import { closeRunsContext, openRunsContext, RunsContext } from '../../shared/runtime/runs/context';
import { writeRunReport } from '../../shared/runtime/report/run-report';
import { promotionGate } from '../../shared/runtime/schedules/promotion-gate';
import { emitRunFinished } from '../../shared/runtime/events/webhook-events';

/** A mistake in the command line: exit status 2. */
export class UsageError extends Error {}

export function positiveInt(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${name} must be a whole number ≥ 1, got "${raw}"`);
  return n;
}

/** The options of every command that may start workers and follows its job to the end. */
export const FOLLOW_OPTIONS = {
  workers: { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface FollowValues {
  workers: number;
  timeoutSeconds: number;
  json: boolean;
}

/** --workers (default: one per core), --timeout in seconds (default 3600) and --json, checked. */
export function followValues(values: { workers?: string; timeout?: string; json?: boolean }): FollowValues {
  return {
    workers: positiveInt('--workers', values.workers) ?? os.availableParallelism(),
    timeoutSeconds: positiveInt('--timeout', values.timeout) ?? 3600,
    json: values.json ?? false,
  };
}

/** --help: the command's usage on stdout, exit status 0. */
export function printHelp(help: string): number {
  process.stdout.write(help + '\n');
  return 0;
}

/**
 * `body` with Ctrl-C caught: the first SIGINT says "interrupted: `action`" and makes `interrupted()` true,
 * for `body` to stop following and undo what it started; later ones are ignored until `body` ends.
 */
export async function catchingSigint<T>(
  action: string,
  body: (interrupted: () => boolean) => Promise<T>,
): Promise<T> {
  let interrupted = false;
  const onSigint = () => {
    if (interrupted) return;
    interrupted = true;
    say(`\ninterrupted: ${action}`);
  };
  process.on('SIGINT', onSigint);
  try {
    return await body(() => interrupted);
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/** Progress and messages go to stderr; stdout carries only a command's report (or JSON). */
export const say = (line: string) => process.stderr.write(line + '\n');

/** A Redis and run context for one command; `private` starts a throw-away Redis when none answers. */
export async function withRuns<T>(
  config: TicketflowConfig,
  mode: 'private' | 'existing',
  body: (runs: RunsContext, redis: LocalRedis) => Promise<T>,
): Promise<T> {
  if (mode === 'existing' && !(await redisReachable(config.redisUrl))) {
    throw new Error(
      `no Redis answers at ${config.redisUrl}: start it (ticketflow redis start) or set REDIS_URL`,
    );
  }
  const redis = await ensureRedis({ url: config.redisUrl, dir: config.redisDir, mode: 'private' });
  if (redis.started) say(`no Redis at ${config.redisUrl}: started a private redis-server at ${redis.url}`);
  const connection = createConnection(redis.url);
  // The pictures for CLI users too: a run the CLI sees end gets its report.html.
  const runs = openRunsContext({ ...config, redisUrl: redis.url }, connection, {
    onRunFinished: [writeRunReport, promotionGate, emitRunFinished],
  });
  try {
    return await body(runs, redis);
  } finally {
    await closeRunsContext(runs);
    connection.disconnect();
    await redis.stop();
  }
}

/**
 * The dataset a command is given with --data: its absolute path and its real path, once checked to be a
 * regular, readable file (not a FIFO, /dev/zero, a folder, ...: opened without blocking, then fstat).
 */
export async function datasetArg(given: string): Promise<{ dataset: string; realFile: string }> {
  const dataset = path.resolve(given);
  if (!fs.existsSync(dataset)) throw new UsageError(`--data ${dataset} does not exist`);
  const realFile = fs.realpathSync(dataset);
  const problem = await datasetFileProblem(realFile);
  if (problem !== null) throw new UsageError(`--data ${dataset}: ${problem}`);
  return { dataset, realFile };
}

/**
 * Workers already serve the queues: they read only datasets inside their data root, taken to be this
 * environment's TICKETFLOW_DATA_DIR. The dataset's path relative to it, or a usage error.
 */
export async function inDeploymentDataRoot(
  config: TicketflowConfig,
  given: string,
  realFile: string,
): Promise<string> {
  if (config.data.kind === 's3')
    throw new UsageError(
      `--data ${given}: the running workers read datasets from ${locationUrl(config.data)} ` +
        '(TICKETFLOW_DATA_URL), not from local files: put the file under that prefix and submit it through ' +
        'the API (POST /runs, POST /classifications), or stop the workers to run it here',
    );
  const place = await placeInDataRoot(config.dataDir, realFile);
  if (place.kind === 'inside') return place.relative;
  throw new UsageError(
    `--data ${given} is not inside the data root of the running workers (TICKETFLOW_DATA_DIR=${config.dataDir}): ` +
      'workers already serve the queues at REDIS_URL and read only datasets in their data root; put the file ' +
      'there, or set TICKETFLOW_DATA_DIR to that root',
  );
}
