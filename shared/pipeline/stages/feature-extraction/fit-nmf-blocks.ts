import { cdSweep } from '../../../core/numeric/nmf';
import { addInto, nndsvdaStart, NndsvdaStart } from '../../../core/numeric/nmf-blocks';
import { BlockMapper } from '../blocks/block-mapper';
import { StageContext } from '../context';
import { ArtifactNotFound } from '../../../core/store/artifact-store';
import { StageTry, copyFromTry, earlierTryFiles } from '../blocks/block-task';
import { FE_STAGE, feFiles, feKey, getFloat64, putFloat64 } from './block-files';
import { NMF_INIT_TASK, NMF_PROJECT_TASK, NMF_WHOLE_TASK, NMF_W_TASK, SVD_STEP_TASK } from './nmf-tasks';
import { KrylovBasis, extendKrylov, krylovRitz, svdStart } from '../../../core/numeric/block-svd';

/**
 * Up to this many tickets NMF runs whole in one task (fitNmf on the stacked blocks, exactly, whatever the
 * block size). An iteration over the blocks costs a map round (tens of milliseconds of job round trips
 * on a busy 2-core machine), about its work on 50,000 rows (~0.6 µs a row): below that, spreading the
 * iterations over workers makes the stage slower; above, it makes it scale (10× the dev data, 160,000
 * tickets, runs its iterations on all workers).
 */
export const SINGLE_TASK_NMF_ROWS = 50_000;

/**
 * NMF's NNDSVDa start needs X's top-k singular vectors. Up to this many tickets one task computes it
 * exactly as fitNmf does: the Lanczos SVD of all of X in memory, ≤ 200,000 TF-IDF rows (~50 MB at the
 * dev data's 20 terms a ticket), their transpose and ~30 Lanczos vectors (~50 MB), well under a
 * process's 1 GB, and faster than ~15 map rounds up to there (10× the dev data). Beyond, the right
 * singular vectors come from a subspace iteration whose rounds are maps over the blocks (block-svd.ts,
 * to a residual of SVD_TOLERANCE) and W's start from X·V block by block (nmf-blocks.ts): the same start
 * to rounding, with no process holding more than a block.
 */
export const SINGLE_TASK_INIT_ROWS = 200_000;

/**
 * ‖XᵀX·v − σ²·v‖ ≤ this · σ₁² for each of the k vectors: on the dev data within ~1e-7 of Lanczos's in
 * angle (17 rounds), well inside the ~1e-5 of sklearn's own start (randomized_svd).
 */
export const SVD_TOLERANCE = 1e-7;
/** Rounds after which the SVD stops, converged or not (it is only NMF's start). */
export const SVD_MAX_ROUNDS = 100;
/**
 * Columns of a round's basis block beyond the k wanted: with 1 (4 columns at k = 3, one pass of the
 * 4-column kernels) the dev data takes 11 rounds of the block Krylov method (block-svd.ts), with 5 (8
 * columns, twice the work a round) 9.
 */
const SVD_EXTRA_COLUMNS = 1;

/**
 * Blocks of the Krylov basis at most (SVD_BASIS_ROUNDS · p columns, ~4.4 MB at k = 3 and 8,500 terms,
 * held by the stage job with as much again for their products): a basis that grows so far without converging starts again from
 * its p best Ritz vectors (a restart), so the stage job's memory and each round's Rayleigh–Ritz stay
 * bounded whatever the rounds.
 */
export const SVD_BASIS_ROUNDS = 16;

/**
 * At most this many jobs in a map round of NMF's iterations, its start's projection or SVD: each job
 * takes a run of consecutive blocks (groupBlocks). Such a round repeats dozens of times, and a block's
 * work there is small (~10 ms for 20,000 rows at k = 3) next to a job's round trip (~40 ms on a busy
 * 2-core machine): at 1.6M tickets, 80 jobs a round kept the workers 20 % busy. Every block still writes
 * its own partial sums, added in block order, so the bytes depend neither on this nor on the workers;
 * 16 keeps a round spread over up to 16 workers.
 */
export const MAX_JOBS_PER_ROUND = 16;

/**
 * Jobs a round for a deployment that can run `parallelism` tasks at once: one each, at most
 * MAX_JOBS_PER_ROUND. Every job of a round costs its worker more than its blocks' work (a round trip, and
 * its blocks' TF-IDF rows read again where they left the sandbox's cache), so fewer, larger jobs do less:
 * on 2 workers at 100× the dev data, 2 jobs a round instead of 4 took feature extraction from 78–82 s
 * (139–148 CPU s) to 52 s (93–94 CPU s), at 10× from 6.4–6.5 s to 6.0–6.1 s; 8 instead of 4 had been
 * slower still (docs/scaling.md).
 */
