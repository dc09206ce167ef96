import path from 'node:path';
import os from 'node:os';
import { Job, Queue, QueueEvents, Worker } from 'bullmq';
import { TicketflowConfig } from '../shared/core/config/config';
import { isChildQueue, isStageName, StageName } from '../shared/pipeline/stages/definitions';
import { CHUNK_QUEUE } from '../shared/pipeline/stages/text-processing/definition';
import { SEARCH_QUEUE } from '../shared/pipeline/stages/training/definition';
import { FEATURE_BLOCK_QUEUE } from '../shared/pipeline/stages/feature-extraction/definition';
import { TRANSFORM_BLOCK_QUEUE } from '../shared/pipeline/stages/transform-split/definition';
import { runFeatureExtraction } from '../shared/pipeline/stages/feature-extraction/feature-extraction';
import { runTransformSplit } from '../shared/pipeline/stages/transform-split/transform-split';
import { InlineProcessor, WarmUpKind } from '../shared/pipeline/stages/stage-definition';
import {
  CLASSIFICATION_CHUNK_QUEUE,
  QUEUE_SETTINGS,
  WEBHOOK_QUEUE,
  QueueName,
  queueTimeoutsMs,
  SCHEDULES_QUEUE,
} from '../shared/runtime/flow/queue-names';
import { getClassification } from '../shared/runtime/classify/batch';
import { createConnection } from '../shared/runtime/flow/connection';
import { openQueue } from '../shared/runtime/flow/queues';
import { StageJobData } from '../shared/runtime/flow/job-types';
import { Logger } from '../shared/core/logger';
import { WorkerMetrics } from '../shared/runtime/metrics/worker-metrics';
import { closeRunsContext, openRunsContext, RunsContext } from '../shared/runtime/runs/context';
import { stageCodeIdentities } from '../shared/runtime/runs/code-identity';
import { startHeartbeat } from '../shared/runtime/runs/heartbeats';
import { syncRun } from '../shared/runtime/runs/sync';
import { writeRunReport } from '../shared/runtime/report/run-report';
import { promotionGate } from '../shared/runtime/schedules/promotion-gate';
import { emitClassificationCompleted, emitRunFinished } from '../shared/runtime/events/webhook-events';
import { CancellableWorker } from './cancellable-worker';
import { classificationProcessor } from './processors/classification';
import { scheduleTickProcessor } from './processors/schedule-tick';
import { textProcessingProcessor } from './processors/text-processing';
import { WARM_UP_REQUEST, WarmUpReply, WarmUpRequest, isWarmUpReply } from './processors/warm-up-protocol';
import { trainingProcessor } from './processors/training';
import { webhookProcessor } from './processors/webhook';
import { blockStageProcessor } from './processors/block-stage';
import { RedisOutage } from './redis-outage';

/** Options of a worker process: which queues it serves and how many jobs of each it runs at once. */
export interface StartWorkersOptions {
  config: TicketflowConfig;
  queues: readonly QueueName[];
  /** jobs per queue at once @defaultValue config.concurrency */
  concurrency?: number;
  log: Logger;
  /** job durations, retries, stalls and active jobs of this process (`--metrics-port`) */
  metrics?: WorkerMetrics;
}

export interface RunningWorkers {
  workers: Worker[];
  /** Let active jobs finish for up to `timeoutMs`, then force-close. */
  close(timeoutMs: number): Promise<void>;
}

/** What an inline processor may use: the configuration and (opened once per process) other queues. */
interface InlineDeps {
  config: TicketflowConfig;
  /** this process's run control: its Redis connection, queues and store (a schedule's tick submits runs through it) */
  runs: RunsContext;
  log: Logger;
  queue(name: QueueName): Queue;
  /** the events of a queue, opened on first use (a block stage awaits its children's through them) */
  events(name: QueueName): QueueEvents;
}

/**
 * The in-process processors a queue's settings may name (`{ inline: … }`): the parents of fan-out jobs,
 * which stream files and await Redis. The other queues run a file of processors/sandboxed/ in a child
 * process (`{ sandbox: … }`), so the worker's event loop keeps renewing job locks.
 */
