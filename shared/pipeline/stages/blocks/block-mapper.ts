import {
  BlockTaskContext,
  BlockTaskDef,
  StageTry,
  openStageTry,
  reuseBlockTask,
  runBlockTask,
} from './block-task';

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
  /**
   * Resolves once no task the stage ever started is still queued or running, this try's or an earlier
   * try's: a stage job whose lock lapsed (Redis gone a while) runs on beside the attempt that replaced it,
   * and its tasks read its own try's files. Called before the stage removes earlier tries' files, so none
   * is taken from under a running task; absent where tasks run in this process.
   */
  settle?(): Promise<void>;
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
  const earlier = new Map<string, Promise<StageTry[]>>();
  return {
    async map<I, O>(task: BlockTaskDef<I, O>, inputs: readonly I[], opts?: MapOptions<O>): Promise<O[]> {
      const out: O[] = [];
      const tries = earlier.get(task.stage) ?? openStageTry(ctx, task.stage);
      earlier.set(task.stage, tries);
      for (const [i, input] of inputs.entries()) {
        signal?.throwIfAborted();
        const output =
          (await reuseBlockTask(task, ctx, input, await tries)) ?? (await runBlockTask(task, ctx, input));
        out.push(output);
        await opts?.inOrder?.(output, i);
      }
      return out;
    },
  };
}
