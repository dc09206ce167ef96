/**
 * The API's Prometheus metrics (`GET /metrics`, prom-client): BullMQ job counts per queue and state and
 * runs per state, both read from Redis at scrape time (so every API process reports the same, current
 * numbers); the latency of `POST /classify`, observed in this process; Node's default process metrics.
 *
 * BullMQ's own `Queue.exportPrometheusMetrics()` is not used: it returns a finished text per queue, with
 * its own `# HELP`/`# TYPE` lines (repeated once per queue when concatenated, which the text format does
 * not allow) that cannot join a prom-client registry, and its completed/failed totals come from
 * `getMetrics()`, which stays 0 unless workers enable BullMQ's metrics option. The job-count gauge keeps
 * its name and labels (`bullmq_job_count{queue, state}`, from `getJobCounts()`), so dashboards made for
 * BullMQ's exporter work unchanged.
 */
import type { NextFunction, Request, Response } from 'express';
import { Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { QUEUES, QueueName } from '../flow/queue-names';
import { LISTED_STATES } from '../runs/record';
import type { RunKeys } from '../runs/keys';

/** The job states BullMQ's `getJobCounts()` reports by default, each a `state` label value. */
export const JOB_STATES = [
  'active',
  'completed',
  'delayed',
  'failed',
  'prioritized',
  'waiting',
  'waiting-children',
] as const;

/** Seconds of `POST /classify`, from the request's arrival (before its body is read) to the response. */
const CLASSIFY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** A scrape that needs Redis gives up on it after this long (and answers without its series). */
const SCRAPE_REDIS_DEADLINE_MS = 2000;

export interface ApiMetricsSources {
  queues: Record<QueueName, Queue>;
  redis: Redis;
  keys: RunKeys;
}

export interface ApiMetrics {
  registry: Registry;
  classifySeconds: Histogram<'status'>;
  /** `GET /metrics`: refresh the Redis-backed gauges, answer the registry in Prometheus text format. */
  handler(req: Request, res: Response, next: NextFunction): void;
  /** Middleware in front of `POST /classify`: observes the response's latency, labelled by status code. */
  timeClassify(req: Request, res: Response, next: NextFunction): void;
}

export function createApiMetrics(sources: ApiMetricsSources): ApiMetrics {
  // A registry per app (not prom-client's global one): tests start many apps in one process.
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const jobCount = new Gauge({
    name: 'bullmq_job_count',
    help: 'Number of jobs in the queue by state (BullMQ getJobCounts, read at scrape time)',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
  });
  const runs = new Gauge({
    name: 'ticketflow_runs',
    help: 'Runs in the run index by state (waiting, active, completed, failed, cancelled, deleting), read at scrape time',
    labelNames: ['state'] as const,
    registers: [registry],
  });
  const redisUp = new Gauge({
    name: 'ticketflow_redis_up',
    help: '1 when this scrape read the queue and run gauges from Redis, 0 when Redis did not answer in time',
    registers: [registry],
  });
  const classifySeconds = new Histogram({
    name: 'ticketflow_classify_seconds',
    help: 'Latency of POST /classify in seconds, by HTTP status code',
    labelNames: ['status'] as const,
    buckets: CLASSIFY_BUCKETS,
    registers: [registry],
  });

  async function readRedis(): Promise<void> {
    const perQueue = await Promise.all(QUEUES.map((q) => sources.queues[q].getJobCounts(...JOB_STATES)));
    const tx = sources.redis.multi();
    for (const state of LISTED_STATES) tx.zcard(sources.keys.byState(state));
    const cards = (await tx.exec()) ?? [];
    jobCount.reset();
    QUEUES.forEach((queue, i) => {
      for (const state of JOB_STATES) jobCount.set({ queue, state }, perQueue[i]![state] ?? 0);
    });
    runs.reset();
    LISTED_STATES.forEach((state, i) => {
      const [err, n] = cards[i] ?? [null, 0];
      if (err) throw err;
      runs.set({ state }, Number(n));
    });
  }

  /** Without Redis the scrape still answers (process metrics, latency) with `ticketflow_redis_up 0`. */
  async function refresh(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('deadline')), SCRAPE_REDIS_DEADLINE_MS);
    });
    try {
      if (sources.redis.status !== 'ready') throw new Error(`connection ${sources.redis.status}`);
      await Promise.race([readRedis(), deadline]);
      redisUp.set(1);
    } catch {
      jobCount.reset();
      runs.reset();
      redisUp.set(0);
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    registry,
    classifySeconds,
    handler(_req, res, next) {
      refresh()
        .then(() => registry.metrics())
        .then((text) => {
          res.set('Content-Type', registry.contentType).set('Cache-Control', 'no-store').send(text);
        }, next);
    },
    timeClassify(_req, res, next) {
      const end = classifySeconds.startTimer();
      res.once('finish', () => end({ status: String(res.statusCode) }));
      next();
    },
  };
}
