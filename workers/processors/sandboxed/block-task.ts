import './die-with-worker';
import './open-store-early';
import { UnrecoverableError } from 'bullmq';
import { BLOCK_TASKS } from '../../../shared/pipeline/stages/blocks/block-tasks';
import { runBlockTask } from '../../../shared/pipeline/stages/blocks/block-task';
import { childQueueOf } from '../../../shared/pipeline/stages/definitions';
import { BadInputError } from '../../../shared/core/errors';
import { resolveJobParams } from '../../../shared/runtime/flow/param-refs';
import { BlockJobData } from '../../../shared/runtime/flow/job-types';
import { ProcessorJob, jobLogger, processStore } from '../stage-context';
import { failOnceIfAsked } from '../fault-injection';
import { sameBuild } from '../same-build';
import { collectWhenIdle } from './collect-when-idle';

/**
 * Sandboxed: one block task of a stage that fans out (feature extraction, transform-split), CPU-bound.
 * A stage runs thousands of these (an NMF sweep is one per block), so only failures reach the job's own
 * log; the process log has each at debug level.
 */
async function blockTask(job: ProcessorJob<BlockJobData>): Promise<unknown> {
  const { task: name, runId, stage } = job.data;
  const log = jobLogger(job, `${stage}/${name}`);
  const start = performance.now();
  try {
    const task = BLOCK_TASKS.get(name);
    if (!task) throw new Error(`no block task named ${name} in this worker's code (another build?)`);
    const code = sameBuild(stage, job.data.code, name);
    const store = processStore();
    const params = await resolveJobParams(job.data.params, store, runId);
    const ctx = {
      store,
      runId,
      params,
      log,
      attempt: job.data.attempt,
      generation: job.data.generation,
      code,
    };
    await failOnceIfAsked(ctx, childQueueOf(stage) ?? stage);
    const result = await runBlockTask(task, ctx, job.data.input as never);
    log.debug(`${name} done in ${((performance.now() - start) / 1000).toFixed(3)} s`);
    return result;
  } catch (err) {
    const message = (err as Error).message ?? String(err);
    log.error(`${name} failed: ${message}`);
    await job.log(`${new Date().toISOString()} error ${name} failed: ${message}`).catch(() => undefined);
    if (err instanceof BadInputError) throw new UnrecoverableError(message);
    throw err;
  }
}

export default collectWhenIdle(blockTask);
