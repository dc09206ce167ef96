import type { ArtifactStore } from '../../../core/store/artifact-store';
import { PipelineParams } from '../../../core/config/pipeline-params';
import { Logger } from '../../../core/logger';

/** Which try of a stage's job: its attempt (1 when absent) of its generation (a run's retry; 1 when absent). */
export interface StageTry {
  attempt?: number;
  generation?: number;
}

/** What a block task may use: the run's store and parameters, a logger, the try of the stage it serves. */
export interface BlockTaskContext extends StageTry {
  store: ArtifactStore;
  runId: string;
  params: PipelineParams;
  log: Logger;
}

/**
 * The folder, relative to the run, of one try's intermediate files of a stage that fans out:
 * `blocks-<stage>/` on the first attempt of the first generation, `blocks-<stage>[-g<G>][-a<N>]/` on
 * attempt N of generation G. A try writes and removes only its own and those of tries before it: one that
 * lost its job (Redis gone, a stall) and runs on cannot remove the files a later attempt reads. A folder
 * of its own at the run's top level, so removing it leaves no empty parent.
 */
export function scratchDir(stage: string, at: StageTry = {}): string {
  const g = at.generation ?? 1;
  const a = at.attempt ?? 1;
  return `blocks-${stage}${g > 1 ? `-g${g}` : ''}${a > 1 ? `-a${a}` : ''}/`;
}

/**
 * Removes the stage's scratch folders in the run (`runPrefix`, ending with "/") of this try and the tries
 * before it: earlier attempts that failed or were cut off, earlier generations' (a retry of the run from
 * this stage does not read them). A later attempt's folder stays: that attempt may be running.
 */
export async function removeScratchDirs(
  store: ArtifactStore,
  runPrefix: string,
  stage: string,
  at: StageTry = {},
): Promise<void> {
  const generation = at.generation ?? 1;
  const attempt = at.attempt ?? 1;
  const dirs = new Set([scratchDir(stage, at)]);
  const pattern = /^(?:-g(\d+))?(?:-a(\d+))?\/$/;
  const base = `blocks-${stage}`;
  for (const { key } of await store.list(runPrefix + base)) {
    const rest = key.slice(runPrefix.length);
    const dir = rest.slice(0, rest.indexOf('/') + 1);
    const m = pattern.exec(dir.slice(base.length));
    if (m === null) continue;
    const g = Number(m[1] ?? 1);
    const a = Number(m[2] ?? 1);
    if (g < generation || (g === generation && a <= attempt)) dirs.add(dir);
  }
  for (const dir of dirs) await store.removePrefix(runPrefix + dir);
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
  map<I, O>(task: BlockTaskDef<I, O>, inputs: readonly I[], opts?: MapOptions<O>): Promise<O[]>;
  /**
   * How many tasks can run at once now (live workers serving the stage's child queue × their
   * concurrency), for a driver that sizes its rounds to the deployment; absent: unknown.
   */
  parallelism?(): Promise<number>;
}

export interface MapOptions<O> {
  /**
   * Called with each output in input order, as soon as it and every earlier one are there (and the
   * previous call has returned), while later inputs still run: a reduction that streams block by block
   * (appending each block's rows) overlaps the blocks' work instead of following it. `map` resolves once
   * every call has; a call that throws fails the map.
   */
  inOrder?: (output: O, index: number) => Promise<void>;
}

/**
 * The mapper for a stage run in-process (tests, tools): every task in turn, in this process. The same
 * task functions as in workers, so the same bytes.
 */
export function localBlockMapper(ctx: BlockTaskContext, signal?: AbortSignal): BlockMapper {
  return {
    async map<I, O>(task: BlockTaskDef<I, O>, inputs: readonly I[], opts?: MapOptions<O>): Promise<O[]> {
      const out: O[] = [];
      for (const [i, input] of inputs.entries()) {
        signal?.throwIfAborted();
        const output = (await task.reuse?.(ctx, input)) ?? (await task.run(ctx, input));
        out.push(output);
        await opts?.inOrder?.(output, i);
      }
      return out;
    },
  };
}