const INLINE: Record<InlineProcessor, (deps: InlineDeps) => unknown> = {
  'text-processing': ({ config, queue, events }) =>
    textProcessingProcessor(config, queue(CHUNK_QUEUE), () => events(CHUNK_QUEUE)),
  'feature-extraction': ({ config, runs, queue, events }) =>
    blockStageProcessor(
      config,
      runs,
      'feature-extraction',
      runFeatureExtraction,
      queue(FEATURE_BLOCK_QUEUE),
      () => events(FEATURE_BLOCK_QUEUE),
    ),
  'transform-split': ({ config, runs, queue, events }) =>
    blockStageProcessor(
      config,
      runs,
      'transform-split',
      runTransformSplit,
      queue(TRANSFORM_BLOCK_QUEUE),
      () => events(TRANSFORM_BLOCK_QUEUE),
    ),
  training: ({ config, queue, runs }) => trainingProcessor(config, queue(SEARCH_QUEUE), runs.flowProducer),
  classification: ({ config, queue, runs }) =>
    classificationProcessor(config, queue(CLASSIFICATION_CHUNK_QUEUE), (summary) =>
      emitClassificationCompleted(runs, summary),
    ),
  'schedule-tick': ({ runs, log }) => scheduleTickProcessor(runs, log),
  webhooks: ({ config, runs, log }) => webhookProcessor(config, runs.redis, log),
};

export function sandboxFile(queue: QueueName): string | undefined {
  const spec = QUEUE_SETTINGS[queue].processor;
  return 'sandbox' in spec ? path.join(__dirname, 'processors', 'sandboxed', spec.sandbox) : undefined;
}

/** The warm-up a queue's sandbox runs when its worker starts (its ProcessorSpec's), if any. */
function warmUpOf(queue: QueueName): WarmUpKind | undefined {
  const spec = QUEUE_SETTINGS[queue].processor;
  return 'sandbox' in spec ? spec.warmUp : undefined;
}

interface ChildLike {
  send(msg: unknown): Promise<void>;
  on(event: 'message' | 'exit', listener: (msg: unknown) => void): unknown;
  off(event: 'message' | 'exit', listener: (msg: unknown) => void): unknown;
}

interface ChildPoolLike {
  retain(processFile: string): Promise<ChildLike>;
  release(child: ChildLike): void;
}

/** Preloaded into every sandbox: answers prewarmSandbox's warm-up request. */
const WARM_UP_PRELOAD = path.join(__dirname, 'processors', 'warm-up-preload.js');

/** How long a worker waits for a sandbox's warm-up before it goes on (the warm-up goes on too). */
const WARM_UP_WAIT_MS = 30_000;

/**
 * Fork a sandboxed queue's first child process now, not when its first job arrives: a fresh child
 * spends ~0.2–0.5 s loading modules (and, for chunks, the tagger lexicon) — time every run would
 * otherwise wait for, once per stage. With a `warmUp` (the queue's, unless TICKETFLOW_WARM_UP=0), the
 * child then runs its code once on sample tickets (shared/pipeline/warm-up.ts), so that its first job
 * runs compiled code and finds filled caches. Uses BullMQ's child pool (not a public API: skipped if
 * absent); the child goes back to the pool's free list and the first job reuses it.
 */
async function prewarmSandbox(
  worker: Worker,
  file: string | undefined,
  warmUp: WarmUpKind | undefined,
  log: Logger,
): Promise<void> {
  const pool = (worker as unknown as { childPool?: ChildPoolLike }).childPool;
  if (!file || !pool || typeof pool.retain !== 'function' || typeof pool.release !== 'function') return;
  let child: ChildLike;
  try {
    child = await pool.retain(file);
  } catch (err) {
    log.warn(
      `could not pre-start the sandbox for ${worker.name}: ${(err as Error).message} (it starts with the first job)`,
    );
    return;
  }
  try {
    if (!warmUp) return;
    const reply = await askWarmUp(child, warmUp, WARM_UP_WAIT_MS);
    if (reply === null)
      log.warn(
        `the sandbox for ${worker.name} did not warm up within ${WARM_UP_WAIT_MS / 1000} s: serving cold`,
      );
    else if (reply.error !== null)
      log.warn(`the sandbox for ${worker.name} could not warm up (${reply.error}): serving cold`);
    else
      log.info(
        `sandbox for ${worker.name} warmed up on ${reply.tickets} sample ticket(s) in ${reply.seconds.toFixed(3)} s`,
      );
  } finally {
    pool.release(child);
  }
}

