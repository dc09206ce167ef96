import path from 'node:path';
import os from 'node:os';
import { Job, Worker } from 'bullmq';
import { TicketflowConfig } from '../shared/config/config';
import { CHUNK_QUEUE, QueueName, isStageName } from '../shared/config/stages';
import { createConnection } from '../shared/flow/connection';
import { openQueue } from '../shared/flow/queues';
import { StageJobData } from '../shared/flow/job-types';
import { Logger } from '../shared/logger';
import { closeRunsContext, openRunsContext, RunsContext } from '../shared/runs/context';
import { startHeartbeat } from '../shared/runs/heartbeats';
import { syncRun } from '../shared/runs/sync';
import { CancellableWorker } from './cancellable-worker';
import { textProcessingProcessor } from './processors/text-processing';
import { RedisOutage } from './redis-outage';

/** Options of a worker process: which queues it serves and how many jobs of each it runs at once. */
export interface StartWorkersOptions {
  config: TicketflowConfig;
  queues: readonly QueueName[];
  /** jobs per queue at once @defaultValue config.concurrency */
  concurrency?: number;
  log: Logger;
}

export interface RunningWorkers {
  workers: Worker[];
  /** Let active jobs finish for up to `timeoutMs`, then force-close. */
  close(timeoutMs: number): Promise<void>;
}

/** CPU-heavy queues run in sandboxed child processes, so the worker's event loop keeps renewing job locks. */
const SANDBOXED: Record<QueueName, string | null> = {
  'text-processing': null,
  [CHUNK_QUEUE]: 'text-chunk.js',
  'feature-extraction': 'feature-extraction.js',
  'transform-split': 'transform-split.js',
  training: 'training.js',
};

export function sandboxFile(queue: QueueName): string | undefined {
  const file = SANDBOXED[queue];
  return file ? path.join(__dirname, 'processors', 'sandboxed', file) : undefined;
}

interface ChildPoolLike {
  retain(processFile: string): Promise<unknown>;
  release(child: unknown): void;
}

/**
 * Fork a sandboxed queue's first child process now, not when its first job arrives: a fresh child
 * spends ~0.2–0.5 s loading modules (and, for chunks, the tagger lexicon) — time every run would
 * otherwise wait for, once per stage. Uses BullMQ's child pool (not a public API: skipped if absent);
 * the child goes back to the pool's free list and the first job reuses it.
 */
async function prewarmSandbox(worker: Worker, file: string | undefined, log: Logger): Promise<void> {
  const pool = (worker as unknown as { childPool?: ChildPoolLike }).childPool;
  if (!file || !pool || typeof pool.retain !== 'function' || typeof pool.release !== 'function') return;
  try {
    pool.release(await pool.retain(file));
  } catch (err) {
    log.warn(
      `could not pre-start the sandbox for ${worker.name}: ${(err as Error).message} (it starts with the first job)`,
    );
  }
}