export function jobsPerRound(parallelism: number | undefined): number {
  if (parallelism === undefined) return MAX_JOBS_PER_ROUND;
  return Math.max(1, Math.min(MAX_JOBS_PER_ROUND, parallelism));
}

/** `blocks` cut into at most `maxJobs` runs of consecutive blocks, as even as can be, in order. */
export function groupBlocks(blocks: readonly number[], maxJobs: number): number[][] {
  const jobs = Math.max(1, Math.min(maxJobs, blocks.length));
  const out: number[][] = [];
  for (let j = 0; j < jobs; j++)
    out.push(
      blocks.slice(Math.floor((j * blocks.length) / jobs), Math.floor(((j + 1) * blocks.length) / jobs)),
    );
  return out;
}

export interface BlockNmfResult {
  /** iterations as sklearn counts them; also the iteration whose `nmf/<i>/w-<b>` files hold W's final value */
  nIter: number;
  /** Hᵀ's final value (cols × k), also in `nmf/<nIter + 1>/ht` */
  Ht: Float64Array;
  /** fitNmf's reconstruction error when NMF ran whole in one task */
  reconstructionError?: number;
  /** WᵀW of the final W (k × k), when NMF ran over the blocks */
  WtW?: Float64Array;
  /** rounds of the block-wise SVD of the start (0: the start was computed in one task) */
  svdRounds: number;
}

/** What iteration `next` needs besides Hᵀ (`nmf/<next>/ht`) and W (`nmf/<next − 1>/w-<b>`): `nmf/<next>/resume.json`. */
interface NmfResume {
  violationInit: number;
  svdRounds: number;
  /** W's WᵀW (k × k) after iteration next − 1 */
  WtW: number[];
  /** iteration next − 1 was the last (converged, or nmfMaxIter) */
  done: boolean;
}

/** The SVD's result beside `init/vt`: `init/svd.json`. */
interface SvdDone {
  rounds: number;
}

/** Earlier tries' files of the stage, latest first (earlierTryFiles). */
type EarlierFiles = Awaited<ReturnType<typeof earlierTryFiles>>;

/**
 * The first state, of an earlier try, that `choose` names (its best first: an iteration or round `n` and
 * its files) and whose files copy whole into this try's folder; undefined when none does. A failed try's
 * iterations are deterministic, so going on from where it stopped gives the bytes of a try that never
 * failed.
 */
async function resumeFrom(
  ctx: StageContext,
  earlier: EarlierFiles,
  choose: (files: ReadonlySet<string>) => { n: number; names: string[] }[],
): Promise<{ n: number; at: StageTry } | undefined> {
  for (const { at, files } of earlier)
    for (const { n, names } of choose(files)) {
      try {
        await copyFromTry(ctx, FE_STAGE, at, names);
        return { n, at };
      } catch (err) {
        // The try's attempt, cut off and running on, completed and removed its folder meanwhile.
        if (err instanceof ArtifactNotFound) continue;
        throw err;
      }
    }
  return undefined;
}

/** Numbers n of the files named `prefix<n>suffix` among `files`, highest first. */
function numbered(files: ReadonlySet<string>, prefix: string, suffix: string): number[] {
  const out: number[] = [];
  for (const f of files)
    if (f.startsWith(prefix) && f.endsWith(suffix)) {
      const n = Number(f.slice(prefix.length, f.length - suffix.length));
      if (Number.isInteger(n) && n > 0) out.push(n);
    }
  return out.sort((a, b) => b - a);
}

/**
 * fitNmf (nmf.ts: sklearn's coordinate descent from NNDSVDa) over X's blocks (`tfidf-<b>` files): whole
 * in one task for a small corpus; otherwise per iteration one map of the W sweep over the blocks, then
 * here, over the summed partial sums (in block order), the Hᵀ sweep and sklearn's stopping rule. Only the
 * files of the last two iterations are kept. A later try of the stage (a retry of the run, a stage job's
 * next attempt) goes on from the last iteration (or SVD round) an earlier try completed.
 */
