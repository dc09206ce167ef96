import { createHash } from 'node:crypto';
import type { ArtifactStore } from '../../../core/store/artifact-store';
import { ArtifactNotFound } from '../../../core/store/artifact-store';
import { PipelineParams } from '../../../core/config/pipeline-params';
import { Logger } from '../../../core/logger';
import { runPrefix } from '../../../core/storage';

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
  /**
   * The identity of the stage's code the try runs (shared/runtime/runs/code-identity.ts), recorded in its
   * folder (openStageTry): a later try reuses the files only of tries that ran the same code, since
   * another build may write other bytes or formats. Absent in-process (tools, tests): such tries reuse
   * only each other's.
   */
  code?: string;
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
  /** the stage it serves: its files are in that stage's scratch folder (scratchDir) */
  readonly stage: string;
  run(ctx: BlockTaskContext, input: I): Promise<O>;
  /**
   * Every file it wrote, given its input and output, by name in the try's scratch folder. A task that
   * names them is reused by a later try of its stage (runBlockTask, reuseBlockTask); one that writes
   * elsewhere must not name them.
   */
  writes?(input: I, output: O, params: PipelineParams): readonly string[];
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

interface TryInStore {
  dir: string;
  generation: number;
  attempt: number;
  /** its files, by name in its folder */
  files: Set<string>;
}

/** The tries of a stage whose scratch folders are in the run (`runPrefix`, ending with "/"): one listing. */
async function triesInStore(store: ArtifactStore, runPrefix: string, stage: string): Promise<TryInStore[]> {
  const pattern = /^(?:-g(\d+))?(?:-a(\d+))?\/$/;
  const base = `blocks-${stage}`;
  const seen = new Map<string, TryInStore>();
  for (const { key } of await store.list(runPrefix + base)) {
    const rest = key.slice(runPrefix.length);
    const dir = rest.slice(0, rest.indexOf('/') + 1);
    let t = seen.get(dir);
    if (t === undefined) {
      const m = pattern.exec(dir.slice(base.length));
      if (m === null) continue;
      t = { dir, generation: Number(m[1] ?? 1), attempt: Number(m[2] ?? 1), files: new Set() };
      seen.set(dir, t);
    }
    t.files.add(rest.slice(dir.length));
  }
  return [...seen.values()];
}

/** Whether try `t` came before try `at` (an earlier generation, or an earlier attempt of the same one). */
function before(t: { generation: number; attempt: number }, at: StageTry): boolean {
  const g = at.generation ?? 1;
  return t.generation < g || (t.generation === g && t.attempt < (at.attempt ?? 1));
}

/**
 * Removes the stage's scratch folders in the run (`runPrefix`, ending with "/") of this try and the tries
 * before it: earlier attempts that failed or were cut off, earlier generations' (whatever this try
 * reused from them it copied). A later attempt's folder stays: that attempt may be running.
 */
export async function removeScratchDirs(
  store: ArtifactStore,
  runPrefix: string,
  stage: string,
  at: StageTry = {},
): Promise<void> {
  const dirs = new Set([scratchDir(stage, at)]);
  for (const t of await triesInStore(store, runPrefix, stage)) if (before(t, at)) dirs.add(t.dir);
  for (const dir of dirs) await store.removePrefix(runPrefix + dir);
}

/** A try's record of the code it runs, in its scratch folder: `{ code }` (null in-process). */
export const TRY_CODE_FILE = 'code.json';

interface TryCode {
  code: string | null;
}

/**
 * Begins the context's try of `stage` for a mapper: records the try's code in its folder (TRY_CODE_FILE),
 * then returns the earlier tries whose files it may reuse (earlierTries).
 */
export async function openStageTry(ctx: BlockTaskContext, stage: string): Promise<StageTry[]> {
  await ctx.store.putJson(scratchKey({ stage }, ctx, TRY_CODE_FILE), {
    code: ctx.code ?? null,
  } satisfies TryCode);
  return earlierTries(ctx, stage);
}

/**
 * The tries of `stage` before the context's that left a scratch folder and ran the same code, latest
 * first: where a task's output may already be (reuseBlockTask).
 */
export async function earlierTries(ctx: BlockTaskContext, stage: string): Promise<StageTry[]> {
  return (await earlierTryFiles(ctx, stage)).map(({ at }) => at);
}

/**
 * The files (by name in the scratch folder) of each earlier try of `stage` that recorded the context's
 * code (TRY_CODE_FILE), latest first: where a stage that iterates finds the last state a failed try
 * reached (fit-nmf-blocks.ts). A try of other code, or one that recorded none, is passed over, and said so.
 */
