import { UnrecoverableError, WaitingChildrenError } from 'bullmq';
import { resolveConfig, TicketflowConfig } from '../../shared/config/config';
import { BadInputError } from '../../shared/errors';
import { createLogger, Logger } from '../../shared/logger';
import { StageContext } from '../../shared/stages/context';
import { PipelineParams } from '../../shared/config/pipeline-params';

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

export function jobLogger(job: ProcessorJob<{ runId: string }>, stage: string): Logger {
  const attempt = `${job.attemptsMade + 1}/${job.opts.attempts ?? 1}`;
  return createLogger(processConfig().logLevel, { runId: job.data.runId, stage, jobId: job.id, attempt });
}

export function stageContext(
  job: ProcessorJob<{ runId: string; params: PipelineParams; datasetSha256?: string; codeVersion?: string }>,
  log: Logger,
): StageContext {
  const { datasetSha256, codeVersion } = job.data;
  return {
    storageDir: processConfig().storageDir,
    runId: job.data.runId,
    params: job.data.params,
    log,
    progress: (p) => job.updateProgress(p),
    ...(datasetSha256 !== undefined && codeVersion !== undefined
      ? { run: { datasetSha256, codeVersion } }
      : {}),
  };
}

/**
 * Run a stage body with logging to both the process log and the job's own log (visible in Bull Board).
 * Bad input becomes `UnrecoverableError`, so BullMQ fails the job at once instead of retrying it.
 */
export async function runLogged<Data extends { runId: string; params: PipelineParams }, Result>(
  job: ProcessorJob<Data>,
  stage: string,
  body: (ctx: StageContext) => Promise<Result>,
  signal?: AbortSignal,
): Promise<Result> {
  const log = jobLogger(job, stage);
  const ctx = { ...stageContext(job, log), ...(signal ? { signal } : {}) };
  const start = performance.now();
  log.info('started');
  await job.log(
    `${new Date().toISOString()} ${stage} attempt ${job.attemptsMade + 1} of ${job.opts.attempts ?? 1} started`,
  );
  try {
    const result = await body(ctx);
    const seconds = ((performance.now() - start) / 1000).toFixed(3);
    log.info(`completed in ${seconds} s`);
    await job.log(`${new Date().toISOString()} ${stage} completed in ${seconds} s`);
    return result;
  } catch (err) {
    if (err instanceof WaitingChildrenError) {
      log.info('waiting for its child jobs');
      throw err;
    }
    const message = (err as Error).message ?? String(err);
    log.error(`failed: ${message}`);
    await job.log(`${new Date().toISOString()} ${stage} failed: ${message}`);
    if (err instanceof BadInputError) throw new UnrecoverableError(message);
    throw err;
  }
}