export async function fitNmfOverBlocks(
  ctx: StageContext,
  mapper: BlockMapper,
  blocks: readonly number[],
  rows: number,
  cols: number,
  mean: number,
  limits: {
    singleTaskNmfRows: number;
    singleTaskInitRows: number;
    maxJobsPerRound: number;
    svdBasisRounds?: number;
  },
): Promise<BlockNmfResult> {
  const { params, store } = ctx;
  const k = params.topics;
  const groups = groupBlocks(blocks, limits.maxJobsPerRound);
  if (rows <= limits.singleTaskNmfRows) {
    const [whole] = await mapper.map(NMF_WHOLE_TASK, [{ blocks: [...blocks] }]);
    const Ht = await getFloat64(store, feKey(ctx, feFiles.ht(whole!.nIter + 1)), cols * k);
    return { nIter: whole!.nIter, Ht, reconstructionError: whole!.reconstructionError, svdRounds: 0 };
  }
  const earlier = await earlierTryFiles(ctx, FE_STAGE);
  const WtW = new Float64Array(k * k);
  let violationInit = 0;
  let it = 1;
  let Ht: Float64Array;
  let start: Omit<NndsvdaStart, 'Ht'> | undefined;
  let svdRounds = 0;
  const resumed = await resumeFrom(ctx, earlier, (files) =>
    numbered(files, 'nmf/', '/resume.json')
      .filter((n) => files.has(feFiles.ht(n)) && blocks.every((b) => files.has(feFiles.w(n - 1, b))))
      .map((n) => ({
        n,
        names: [feFiles.resume(n), feFiles.ht(n), ...blocks.map((b) => feFiles.w(n - 1, b))],
      })),
  );
  if (resumed) {
    const next = resumed.n;
    const state = await store.getJson<NmfResume>(feKey(ctx, feFiles.resume(next)));
    Ht = (await getFloat64(store, feKey(ctx, feFiles.ht(next)), cols * k)).slice();
    ({ violationInit, svdRounds } = state);
    ctx.log.info(
      `NMF goes on from iteration ${next - 1}, which an earlier try of the stage completed (generation ${resumed.at.generation ?? 1}, attempt ${resumed.at.attempt ?? 1})`,
    );
    if (state.done) return { nIter: next - 1, Ht, WtW: Float64Array.from(state.WtW), svdRounds };
    it = next;
  } else if (rows <= limits.singleTaskInitRows) {
    await mapper.map(NMF_INIT_TASK, [{ blocks: [...blocks] }]);
    Ht = (await getFloat64(store, feKey(ctx, feFiles.ht(1)), cols * k)).slice();
  } else {
    const done = await resumeFrom(ctx, earlier, (files) =>
      files.has(feFiles.initSvd) && files.has(feFiles.initVt)
        ? [{ n: 0, names: [feFiles.initSvd, feFiles.initVt] }]
        : [],
    );
    let svd: { Vt: Float64Array; rounds: number };
    if (done) {
      svd = {
        Vt: await getFloat64(store, feKey(ctx, feFiles.initVt), cols * k),
        rounds: (await store.getJson<SvdDone>(feKey(ctx, feFiles.initSvd))).rounds,
      };
    } else {
      svd = await blockSvd(
        ctx,
        mapper,
        groups,
        rows,
        cols,
        earlier,
        limits.svdBasisRounds ?? SVD_BASIS_ROUNDS,
      );
      await putFloat64(store, feKey(ctx, feFiles.initVt), svd.Vt);
      await store.putJson(feKey(ctx, feFiles.initSvd), { rounds: svd.rounds } satisfies SvdDone);
      // The start is in init/: the basis and its products are no longer needed.
      await store.removePrefix(feKey(ctx, feFiles.svd));
    }
    svdRounds = svd.rounds;
    ctx.signal?.throwIfAborted();
    const projections = (
      await mapper.map(
        NMF_PROJECT_TASK,
        groups.map((group) => ({ blocks: group })),
      )
    ).flat();
    const positive2 = new Float64Array(k);
    const negative2 = new Float64Array(k);
    for (const p of projections) {
      addInto(positive2, p.positive2);
      addInto(negative2, p.negative2);
    }
    const s = nndsvdaStart(svd.Vt, cols, k, Array.from(positive2), Array.from(negative2), mean);
    Ht = s.Ht;
    start = { scale: s.scale, part: s.part, mean: s.mean };
    await putFloat64(store, feKey(ctx, feFiles.ht(1)), Ht);
  }

  for (; it <= params.nmfMaxIter; it++) {
    ctx.signal?.throwIfAborted();
    const iteration = it;
    const outs = (
      await mapper.map(
        NMF_W_TASK,
        groups.map((group) => ({
          blocks: group,
          iteration,
          ...(iteration === 1 && start ? { start } : {}),
        })),
      )
    ).flat();
    let violation = 0;
    WtW.fill(0);
    for (const o of outs) {
      violation += o.violation;
      addInto(WtW, o.WtW);
    }
    const XtW = await sumInBlockOrder(ctx, blocks, (b) => feFiles.xtw(iteration, b), cols * k);
    violation += cdSweep(Ht, WtW, XtW, cols, k);
    await putFloat64(store, feKey(ctx, feFiles.ht(iteration + 1)), Ht);
    if (iteration === 1) violationInit = violation;
    const last =
      violationInit === 0 || violation / violationInit <= params.nmfTol || iteration === params.nmfMaxIter;
    const resume: NmfResume = { violationInit, svdRounds, WtW: Array.from(WtW), done: last };
    await store.putJson(feKey(ctx, feFiles.resume(iteration + 1)), resume);
    // Iteration i − 1's W (read by iteration i's tasks, all done) and its sums are no longer needed.
    await store.removePrefix(feKey(ctx, feFiles.iteration(iteration - 1)));
    if (last) break;
  }
  return { nIter: Math.min(it, params.nmfMaxIter), Ht, WtW, svdRounds };
}