export async function startWorkers(opts: StartWorkersOptions): Promise<RunningWorkers> {
  const { config, log } = opts;
  const concurrency = opts.concurrency ?? config.concurrency;
  const outage = new RedisOutage(log, config.redisUrl);
  const connection = createConnection(config.redisUrl);
  const subscriber = createConnection(config.redisUrl);
  outage.watch(connection);
  subscriber.on('error', () => undefined);
  const runs = openRunsContext(config, connection);
  const chunkQueue = openQueue(config, connection, CHUNK_QUEUE);
  const name = `ticketflow-worker@${os.hostname()}:${process.pid}`;
  const cancelled = async (runId: string) => (await connection.exists(runs.keys.cancelled(runId))) === 1;
  const sync = (runId: string, why: string) =>
    syncRun(runs, runId).catch((err: Error) =>
      log.debug(`run ${runId}: record not updated on ${why}: ${err.message}`),
    );

  const workers = opts.queues.map((queue) => {
    const file = sandboxFile(queue);
    const processor = file ?? textProcessingProcessor(config, chunkQueue);
    const workerConnection = createConnection(config.redisUrl);
    workerConnection.on('error', () => undefined);
    const worker = new CancellableWorker<StageJobData>(
      queue,
      processor as never,
      {
        connection: workerConnection,
        prefix: config.queuePrefix,
        concurrency,
        name,
        // A dead worker's jobs go to another within about lockDuration + stalledInterval; a job may stall
        // (its worker die) as often as it may be attempted before it fails.
        lockDuration: config.recovery.lockDurationMs,
        stalledInterval: config.recovery.stalledIntervalMs,
        maxStalledCount: config.retry.attempts,
        // Sandboxed children inherit stdout otherwise; the CLI's stdout carries only its own output.
        ...(file
          ? { workerForkOptions: { stdio: ['inherit', process.stderr, 'inherit', 'ipc'] } as never }
          : {}),
      },
      {
        cancelled,
        timeoutMs: config.stageTimeoutMs[queue],
        timeoutSetting: `TICKETFLOW_STAGE_TIMEOUTS="${queue}=<seconds>"`,
      },
    );
    wireEvents(worker, queue, runs, log, sync);
    worker.on('error', (err) => outage.error(err, `worker on ${queue}`));
    return worker;
  });

  // Cancellation reaches only the worker that holds a job, so every worker hears every cancel.
  await subscriber.subscribe(runs.keys.cancelChannel);
  subscriber.on('message', (_channel: string, runId: string) => {
    Promise.all(workers.map((w) => w.cancelRun(runId))).then(
      (n) => {
        const stopped = n.reduce((a, b) => a + b, 0);
        if (stopped > 0) log.info(`run ${runId} cancelled: stopped ${stopped} job(s) here`);
      },
      (err: Error) => log.warn(`run ${runId}: cancelling its jobs here failed: ${err.message}`),
    );
  });

  await Promise.all(workers.map((w) => w.waitUntilReady()));
  await Promise.all(workers.map((w, i) => prewarmSandbox(w, sandboxFile(opts.queues[i]!), log)));
  const stopHeartbeat = startHeartbeat(connection, runs.keys, name, opts.queues);
  reconcile(runs, log, sync);
  log.info(
    `serving ${opts.queues.join(', ')} with concurrency ${concurrency} (prefix ${config.queuePrefix}, storage ${config.storageDir})`,
  );
  return {
    workers,
    async close(timeoutMs) {
      // With Redis down the heartbeat's removal would wait for it: give it a moment, then go on.
      await Promise.race([stopHeartbeat(), new Promise((r) => setTimeout(r, 1000).unref())]);
      const graceful = Promise.all(workers.map((w) => w.close()));
      const timedOut = await Promise.race([
        graceful.then(() => false),
        new Promise<boolean>((r) => setTimeout(() => r(true), timeoutMs).unref()),
      ]);
      if (timedOut) {
        log.warn(
          `jobs still running after ${timeoutMs} ms: closing forcibly (their locks expire and other workers retry them)`,
        );
        await Promise.all(workers.map((w) => w.close(true)));
      }
      await chunkQueue.close();
      await closeRunsContext(runs);
      subscriber.disconnect();
      connection.disconnect();
    },
  };
}

/**
 * Keep run records current: a stage job's start, completion and failure (and a chunk's final failure,
 * which fails its stage) each bring the run's record up to date; a completed stage enters the cache.
 */
function wireEvents(
  worker: Worker<StageJobData>,
  queue: QueueName,
  runs: RunsContext,
  log: Logger,
  sync: (runId: string, why: string) => Promise<unknown>,
): void {
  const stage = isStageName(queue) ? queue : null;
  worker.on('active', (job: Job<StageJobData>) => {
    if (stage) void sync(job.data.runId, `${stage} active`);
  });
  worker.on('completed', (job: Job<StageJobData>, result: unknown) => {
    if (!stage) return;
    runs.cache
      .put(job.data.cacheKey, { stage, runId: job.data.runId, result, at: new Date().toISOString() })
      .catch((err: Error) => log.warn(`stage cache entry for ${job.id} not written: ${err.message}`))
      .finally(() => void sync(job.data.runId, `${stage} completed`));
  });
  worker.on('failed', (job: Job<StageJobData> | undefined, err: Error) => {
    if (!job) return;
    log.warn(
      `job ${job.id} (${queue}) attempt ${job.attemptsMade} of ${job.opts.attempts ?? 1} failed: ${err.message}`,
    );
    void sync(job.data.runId, `${queue} failed`);
  });
}

/** Runs a crashed process left unsynced: bring every waiting or active run's record up to date. */
function reconcile(
  runs: RunsContext,
  log: Logger,
  sync: (runId: string, why: string) => Promise<unknown>,
): void {
  (async () => {
    for (const state of ['waiting', 'active'] as const) {
      for (const id of await runs.store.idsInState(state, 1000)) await sync(id, 'worker start');
    }
  })().catch((err: Error) => log.debug(`reconciling runs at start failed: ${err.message}`));
}
