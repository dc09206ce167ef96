import os from 'node:os';
import { Writable } from 'node:stream';
import { UnrecoverableError, WaitingChildrenError } from 'bullmq';
import winston from 'winston';
import { resolveConfig, TicketflowConfig } from '../../shared/core/config/config';
import { BadInputError } from '../../shared/core/errors';
import { createLogger, Logger, logLost } from '../../shared/core/logger';
import { StageContext } from '../../shared/pipeline/stages/context';
import type { ArtifactStore } from '../../shared/core/store/artifact-store';
import { openStore } from '../../shared/core/store/open-store';
import { PipelineParams } from '../../shared/core/config/pipeline-params';
import { JobParams, resolveJobParams } from '../../shared/runtime/flow/param-refs';

/** The part of a BullMQ job (inline or sandboxed) that stage processors use. */
export interface ProcessorJob<Data> {
  id?: string;
  data: Data;
  attemptsMade: number;
  opts: { attempts?: number };
  updateProgress(progress: number): Promise<void>;
  log(row: string): Promise<unknown>;
}

let config: TicketflowConfig | null = null;
/** Each worker process (and sandbox child) resolves the config once from its own environment. */
export function processConfig(): TicketflowConfig {
  config ??= resolveConfig(process.env);
  return config;
}

let store: ArtifactStore | null = null;
/** Each worker process (and sandbox child) opens the artifact store once, where its config says. */
export function processStore(): ArtifactStore {
  store ??= openStore(processConfig().storage);
  return store;
}

/**
 * The name of the worker running this code, as its BullMQ workers are named (`ticketflow-worker@<host>:<pid>`):
 * a sandboxed child (forked by BullMQ from its own main.js) names its parent, the worker process.
 */
export function workerName(): string {
  const sandboxed = /[\\/]bullmq[\\/]/.test(process.argv[1] ?? '');
  return `ticketflow-worker@${os.hostname()}:${sandboxed ? process.ppid : process.pid}`;
}

const SCOPE_FIELDS = new Set(['runId', 'stage', 'jobId', 'attempt', 'worker', 'component']);

/** A job logger that also copies its lines to the job's own log; `flush` waits until they are handed over. */
export type JobLogger = Logger & { flushJobLog(): Promise<void> };

/**
 * One line of a job's own log (Bull Board's Logs tab, `GET /runs/:id/logs`): `<ISO time> <level> <message>`.
 * The job already says which run, stage and attempt; extra fields follow as JSON.
 */
export function jobLogRow(info: Record<string, unknown>): string {
  const { level, message, timestamp, ...rest } = info;
  const extra = Object.fromEntries(Object.entries(rest).filter(([k]) => !SCOPE_FIELDS.has(k)));
  const extraText = Object.keys(extra).length > 0 ? ` ${JSON.stringify(extra)}` : '';
  return `${String(timestamp)} ${String(level)} ${String(message)}${extraText}`;
}

/**
 * A winston transport forwarding info-and-above lines to `job.log`, in order and without making the caller
 * wait: each row is chained after the previous one; `flush()` resolves when all have been handed over.
 * (In a sandboxed child, `job.log` is an IPC message the worker turns into a Redis call.)
 */
function jobLogTransport(job: Pick<ProcessorJob<unknown>, 'log'>) {
  let chain: Promise<unknown> = Promise.resolve();
  const sink = new Writable({
    objectMode: true,
    write(info: Record<string, unknown>, _encoding, done) {
      const row = jobLogRow(info);
      chain = chain.then(() => job.log(row)).catch(logLost('handing a row to the job log'));
      done();
    },
  });
  return {
    transport: new winston.transports.Stream({ stream: sink, level: 'info' }),
    flush: () => chain.then(() => undefined),
  };
}

/**
 * The logger of one job: the process log (stderr, TICKETFLOW_LOG_LEVEL and TICKETFLOW_LOG_FORMAT) with the
 * job's run, stage, job id, attempt and worker on every line; with `jobLog`, its info-and-above lines go to
 * the job's own log too.
 */
export function jobLogger(job: ProcessorJob<{ runId: string }>, stage: string): Logger;
export function jobLogger(
  job: ProcessorJob<{ runId: string }>,
  stage: string,
  opts: { jobLog: true },
): JobLogger;
export function jobLogger(
  job: ProcessorJob<{ runId: string }>,
  stage: string,
  opts: { jobLog?: boolean } = {},
): Logger | JobLogger {
  const attempt = `${job.attemptsMade + 1}/${job.opts.attempts ?? 1}`;
  const config = processConfig();
  const scope = { runId: job.data.runId, stage, jobId: job.id, attempt, worker: workerName() };
  if (!opts.jobLog) return createLogger(config.logLevel, scope, { format: config.logFormat });
  const forward = jobLogTransport(job);
  const log = createLogger(config.logLevel, scope, {
    format: config.logFormat,
    transports: [forward.transport],
  }) as JobLogger;
  log.flushJobLog = forward.flush;
  return log;
}

/** A job's stage context; `params` are the job's, resolved (a label map read from the run's record). */
export function stageContext(
  job: ProcessorJob<{ runId: string; datasetSha256?: string; codeVersion?: string }>,
  params: PipelineParams,
  log: Logger,
): StageContext {
  const { datasetSha256, codeVersion } = job.data;
  return {
    store: processStore(),
    runId: job.data.runId,
    params,
    log,
    progress: (p) => job.updateProgress(p),
    ...(datasetSha256 !== undefined && codeVersion !== undefined
      ? { run: { datasetSha256, codeVersion } }
      : {}),
  };
}

/**
 * Run a job's body with logging to both the process log and the job's own log (Bull Board, the run's
 * logs and timeline): the attempt's start, its end with its seconds, or its failure. Bad input becomes
 * `UnrecoverableError`, so BullMQ fails the job at once instead of retrying it; a parent moving to
 * waiting-children is neither.
 */
export async function runJobLogged<Data extends { runId: string }, Result>(
  job: ProcessorJob<Data>,
  label: string,
  body: (log: JobLogger) => Promise<Result>,
): Promise<Result> {
  const log = jobLogger(job, label, { jobLog: true });
  const start = performance.now();
  log.info(`attempt ${job.attemptsMade + 1} of ${job.opts.attempts ?? 1} started`);
  try {
    const result = await body(log);
    const seconds = ((performance.now() - start) / 1000).toFixed(3);
    log.info(`completed in ${seconds} s`);
    return result;
  } catch (err) {
    if (err instanceof WaitingChildrenError) {
      log.info('waiting for its child jobs');
      throw err;
    }
    const message = (err as Error).message ?? String(err);
    log.error(`failed: ${message}`);
    if (err instanceof BadInputError) throw new UnrecoverableError(message);
    throw err;
  } finally {
    // Every line is in the job's log before BullMQ learns the outcome.
    await log.flushJobLog();
  }
}

/** A stage's job: runJobLogged with the job's parameters resolved into a stage context. */
export async function runLogged<Data extends { runId: string; params: JobParams }, Result>(
  job: ProcessorJob<Data>,
  stage: string,
  body: (ctx: StageContext) => Promise<Result>,
  signal?: AbortSignal,
): Promise<Result> {
  return runJobLogged(job, stage, async (log) => {
    const params = await resolveJobParams(job.data.params, processStore(), job.data.runId);
    const ctx = { ...stageContext(job, params, log), ...(signal ? { signal } : {}) };
    const result = await body(ctx);
    // Progress is true: a completed job reads 100, whatever its stage reported last.
    await job.updateProgress(100);
    return result;
  });
}
