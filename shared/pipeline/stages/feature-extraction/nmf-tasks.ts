import { CsrMatrix } from '../../../core/numeric/csr';
import { fitNmf, initializeNmf, transposeDense } from '../../../core/numeric/nmf';
import { NndsvdaStart, nmfBlockStep, nndsvdaBlockW, projectBlock } from '../../../core/numeric/nmf-blocks';
import { svdBlockStep } from '../../../core/numeric/block-svd';
import { BlockTaskContext, BlockTaskDef } from '../blocks/block-task';
import { FE_STAGE, feFiles, feKey, getFloat64, getMatrixCached, putFloat64 } from './block-files';

export interface NmfWholeOutput {
  nIter: number;
  reconstructionError: number;
}

/**
 * fitNmf itself on all of X's blocks in one task, for a corpus small enough that one iteration's map
 * round would cost more than its work: writes W's final value per block (`nmf/<nIter>/w-<b>`) and Hᵀ's
 * (`nmf/<nIter + 1>/ht`), as the block-wise iterations leave them.
 */
export const NMF_WHOLE_TASK: BlockTaskDef<{ blocks: number[] }, NmfWholeOutput> = {
  name: 'fe.nmf-whole',
  stage: FE_STAGE,
  writes: ({ blocks }, { nIter }) => [...blocks.map((b) => feFiles.w(nIter, b)), feFiles.ht(nIter + 1)],
  async run(ctx, { blocks }) {
    const { params } = ctx;
    const k = params.topics;
    const parts = await Promise.all(
      blocks.map((b) => getMatrixCached(ctx.store, feKey(ctx, feFiles.tfidf(b)))),
    );
    const X = stackRows(parts);
    const nmf = fitNmf(X, {
      nComponents: k,
      tol: params.nmfTol,
      maxIter: params.nmfMaxIter,
      randomState: params.nmfSeed,
    });
    await putBlocksOfW(ctx, blocks, parts, nmf.W, nmf.nIter, k);
    await putFloat64(ctx.store, feKey(ctx, feFiles.ht(nmf.nIter + 1)), transposeDense(nmf.H, k, X.cols));
    return { nIter: nmf.nIter, reconstructionError: nmf.reconstructionError };
  },
};

/** W (all blocks' rows) as one file per block, `nmf/<iteration>/w-<b>`. */
async function putBlocksOfW(
  ctx: BlockTaskContext,
  blocks: readonly number[],
  parts: readonly CsrMatrix[],
  W: Float64Array,
  iteration: number,
  k: number,
): Promise<void> {
  let first = 0;
  for (let i = 0; i < blocks.length; i++) {
    const rows = parts[i]!.rows;
    await putFloat64(
      ctx.store,
      feKey(ctx, feFiles.w(iteration, blocks[i]!)),
      W.subarray(first * k, (first + rows) * k),
    );
    first += rows;
  }
}

export interface NmfInitInput {
  /** all of X's blocks, in block order */
  blocks: number[];
}

/**
 * NMF's start (NNDSVDa) on all of X in one task: exactly fitNmf's initialisation (the Lanczos SVD of X),
 * written as W's start per block (`nmf/0/w-<b>`) and Hᵀ's (`nmf/1/ht`).
 */
export const NMF_INIT_TASK: BlockTaskDef<NmfInitInput, { rows: number }> = {
  name: 'fe.nmf-init',
  stage: FE_STAGE,
  writes: ({ blocks }) => [...blocks.map((b) => feFiles.w(0, b)), feFiles.ht(1)],
  async run(ctx, { blocks }) {
    const k = ctx.params.topics;
    const parts = await Promise.all(
      blocks.map((b) => getMatrixCached(ctx.store, feKey(ctx, feFiles.tfidf(b)))),
    );
    const X = stackRows(parts);
    const start = initializeNmf(X, { nComponents: k, randomState: ctx.params.nmfSeed });
    await putBlocksOfW(ctx, blocks, parts, start.W, 0, k);
    await putFloat64(ctx.store, feKey(ctx, feFiles.ht(1)), transposeDense(start.H, k, X.cols));
    return { rows: X.rows };
  },
};

/**
 * One round of the subspace iteration for X's top right singular vectors (block-svd.ts) over a run of
 * blocks, given the round's orthonormal basis Z (`svd/<r>/z`, cols × p): writes each block's X_bᵀX_bZ
 * (`svd/<r>/xtxz-<b>`).
 */
export const SVD_STEP_TASK: BlockTaskDef<{ blocks: number[]; round: number; p: number }, object> = {
  name: 'fe.svd-step',
  stage: FE_STAGE,
  writes: ({ blocks, round }) => blocks.map((b) => feFiles.svdXtXZ(round, b)),
  async run(ctx, { blocks, round, p }) {
    let Z: Float64Array | undefined;
    for (const block of blocks) {
      const X = await getMatrixCached(ctx.store, feKey(ctx, feFiles.tfidf(block)));
      Z ??= await getFloat64(ctx.store, feKey(ctx, feFiles.svdZ(round)), X.cols * p);
      await putFloat64(ctx.store, feKey(ctx, feFiles.svdXtXZ(round, block)), svdBlockStep(X, Z, p));
    }
    return {};
  },
};

