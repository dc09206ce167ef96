/**
 * A worker process's own Prometheus metrics, served on its `--metrics-port` (see ./server.ts): how long
 * the jobs it ran took and how they ended, the attempts it saw fail and go to a retry, the stalled jobs its
 * stalled-job check found, the jobs running in it now, and Node's default process metrics (of the worker
 * process; sandboxed children are processes of their own and not included).
 *
 * Each worker is scraped on its own port (pull, one target per worker process): the numbers are the
 * process's since it started, and Prometheus sums over targets (`sum by (queue)`), keeping restarts
 * visible as counter resets. Nothing here touches Redis.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Job, Worker } from 'bullmq';

/** Seconds of one attempt of a job: chunks take well under a second, a big training run up to an hour. */
const JOB_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

interface JobTimes {
  processedOn?: number;
  finishedOn?: number;
}

/** The seconds from `processedOn` (when this attempt started) to `finishedOn` (or now, for a retry). */
function attemptSeconds(job: JobTimes, now = Date.now()): number | null {
  if (!job.processedOn) return null;
  const end = job.finishedOn || now;
  return Math.max(0, (end - job.processedOn) / 1000);
}

export class WorkerMetrics {
  readonly registry = new Registry();
  private readonly jobSeconds: Histogram<'queue' | 'outcome'>;
  private readonly retries: Counter<'queue'>;
  private readonly stalls: Counter<'queue'>;
  private readonly workers = new Map<string, Worker[]>();

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    this.jobSeconds = new Histogram({
      name: 'ticketflow_job_seconds',
      help: 'Seconds of one job attempt run by this worker (processedOn to finishedOn), by queue and outcome (completed, failed, retried)',
      labelNames: ['queue', 'outcome'] as const,
      buckets: JOB_BUCKETS,
      registers: [this.registry],
    });
    this.retries = new Counter({
      name: 'ticketflow_job_retries_total',
      help: 'Job attempts that failed in this worker and will be retried, by queue',
      labelNames: ['queue'] as const,
      registers: [this.registry],
    });
    this.stalls = new Counter({
      name: 'ticketflow_job_stalls_total',
      help: "Stalled jobs (their worker stopped renewing the lock) moved back to wait by this worker's stalled-job check, by queue",
      labelNames: ['queue'] as const,
      registers: [this.registry],
    });
    const workers = this.workers;
    new Gauge({
      name: 'ticketflow_jobs_active',
      help: 'Jobs running in this worker process now, by queue',
      labelNames: ['queue'] as const,
      registers: [this.registry],
      collect() {
        for (const [queue, list] of workers)
          this.set(
            { queue },
            list.reduce((n, w) => n + activeJobs(w), 0),
          );
      },
    });
  }

  /** Serve `queue` with `worker`: its series start at 0, its active jobs are counted at scrape time. */
  track(queue: string, worker: Worker): void {
    this.workers.set(queue, [...(this.workers.get(queue) ?? []), worker]);
    this.retries.inc({ queue }, 0);
    this.stalls.inc({ queue }, 0);
  }

  /** From the worker's 'completed' event. */
  completed(queue: string, job: Job): void {
    const seconds = attemptSeconds(job);
    if (seconds !== null) this.jobSeconds.observe({ queue, outcome: 'completed' }, seconds);
  }

  /**
   * From the worker's 'failed' event, which BullMQ emits after moving the job: a job that will be
   * retried has no `finishedOn` yet; one that failed for good has.
   */
  failed(queue: string, job: Job): void {
    const retried = !job.finishedOn;
    if (retried) this.retries.inc({ queue });
    const seconds = attemptSeconds(job);
    if (seconds !== null)
      this.jobSeconds.observe({ queue, outcome: retried ? 'retried' : 'failed' }, seconds);
  }

  /** From the worker's 'stalled' event. */
  stalled(queue: string): void {
    this.stalls.inc({ queue });
  }
}

/**
 * Jobs a BullMQ worker is processing now: its lock manager tracks each one from start to end (not a
 * public API in BullMQ 6.7, hence the guard; 0 without it).
 */
function activeJobs(worker: Worker): number {
  const lm = (worker as unknown as { lockManager?: { getActiveJobCount?: () => number } }).lockManager;
  return typeof lm?.getActiveJobCount === 'function' ? lm.getActiveJobCount() : 0;
}