/** The sandbox's answer to a warm-up request, or null when it gave none within `ms` (or exited). */
async function askWarmUp(child: ChildLike, kind: WarmUpKind, ms: number): Promise<WarmUpReply | null> {
  let onMessage: (msg: unknown) => void = () => undefined;
  let onExit: () => void = () => undefined;
  let timer: NodeJS.Timeout | undefined;
  const reply = new Promise<WarmUpReply | null>((resolve) => {
    onMessage = (msg) => {
      if (isWarmUpReply(msg)) resolve(msg);
    };
    onExit = () => resolve(null);
    timer = setTimeout(() => resolve(null), ms);
  });
  child.on('message', onMessage);
  child.on('exit', onExit);
  try {
    const request: WarmUpRequest = { cmd: WARM_UP_REQUEST, kind };
    await child.send(request);
    return await reply;
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
    child.off('message', onMessage);
    child.off('exit', onExit);
  }
}

export async function startWorkers(opts: StartWorkersOptions): Promise<RunningWorkers> {
  const { config, log } = opts;
  const concurrency = opts.concurrency ?? config.concurrency;
  const timeoutsMs = queueTimeoutsMs(config.stageTimeoutMs);
  // The code this process runs, read before any job: a rebuild on disk does not change what it loaded.
  const code = stageCodeIdentities();
  log.debug(
    `stage code identities: ${Object.entries(code)
      .map(([s, c]) => `${s} ${c.slice(0, 12)}`)
      .join(', ')}`,
  );
  const connection = createConnection(config.redisUrl);
  const subscriber = createConnection(config.redisUrl);
  subscriber.on('error', () => undefined);
  // The worker that sees a run end writes its report.html, judges a gated run's model, then queues the
  // run's webhook deliveries.
  const runs = openRunsContext(config, connection, {
    onRunFinished: [writeRunReport, promotionGate, emitRunFinished],
  });
  const name = `ticketflow-worker@${os.hostname()}:${process.pid}`;
  const outage = new RedisOutage(log, config.redisUrl, () =>
    connection.set(runs.keys.writeProbe, name, 'PX', 10_000),
  );
  outage.watch(connection);
  const opened = new Map<QueueName, Queue>();
  const listening = new Map<QueueName, QueueEvents>();
  const eventsConnections: ReturnType<typeof createConnection>[] = [];
  const deps: InlineDeps = {
    config,
    runs,
    log,
    queue(queueName) {
      let q = opened.get(queueName);
      if (!q) opened.set(queueName, (q = openQueue(config, connection, queueName)));
      return q;
    },
    events(queueName) {
      let e = listening.get(queueName);
      if (!e) {
        const eventsConnection = createConnection(config.redisUrl);
        eventsConnection.on('error', () => undefined);
        eventsConnections.push(eventsConnection);
        e = new QueueEvents(queueName, { connection: eventsConnection, prefix: config.queuePrefix });
        e.on('error', (err) => outage.error(err, `events of ${queueName}`));
        listening.set(queueName, e);
      }
      return e;
    },
  };
  const cancelled = async (runId: string) => (await connection.exists(runs.keys.cancelled(runId))) === 1;
  const sync = (runId: string, why: string) =>
    syncRun(runs, runId).catch((err: Error) =>
      log.debug(`run ${runId}: record not updated on ${why}: ${err.message}`),
    );

  const workers = opts.queues.map((queue) => {
    const spec = QUEUE_SETTINGS[queue].processor;
    const file = sandboxFile(queue);
    const processor = 'inline' in spec ? INLINE[spec.inline](deps) : file;
    const workerConnection = createConnection(config.redisUrl);
    workerConnection.on('error', () => undefined);
    const worker = new CancellableWorker(
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
        // Sandboxed children inherit stdout otherwise; the CLI's stdout carries only its own output. They
        // preload the warm-up's listener (prewarmSandbox) and may start a garbage collection
        // (collectGarbage: when idle, collectWhenIdle; when the TF-IDF block cache empties); Node's --inspect
        // flags are left out (BullMQ would give each child a port of its own, which these options replace).
        ...(file
          ? {
              workerForkOptions: {
                stdio: ['inherit', process.stderr, 'inherit', 'ipc'],
                execArgv: [
                  ...process.execArgv.filter((a) => !a.startsWith('--inspect')),
                  '--expose-gc',
                  '--require',
                  WARM_UP_PRELOAD,
                ],
              } as never,
            }
          : {}),
      },
      {
        cancelled,
        timeoutMs: timeoutsMs[queue],
        timeoutSetting: `TICKETFLOW_STAGE_TIMEOUTS="${queue}=<seconds>"`,
      },
    );
    wireEvents(worker, queue, runs, code, log, sync, opts.metrics);
    opts.metrics?.track(queue, worker);
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
  await Promise.all(
    workers.map((w, i) =>
      prewarmSandbox(
        w,
        sandboxFile(opts.queues[i]!),
        config.warmUp ? warmUpOf(opts.queues[i]!) : undefined,
        log,
      ),
    ),
  );
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
      outage.close();
      await Promise.all([...opened.values()].map((q) => q.close()));
      await Promise.all([...listening.values()].map((e) => e.close()));
      for (const c of eventsConnections) c.disconnect();
      await closeRunsContext(runs);
      subscriber.disconnect();
      connection.disconnect();
    },
  };
}