export interface ProjectOutput {
  positive2: number[];
  negative2: number[];
}

/**
 * Each block's share, of a run of blocks, of ‖(X·v_t)₊‖² and ‖(X·v_t)₋‖² for X's top right singular
 * vectors v_t (`init/vt`).
 */
export const NMF_PROJECT_TASK: BlockTaskDef<{ blocks: number[] }, ProjectOutput[]> = {
  name: 'fe.nmf-project',
  stage: FE_STAGE,
  writes: () => [],
  async run(ctx, { blocks }) {
    const k = ctx.params.topics;
    const out: ProjectOutput[] = [];
    let Vt: Float64Array | undefined;
    for (const block of blocks) {
      const X = await getMatrixCached(ctx.store, feKey(ctx, feFiles.tfidf(block)));
      Vt ??= await getFloat64(ctx.store, feKey(ctx, feFiles.initVt), X.cols * k);
      const { positive2, negative2 } = projectBlock(X, Vt, k);
      out.push({ positive2, negative2 });
    }
    return out;
  },
};

export interface NmfWInput {
  /** a run of consecutive blocks */
  blocks: number[];
  iteration: number;
  /** at iteration 1 when the start was not written per block: how W's start follows from X_b·V */
  start?: Omit<NndsvdaStart, 'Ht'>;
}

export interface NmfWOutput {
  violation: number;
  /** W_bᵀW_b, k × k row-major */
  WtW: number[];
}

/**
 * One iteration's W sweep over each of a run of blocks given Hᵀ (`nmf/<i>/ht`), from W_b as the previous
 * iteration left it: writes W_b and X_bᵀW_b (`nmf/<i>/w-<b>`, `nmf/<i>/xtw-<b>`), returns each block's
 * violation and W_bᵀW_b, in block order.
 */
export const NMF_W_TASK: BlockTaskDef<NmfWInput, NmfWOutput[]> = {
  name: 'fe.nmf-w',
  stage: FE_STAGE,
  writes: ({ blocks, iteration }) =>
    blocks.flatMap((b) => [feFiles.w(iteration, b), feFiles.xtw(iteration, b)]),
  async run(ctx, { blocks, iteration, start }) {
    const k = ctx.params.topics;
    const out: NmfWOutput[] = [];
    let Ht: Float64Array | undefined;
    let Vt: Float64Array | undefined;
    for (const block of blocks) {
      const X = await getMatrixCached(ctx.store, feKey(ctx, feFiles.tfidf(block)));
      Ht ??= await getFloat64(ctx.store, feKey(ctx, feFiles.ht(iteration)), X.cols * k);
      let W: Float64Array;
      if (start !== undefined) {
        Vt ??= await getFloat64(ctx.store, feKey(ctx, feFiles.initVt), X.cols * k);
        W = nndsvdaBlockW(projectBlock(X, Vt, k).P, X.rows, k, start);
      } else {
        // A copy: the sweep updates it in place, and the store's buffer may be shared.
        W = (await getFloat64(ctx.store, feKey(ctx, feFiles.w(iteration - 1, block)), X.rows * k)).slice();
      }
      const step = nmfBlockStep(X, W, Ht, k);
      await Promise.all([
        putFloat64(ctx.store, feKey(ctx, feFiles.w(iteration, block)), W),
        putFloat64(ctx.store, feKey(ctx, feFiles.xtw(iteration, block)), step.XtW),
      ]);
      out.push({ violation: step.violation, WtW: Array.from(step.WtW) });
    }
    return out;
  },
};

/** The rows of `parts` one after another. */
export function stackRows(parts: readonly CsrMatrix[]): CsrMatrix {
  if (parts.length === 1) return parts[0]!;
  const rows = parts.reduce((s, m) => s + m.rows, 0);
  const nnz = parts.reduce((s, m) => s + m.indptr[m.rows]!, 0);
  const indptr = new Int32Array(rows + 1);
  const indices = new Int32Array(nnz);
  const data = new Float64Array(nnz);
  let r = 0;
  let at = 0;
  for (const m of parts) {
    const count = m.indptr[m.rows]!;
    for (let i = 1; i <= m.rows; i++) indptr[r + i] = at + m.indptr[i]!;
    indices.set(m.indices.subarray(0, count), at);
    data.set(m.data.subarray(0, count), at);
    r += m.rows;
    at += count;
  }
  return { rows, cols: parts[0]!.cols, indptr, indices, data };
}
