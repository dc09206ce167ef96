#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { resolveConfig } from '../shared/core/config/config';
import { QUEUES, QueueName, isQueueName, queueTimeoutsMs } from '../shared/runtime/flow/queue-names';
import { createLogger } from '../shared/core/logger';
import { WorkerMetrics } from '../shared/runtime/metrics/worker-metrics';
import { MetricsServer, serveMetrics } from '../shared/runtime/metrics/server';
import { ensureRedis } from '../shared/runtime/redis/local-redis';
import { startWorkers } from './start-workers';
import { checkArtifactStore } from '../shared/runtime/runs/check-store';

const HELP = `Usage: npm run worker -- [--queues q1,q2] [--concurrency N] [--shutdown-timeout MS] [--metrics-port N]

Starts a ticketflow worker process serving the stage queues at REDIS_URL (default redis://127.0.0.1:6379),
reading and writing artifacts under TICKETFLOW_STORAGE_DIR. Start as many as you like, on as many machines
as share the Redis and the storage folder.

  --queues LIST          comma-separated queues to serve (default: all: ${QUEUES.join(', ')})
  --concurrency N        jobs per queue at once in this process (default TICKETFLOW_CONCURRENCY or 1)
  --shutdown-timeout MS  on SIGINT/SIGTERM, wait this long for active jobs before closing forcibly (default 30000)
  --metrics-port N       serve this process's Prometheus metrics at http://HOST:N/metrics (HOST default
                         127.0.0.1; default TICKETFLOW_METRICS_PORT, else off; Bearer TICKETFLOW_API_TOKEN if set)
  -h, --help             this text

When no Redis answers at a loopback REDIS_URL, the worker starts a durable redis-server on that port (an
append-only file in TICKETFLOW_REDIS_DIR) that keeps running when the worker stops: ticketflow redis stop.
While Redis is unreachable the worker waits quietly: one warning when it goes, one line when it is back.`;

/** After the shutdown timeout, force-closing may itself wait on Redis: this long at most. */
const SHUTDOWN_GRACE_MS = 2000;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      queues: { type: 'string' },
      concurrency: { type: 'string' },
      'shutdown-timeout': { type: 'string' },
      'metrics-port': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  // Listen for the stop signals first: a signal that arrives while we start up still closes gracefully.
  const stopSignal = new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  const config = resolveConfig(process.env);
  // Queue names in TICKETFLOW_STAGE_TIMEOUTS are checked against the stage definitions: before any start.
  queueTimeoutsMs(config.stageTimeoutMs);
  const log = createLogger(config.logLevel, { component: 'worker' });
  const queues = (values.queues ?? QUEUES.join(','))
    .split(',')
    .map((q) => q.trim())
    .filter(Boolean);
  const unknown = queues.filter((q) => !isQueueName(q));
  if (unknown.length > 0)
    throw new Error(`unknown queue(s) ${unknown.join(', ')}: choose from ${QUEUES.join(', ')}`);
  const concurrency = values.concurrency === undefined ? config.concurrency : Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new Error(`--concurrency must be a whole number ≥ 1, got ${values.concurrency}`);
  const shutdownMs = Number(values['shutdown-timeout'] ?? 30000);
  if (!Number.isFinite(shutdownMs) || shutdownMs < 0)
    throw new Error(`--shutdown-timeout must be milliseconds ≥ 0`);
  const metricsPortText = (values['metrics-port'] ?? process.env.TICKETFLOW_METRICS_PORT ?? '').trim();
  const metricsPort = metricsPortText === '' ? null : Number(metricsPortText);
  if (metricsPort !== null && (!Number.isInteger(metricsPort) || metricsPort < 1 || metricsPort > 65535))
    throw new Error(
      `--metrics-port (TICKETFLOW_METRICS_PORT) must be a port from 1 to 65535, got ${metricsPortText}`,
    );

  const redis = await ensureRedis({ url: config.redisUrl, dir: config.redisDir, mode: 'at-url' });
  if (redis.started)
    log.info(
      `no Redis answered at ${config.redisUrl}: started a durable redis-server there (ticketflow redis stop stops it)`,
    );
  await checkArtifactStore(config);
  const metrics = metricsPort === null ? undefined : new WorkerMetrics();
  let metricsServer: MetricsServer | null = null;
  if (metrics) {
    // A blank token (a secret file that was missing) must not quietly serve the metrics without one.
    if (config.apiTokenBlank)
      throw new Error(
        'TICKETFLOW_API_TOKEN is set but empty: refusing to serve metrics without the token it should have set (unset it, or give it a value)',
      );
    const token = config.apiToken;
    metricsServer = await serveMetrics(metrics.registry, { host: config.host, port: metricsPort!, token });
    log.info(
      `metrics at http://${metricsServer.address}/metrics${token !== null ? ' (token required)' : ''}`,
    );
    if (token === null && !/^(127\.|::1$|localhost$)/.test(config.host))
      log.warn(
        `metrics on ${config.host} without TICKETFLOW_API_TOKEN: anyone who can reach it can read them`,
      );
  }
  const running = await startWorkers({ config, queues: queues as QueueName[], concurrency, log, metrics });
  // A parent that started us with an IPC channel (the CLI's self-contained mode, the bench) waits for this.
  process.send?.({ type: 'ticketflow-worker-ready' });

  const signal = await stopSignal;
  log.info(`${signal}: closing (waiting up to ${shutdownMs} ms for active jobs)`);
  // Whatever the jobs or Redis are doing, the process ends: its active jobs' locks expire and the stalled
  // check hands them to another worker; its sandboxed children die with it.
  setTimeout(() => {
    log.warn(`still closing ${SHUTDOWN_GRACE_MS} ms after the shutdown timeout: exiting now`);
    process.exit(1);
  }, shutdownMs + SHUTDOWN_GRACE_MS).unref();
  await running.close(shutdownMs);
  await metricsServer?.close();
  await redis.stop();
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`worker: ${err.message}\n`);
    process.exit(1);
  },
);