/**
 * Keep run records current: a stage job's start, completion and failure (and a chunk's final failure,
 * which fails its stage) each bring the run's record up to date; a completed stage enters the cache.
 * Classification jobs belong to no run: a final failure of one is written to its classification's
 * folder (failed.json), so the failure outlives the jobs.
 */
function wireEvents(
  worker: Worker<{ runId: string }>,
  queue: QueueName,
  runs: RunsContext,
  code: Record<StageName, string>,
  log: Logger,
  sync: (runId: string, why: string) => Promise<unknown>,
  metrics?: WorkerMetrics,
): void {
  const stage = isStageName(queue) ? queue : null;
  const ofRun = stage !== null || isChildQueue(queue);
  worker.on('active', (job: Job<{ runId: string }>) => {
    if (stage) void sync(job.data.runId, `${stage} active`);
  });
  worker.on('completed', (job: Job<{ runId: string }>, result: unknown) => {
    metrics?.completed(queue, job);
    if (!stage) return;
    const { cacheKey, runId, code: keyed } = job.data as StageJobData;
    if (keyed !== code[stage]) {
      // The key names other code of this stage (a submitter or a run of another build): the result is
      // not what the key promises, so it stays out of the cache.
      log.warn(
        `stage cache entry for ${job.id} not written: its key is for ${stage} code ${keyed?.slice(0, 12) ?? '(unrecorded)'}, this worker runs ${code[stage].slice(0, 12)}`,
      );
      void sync(runId, `${stage} completed`);
      return;
    }
    runs.cache
      .put(cacheKey, { stage, runId, result, at: new Date().toISOString() })
      .catch((err: Error) => log.warn(`stage cache entry for ${job.id} not written: ${err.message}`))
      .finally(() => void sync(runId, `${stage} completed`));
  });
  worker.on('failed', (job: Job<{ runId: string }> | undefined, err: Error) => {
    if (!job) return;
    metrics?.failed(queue, job);
    log.warn(
      `job ${job.id} (${queue}) attempt ${job.attemptsMade} of ${job.opts.attempts ?? 1} failed: ${err.message}`,
    );
    if (ofRun) void sync(job.data.runId, `${queue} failed`);
    else if (queue !== SCHEDULES_QUEUE && queue !== WEBHOOK_QUEUE && job.finishedOn !== undefined) {
      // A classification job's runId is its classification's id.
      const id = job.data.runId;
      getClassification(runs, id).catch((e: Error) =>
        log.debug(`classification ${id}: failure not recorded: ${e.message}`),
      );
    }
  });
  if (metrics) worker.on('stalled', () => metrics.stalled(queue));
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
