import type { ArtifactStore } from '../../../core/store/artifact-store';
import { PipelineParams } from '../../../core/config/pipeline-params';
import { Logger } from '../../../core/logger';

/** What a block task may use: the run's store and parameters, a logger. */
export interface BlockTaskContext {
  store: ArtifactStore;
  runId: string;
  params: PipelineParams;
  log: Logger;
  /** the attempt of the stage's job the task serves (1 when absent): its files are that attempt's (scratchDir) */
  attempt?: number;
}

/**
 * The folder, relative to the run, of one attempt's intermediate files of a stage that fans out:
 * `blocks-<stage>/` on the first attempt, `blocks-<stage>-a<N>/` on attempt N. An attempt writes and
 * removes only its own: one that lost its job (Redis gone, a stall) and runs on cannot remove the files a
 * later attempt reads. A folder of its own at the run's top level, so removing it leaves no empty parent.
 */
export function scratchDir(stage: string, attempt = 1): string {
  return attempt <= 1 ? `blocks-${stage}/` : `blocks-${stage}-a${attempt}/`;
}

/** Every attempt's scratch folder of the stage up to `attempt`: what a stage that completed removes. */
export function scratchDirsUpTo(stage: string, attempt = 1): string[] {
  return Array.from({ length: Math.max(1, attempt) }, (_, i) => scratchDir(stage, i + 1));
}

/**
 * A unit of a stage's fanned-out work, run anywhere: in workers, one BullMQ child job per input on the
 * stage's child queue (its sandboxed processor finds the task by `name` in block-tasks.ts); elsewhere,
 * in-process. Input and output are small JSON values (block numbers, keys, counts, a few numbers): bulk
 * data goes through the store. A task writes its outputs atomically under names fixed by its input, so
 * running it twice (a retry, a re-added job) gives the same result.
 */
export interface BlockTaskDef<I, O> {
  /** unique across stages: `<stage short name>.<task>` */
  readonly name: string;
  run(ctx: BlockTaskContext, input: I): Promise<O>;
  /**
   * The output an earlier attempt or generation of the run left complete in the store, or undefined:
   * a retried run does not run such a task again. Only for tasks whose outputs outlive a failed stage.
   */
  reuse?(ctx: BlockTaskContext, input: I): Promise<O | undefined>;
}

/** Runs a stage's block tasks: the stage function's one way to fan out. */
export interface BlockMapper {
  /**
   * Runs `task` once per input, as parallel as the deployment allows; resolves with the outputs in input
   * order (so reductions over them are in block order whoever ran which block), rejects with the first
   * failure that retries did not cure.
   */
  map<I, O>(task: BlockTaskDef<I, O>, inputs: readonly I[]): Promise<O[]>;
}

/**
 * The mapper for a stage run in-process (tests, tools): every task in turn, in this process. The same
 * task functions as in workers, so the same bytes.
 */
export function localBlockMapper(ctx: BlockTaskContext, signal?: AbortSignal): BlockMapper {
  return {
    async map<I, O>(task: BlockTaskDef<I, O>, inputs: readonly I[]): Promise<O[]> {
      const out: O[] = [];
      for (const input of inputs) {
        signal?.throwIfAborted();
        out.push((await task.reuse?.(ctx, input)) ?? (await task.run(ctx, input)));
      }
      return out;
    },
  };
}
