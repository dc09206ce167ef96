#!/usr/bin/env node
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT, resolveConfig } from '../../shared/config/config';
import { resolvePipelineParams } from '../../shared/config/pipeline-params';
import { createConnection } from '../../shared/flow/connection';
import { enqueueRun } from '../../shared/flow/enqueue';
import { closeQueues, openFlowProducer, openQueues, queuesWithoutWorkers } from '../../shared/flow/queues';
import { getRunStatus, RunStatus } from '../../shared/flow/run-status';
import { ensureRedis } from '../../shared/redis/local-redis';
import { runDir } from '../../shared/storage';
import { formatReport, progressLine } from './report';
import { spawnWorkers, SpawnedWorkers } from './self-contained';

export const SAMPLE_DATASET = path.join(PROJECT_ROOT, 'shared', 'sample', 'complaints-sample.json');

const HELP = `Usage: ticketflow <command> [options]

Commands:
  run     enqueue a training run, follow it live, print the report
  help    this text

ticketflow run [--data FILE] [--topics K] [--chunk-size N] [--params JSON] [--workers N] [--json]
  --data FILE       dataset: Kaggle-schema JSON array, JSON Lines, or CFPB CSV export (default: the bundled sample)
  --topics K        number of NMF topics = classes (default 3)
  --chunk-size N    tickets per text-processing chunk job (default 2000)
  --params JSON     other pipeline parameters as a JSON object, e.g. '{"C": 0.5, "stratify": false}'
  --workers N       worker processes to start when none serves the queues (default: one per core, ${os.availableParallelism()} here)
  --timeout S       give up following after S seconds (default 3600); the run itself goes on
  --json            print one JSON object (run id, artifacts directory, seconds per stage, metrics) instead of the report

Self-contained: when no Redis answers at REDIS_URL it starts a private redis-server, and when no worker
serves the queues it starts worker processes, both only for this run. With a reachable Redis and running
workers it only enqueues and follows. Progress goes to stderr, the report (or JSON) to stdout.
Exit status: 0 when the run completed, 1 when it failed (the failing stage and its message on stderr), 2 on usage errors.`;

class UsageError extends Error {}

function positiveInt(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${name} must be a whole number ≥ 1, got "${raw}"`);
  return n;
}

async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string' },
      topics: { type: 'string' },
      'chunk-size': { type: 'string' },
      params: { type: 'string' },
      workers: { type: 'string' },
      timeout: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  const config = resolveConfig(process.env);
  const dataset = path.resolve(values.data ?? SAMPLE_DATASET);
  if (!fs.existsSync(dataset)) throw new UsageError(`--data ${dataset} does not exist`);
  let params: Record<string, unknown> = {};
  if (values.params !== undefined) {
    try {
      params = JSON.parse(values.params) as Record<string, unknown>;
    } catch (err) {
      throw new UsageError(`--params is not valid JSON: ${(err as Error).message}`);
    }
  }
  const topics = positiveInt('--topics', values.topics);
  const chunkSize = positiveInt('--chunk-size', values['chunk-size']);
  if (topics !== undefined) params.topics = topics;
  if (chunkSize !== undefined) params.chunkSize = chunkSize;
  try {
    resolvePipelineParams(config.pipeline, params); // fail before starting Redis or workers
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const workerCount = positiveInt('--workers', values.workers) ?? os.availableParallelism();
  const timeoutSeconds = positiveInt('--timeout', values.timeout) ?? 3600;

  const started = performance.now();
  const redis = await ensureRedis({ url: config.redisUrl, dir: config.redisDir, mode: 'private' });
  const connection = createConnection(redis.url);
  const queues = openQueues(config, connection);
  const flowProducer = openFlowProducer(config, connection);
  let workers: SpawnedWorkers | null = null;
  const say = (line: string) => process.stderr.write(line + '\n');
  try {
    if (redis.started) say(`no Redis at ${config.redisUrl}: started a private redis-server at ${redis.url}`);
    if ((await queuesWithoutWorkers(queues)).length > 0) {
      workers = await spawnWorkers(
        config,
        queues,
        redis.url,
        workerCount,
        process.env.TICKETFLOW_LOG_LEVEL ?? 'warn',
      );
      say(`started ${workers.count} worker process(es) for this run`);
    }
    const runId = await enqueueRun(flowProducer, config, { dataset, params });
    say(`run ${runId} enqueued: ${dataset}`);
    const status = await follow(queues, runId, timeoutSeconds, say);
    const wall = (performance.now() - started) / 1000;
    const artifactsDir = runDir(config.storageDir, runId);
    if (values.json) {
      const stages = Object.fromEntries(status.stages.map((s) => [s.stage, s.seconds]));
      process.stdout.write(
        JSON.stringify({
          id: runId,
          state: status.state,
          artifactsDir,
          wallSeconds: wall,
          stages,
          error: status.error,
          metrics: status.metrics,
        }) + '\n',
      );
    } else if (status.state === 'completed') {
      process.stdout.write(formatReport(status, artifactsDir, wall));
    }
    if (status.state !== 'completed') {
      say(
        `run ${runId} failed in stage ${status.error?.stage ?? '?'}: ${status.error?.message ?? status.state}`,
      );
      return 1;
    }
    return 0;
  } finally {
    await workers?.stop();
    await flowProducer.close();
    await closeQueues(queues);
    connection.disconnect();
    await redis.stop();
  }
}

async function follow(
  queues: ReturnType<typeof openQueues>,
  runId: string,
  timeoutSeconds: number,
  say: (l: string) => void,
): Promise<RunStatus> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  let last = '';
  for (;;) {
    const status = await getRunStatus(queues, runId);
    if (!status) throw new Error(`run ${runId} vanished from Redis`);
    const line = progressLine(status);
    if (line !== last) say(line);
    last = line;
    if (status.state === 'completed' || status.state === 'failed') return status;
    if (Date.now() > deadline)
      throw new Error(
        `run ${runId} not finished after ${timeoutSeconds} s; it goes on: follow it with GET /runs/${runId}`,
      );
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(HELP + '\n');
    return command === undefined ? 2 : 0;
  }
  if (command === 'run') return run(rest);
  throw new UsageError(`unknown command "${command}": see ticketflow --help`);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    const usage = err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    process.stderr.write(`ticketflow: ${err.message}\n`);
    process.exit(usage ? 2 : 1);
  },
);