/**
 * X's top-k right singular vectors (cols × k) by the block Krylov method of block-svd.ts, one map over
 * the blocks a round. Every round's basis block and its summed product stay in the stage's folder
 * (`svd/<r>/z.bin`, `svd/<r>/xtxz.bin`) until the basis restarts, so a later try goes on from the last
 * round an earlier one began, with the same bytes.
 */
async function blockSvd(
  ctx: StageContext,
  mapper: BlockMapper,
  groups: readonly number[][],
  rows: number,
  cols: number,
  earlier: EarlierFiles,
  basisRounds: number,
): Promise<{ Vt: Float64Array; rounds: number }> {
  const blocks = groups.flat();
  const { store } = ctx;
  const k = ctx.params.topics;
  const p = Math.min(k + SVD_EXTRA_COLUMNS, cols, rows);
  // Rounds first, first + 1, … of one basis: it restarts every basisRounds rounds.
  const firstOf = (round: number) => round - ((round - 1) % basisRounds);
  const earlierRounds = (round: number) =>
    Array.from({ length: round - firstOf(round) }, (_, i) => firstOf(round) + i);
  // The last round an earlier try began, with its basis's earlier blocks and their products.
  const resumed = await resumeFrom(ctx, earlier, (files) =>
    numbered(files, 'svd/', '/z.bin')
      .filter((n) =>
        earlierRounds(n).every((m) => files.has(feFiles.svdZ(m)) && files.has(feFiles.svdProduct(m))),
      )
      .map((n) => ({
        n,
        names: [
          ...earlierRounds(n).flatMap((m) => [feFiles.svdZ(m), feFiles.svdProduct(m)]),
          feFiles.svdZ(n),
        ],
      })),
  );
  const basis: KrylovBasis = { blocks: [], products: [] };
  let first = 1;
  if (resumed) {
    first = resumed.n;
    for (const m of earlierRounds(first)) {
      basis.blocks.push(await getFloat64(store, feKey(ctx, feFiles.svdZ(m)), cols * p));
      basis.products.push(await getFloat64(store, feKey(ctx, feFiles.svdProduct(m)), cols * p));
    }
    basis.blocks.push(await getFloat64(store, feKey(ctx, feFiles.svdZ(first)), cols * p));
  } else basis.blocks.push(svdStart(cols, p));
  for (let round = first; ; round++) {
    ctx.signal?.throwIfAborted();
    if (round > first || !resumed)
      await putFloat64(store, feKey(ctx, feFiles.svdZ(round)), basis.blocks.at(-1)!);
    // A restarted basis needs nothing of the one before.
    if (round > 1 && firstOf(round) === round)
      for (let m = round - basisRounds; m < round; m++)
        await store.removePrefix(feKey(ctx, feFiles.svdRound(m)));
    await mapper.map(
      SVD_STEP_TASK,
      groups.map((group) => ({ blocks: group, round, p })),
    );
    const product = await sumInBlockOrder(ctx, blocks, (b) => feFiles.svdXtXZ(round, b), cols * p);
    await putFloat64(store, feKey(ctx, feFiles.svdProduct(round)), product);
    await store.removePrefix(feKey(ctx, feFiles.svdParts(round)));
    basis.products.push(product);
    const ritz = krylovRitz(basis, cols, p, k);
    if (ritz.residual <= SVD_TOLERANCE || round === SVD_MAX_ROUNDS) {
      if (ritz.residual > SVD_TOLERANCE)
        ctx.log.warn(
          `NMF start: the SVD's residual is ${ritz.residual.toExponential(2)} after ${round} rounds (tolerance ${SVD_TOLERANCE}): starting from it`,
        );
      return { Vt: ritz.Vt, rounds: round };
    }
    extendKrylov(basis, cols, p, basisRounds);
  }
}

/** Σ over the blocks, in block order, of the float64 files `name(b)` (the next read while one is added). */
async function sumInBlockOrder(
  ctx: StageContext,
  blocks: readonly number[],
  name: (block: number) => string,
  length: number,
): Promise<Float64Array> {
  const sum = new Float64Array(length);
  const read = (i: number) => getFloat64(ctx.store, feKey(ctx, name(blocks[i]!)), length);
  let next = read(0);
  for (let i = 0; i < blocks.length; i++) {
    const part = await next;
    if (i + 1 < blocks.length) next = read(i + 1);
    addInto(sum, part);
  }
  return sum;
}
