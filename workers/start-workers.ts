import path from 'node:path';
import os from 'node:os';
import { Queue, Worker } from 'bullmq';
import { TicketflowConfig } from '../shared/config/config';
import { CHUNK_QUEUE, QueueName } from '../shared/config/stages';
import { createConnection } from '../shared/flow/connection';
import { Logger } from '../shared/logger';
import { textProcessingProcessor } from './processors/text-processing';

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
const SANDBOXED: Partial<Record<QueueName, string>> = {
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
  const connection = createConnection(config.redisUrl);
  const chunkQueue = new Queue(CHUNK_QUEUE, { connection, prefix: config.queuePrefix });
  const name = `ticketflow-worker@${os.hostname()}:${process.pid}`;
  const workers = opts.queues.map((queue) => {
    const file = sandboxFile(queue);
    const processor = file ?? textProcessingProcessor(config, chunkQueue);
    const worker = new Worker(queue, processor, {
      connection: createConnection(config.redisUrl),
      prefix: config.queuePrefix,
      concurrency,
      name,
      // Sandboxed children inherit stdout otherwise; the CLI's stdout carries only its own output.
      ...(file
        ? { workerForkOptions: { stdio: ['inherit', process.stderr, 'inherit', 'ipc'] } as never }
        : {}),
    });
    worker.on('failed', (job, err) => {
      if (job)
        log.warn(
          `job ${job.id} (${queue}) attempt ${job.attemptsMade} of ${job.opts.attempts ?? 1} failed: ${err.message}`,
        );
    });
    worker.on('error', (err) => log.error(`worker error on ${queue}: ${err.message}`));
    return worker;
  });
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  await Promise.all(workers.map((w, i) => prewarmSandbox(w, sandboxFile(opts.queues[i]!), log)));
  log.info(
    `serving ${opts.queues.join(', ')} with concurrency ${concurrency} (prefix ${config.queuePrefix}, storage ${config.storageDir})`,
  );
  return {
    workers,
    async close(timeoutMs) {
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
      connection.disconnect();
    },
  };
}