export async function earlierTryFiles(
  ctx: BlockTaskContext,
  stage: string,
): Promise<{ at: StageTry; files: ReadonlySet<string> }[]> {
  const tries = (await triesInStore(ctx.store, runPrefix(ctx.runId), stage))
    .filter((t) => before(t, ctx))
    .sort((a, b) => b.generation - a.generation || b.attempt - a.attempt);
  const out: { at: StageTry; files: ReadonlySet<string> }[] = [];
  for (const { generation, attempt, files } of tries) {
    const at = { generation, attempt };
    const passOver = (ran: string) =>
      ctx.log.info(
        `${stage}: the files of generation ${generation}, attempt ${attempt} are not reused: that try ran ${ran}, this one ${ctx.code?.slice(0, 12) ?? 'in-process code'}`,
      );
    if (!files.has(TRY_CODE_FILE)) {
      passOver('unrecorded code');
      continue;
    }
    let recorded: string | null;
    try {
      const key = scratchKey({ stage }, { runId: ctx.runId, ...at }, TRY_CODE_FILE);
      recorded = (await ctx.store.getJson<TryCode>(key)).code ?? null;
    } catch (err) {
      // Its attempt, cut off and running on, completed and removed its folder meanwhile.
      if (err instanceof ArtifactNotFound) continue;
      throw err;
    }
    if (recorded === (ctx.code ?? null)) out.push({ at, files });
    else passOver(recorded === null ? 'in-process code' : `code ${recorded.slice(0, 12)}`);
  }
  return out;
}

/**
 * Copies files `names` of try `from`'s scratch folder of `stage` into the context's: ArtifactNotFound
 * when one is gone.
 */
export async function copyFromTry(
  ctx: BlockTaskContext,
  stage: string,
  from: StageTry,
  names: readonly string[],
): Promise<void> {
  for (const name of names)
    await ctx.store.copy(
      scratchKey({ stage }, { runId: ctx.runId, ...from }, name),
      scratchKey({ stage }, ctx, name),
    );
}

/** What a reusable task left beside its files: its input and output. */
interface DoneRecord {
  task: string;
  input: unknown;
  output: unknown;
}

/**
 * Where a try records that `task` completed on `input`: `done/<task>-<digest of the input>.json` in its
 * scratch folder, written after the task's own files.
 */
function doneKey(task: { name: string; stage: string }, ctx: { runId: string } & StageTry, input: unknown) {
  const digest = createHash('sha256').update(JSON.stringify(input)).digest('hex').slice(0, 24);
  return `${runPrefix(ctx.runId)}${scratchDir(task.stage, ctx)}done/${task.name}-${digest}.json`;
}

/** A task's file `name` in the scratch folder of try `ctx`. */
function scratchKey(task: { stage: string }, ctx: { runId: string } & StageTry, name: string): string {
  return `${runPrefix(ctx.runId)}${scratchDir(task.stage, ctx)}${name}`;
}

/**
 * Runs a task on an input: how every mapper and child job runs one. A task that names its files
 * (`writes`) then records its input and output beside them, which a later try of the stage reuses.
 */
export async function runBlockTask<I, O>(
  task: BlockTaskDef<I, O>,
  ctx: BlockTaskContext,
  input: I,
): Promise<O> {
  const output = await task.run(ctx, input);
  if (task.writes) {
    const done: DoneRecord = { task: task.name, input, output };
    await ctx.store.putJson(doneKey(task, ctx, input), done);
  }
  return output;
}

/**
 * The output an earlier try (`tries`, latest first) recorded for `task` on `input`, with the task's files
 * copied (hard links locally, server-side copies on S3) into this try's folder, where the stage's other
 * tasks read them; undefined when no earlier try holds them all, and the task must run.
 *
 * Sound because a stage's tries compute the same bytes: the same inputs (a retry reruns a stage only
 * once the stages before it are done, and they stay as they are), parameters and block plan, and each
 * task's output depends only on its input and files that earlier tasks, themselves the same, wrote. An
 * input that differs (NMF's rounds grouped into other runs of blocks on another number of workers) has
 * another record, and runs.
 */
export async function reuseBlockTask<I, O>(
  task: BlockTaskDef<I, O>,
  ctx: BlockTaskContext,
  input: I,
  tries: readonly StageTry[],
): Promise<O | undefined> {
  if (!task.writes || tries.length === 0) return undefined;
  const wanted = JSON.stringify(input);
  for (const t of tries) {
    const from = { runId: ctx.runId, ...t };
    const key = doneKey(task, from, input);
    try {
      if ((await ctx.store.stat(key)) === undefined) continue;
      const done = await ctx.store.getJson<DoneRecord>(key);
      if (done.task !== task.name || JSON.stringify(done.input) !== wanted) continue;
      await copyFromTry(ctx, task.stage, t, task.writes(input, done.output as O, ctx.params));
      await ctx.store.copy(key, doneKey(task, ctx, input));
      return done.output as O;
    } catch (err) {
      // That try's folder went (its attempt, cut off and running on, completed and removed it): another
      // try may still hold the files, else the task runs.
      if (err instanceof ArtifactNotFound) continue;
      throw err;
    }
  }
  return undefined;
}
