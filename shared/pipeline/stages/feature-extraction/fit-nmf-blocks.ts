import { cdSweep } from '../../../core/numeric/nmf';
import { addInto, nndsvdaStart, NndsvdaStart } from '../../../core/numeric/nmf-blocks';
import { BlockMapper } from '../blocks/block-mapper';
import { StageContext } from '../context';
import { feFiles, feKey, getFloat64, putFloat64 } from './block-files';
import { NMF_INIT_TASK, NMF_PROJECT_TASK, NMF_WHOLE_TASK, NMF_W_TASK, SVD_STEP_TASK } from './nmf-tasks';
import { orthonormalizeColumns, ritzVectors, svdStart } from '../../../core/numeric/block-svd';

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
/** Rounds after which the subspace iteration stops, converged or not (it is only NMF's start). */
export const SVD_MAX_ROUNDS = 100;
/**
 * Extra basis vectors of the subspace iteration: with 5 (k = 3) the dev data takes 17 rounds, with 10
 * 14 rounds at 13/8 of the work per round.
 */
const SVD_OVERSAMPLES = 5;

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
 * Jobs a round for a deployment that can run `parallelism` tasks at once: two each (so one slow job does
 * not hold the round while the other worker idles), at most MAX_JOBS_PER_ROUND. On 2 workers at 10× the
 * dev data, 4 jobs a round instead of 8 took NMF from 3.9–4.0 s to 3.15 s.
 */
export function jobsPerRound(parallelism: number | undefined): number {
  if (parallelism === undefined) return MAX_JOBS_PER_ROUND;
  return Math.max(1, Math.min(MAX_JOBS_PER_ROUND, 2 * parallelism));
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

/**
 * fitNmf (nmf.ts: sklearn's coordinate descent from NNDSVDa) over X's blocks (`tfidf-<b>` files): whole
 * in one task for a small corpus; otherwise per iteration one map of the W sweep over the blocks, then here, over the summed partial sums (in block
 * order), the Hᵀ sweep and sklearn's stopping rule. Only the files of the last two iterations are kept.
 */
export async function fitNmfOverBlocks(
  ctx: StageContext,
  mapper: BlockMapper,
  blocks: readonly number[],
  rows: number,
  cols: number,
  mean: number,
  limits: { singleTaskNmfRows: number; singleTaskInitRows: number; maxJobsPerRound: number },
): Promise<BlockNmfResult> {
  const { params, store } = ctx;
  const k = params.topics;
  const groups = groupBlocks(blocks, limits.maxJobsPerRound);
  if (rows <= limits.singleTaskNmfRows) {
    const [whole] = await mapper.map(NMF_WHOLE_TASK, [{ blocks: [...blocks] }]);
    const Ht = await getFloat64(store, feKey(ctx, feFiles.ht(whole!.nIter + 1)), cols * k);
    return { nIter: whole!.nIter, Ht, reconstructionError: whole!.reconstructionError, svdRounds: 0 };
  }
  let Ht: Float64Array;
  let start: Omit<NndsvdaStart, 'Ht'> | undefined;
  let svdRounds = 0;
  if (rows <= limits.singleTaskInitRows) {
    await mapper.map(NMF_INIT_TASK, [{ blocks: [...blocks] }]);
    Ht = (await getFloat64(store, feKey(ctx, feFiles.ht(1)), cols * k)).slice();
  } else {
    const svd = await blockSvd(ctx, mapper, groups, rows, cols);
    svdRounds = svd.rounds;
    await putFloat64(store, feKey(ctx, feFiles.initVt), svd.Vt);
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

  const WtW = new Float64Array(k * k);
  let violationInit = 0;
  let it = 1;
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
    // Iteration i − 1's W (read by iteration i's tasks, all done) and its sums are no longer needed.
    await store.removePrefix(feKey(ctx, feFiles.iteration(iteration - 1)));
    if (iteration === 1) violationInit = violation;
    if (violationInit === 0) break;
    if (violation / violationInit <= params.nmfTol) break;
  }
  return { nIter: Math.min(it, params.nmfMaxIter), Ht, WtW, svdRounds };
}

/** X's top-k right singular vectors (cols × k) by subspace iteration, one map over the blocks a round. */
async function blockSvd(
  ctx: StageContext,
  mapper: BlockMapper,
  groups: readonly number[][],
  rows: number,
  cols: number,
): Promise<{ Vt: Float64Array; rounds: number }> {
  const blocks = groups.flat();
  const { store } = ctx;
  const k = ctx.params.topics;
  const p = Math.min(k + SVD_OVERSAMPLES, cols, rows);
  let Z = svdStart(cols, p);
  for (let round = 1; ; round++) {
    ctx.signal?.throwIfAborted();
    await putFloat64(store, feKey(ctx, feFiles.svdZ(round)), Z);
    await mapper.map(
      SVD_STEP_TASK,
      groups.map((group) => ({ blocks: group, round, p })),
    );
    const P = await sumInBlockOrder(ctx, blocks, (b) => feFiles.svdXtXZ(round, b), cols * p);
    await store.removePrefix(feKey(ctx, feFiles.svdRound(round)));
    const ritz = ritzVectors(Z, P, cols, p, k);
    if (ritz.residual <= SVD_TOLERANCE || round === SVD_MAX_ROUNDS) {
      if (ritz.residual > SVD_TOLERANCE)
        ctx.log.warn(
          `NMF start: the SVD's residual is ${ritz.residual.toExponential(2)} after ${round} rounds (tolerance ${SVD_TOLERANCE}): starting from it`,
        );
      return { Vt: ritz.Vt, rounds: round };
    }
    orthonormalizeColumns(P, cols, p);
    Z = P;
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
