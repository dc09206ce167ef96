/**
 * X·W and Xᵀ·R over a CSR matrix's rows, a block at a time, in WebAssembly (csr-kernels.wat): what an
 * L-BFGS objective computes at every evaluation. The kernels make the same sums in the same order as
 * sparse-kernels.ts (spmm, and spmmTransposed's scatter over the rows), so the results have the same bits;
 * they run about twice as fast as V8's code for those loops (1.1M rows, K = 3: 124 → 67 ms a product).
 *
 * A matrix of at most RESIDENT_MAX_BYTES is copied into the module's memory once and stays there: every
 * pass then only runs the kernels. A larger one is copied a block at a time on every pass, each block's
 * rows overwriting the last's: the memory holds one block (at most BLOCK_ENTRIES non-zeros, 12 bytes
 * each), W, the gradient and the block's scores, whatever the matrix's size. That copy cost more than the
 * products (refit at 1.6M tickets: 8.7 s of copying, 7.1 s of products over 100 iterations), so the
 * copies are kept for matrices too large to hold twice.
 */
import { CsrMatrix } from '../csr-matrix';
import { MAX_PAGES, PAGE_BYTES, instantiateKernels, productKernel } from './kernels';

/** Rows of a block at most: its scores (rows × K) stay in the caches while the caller turns them into residuals. */
export const BLOCK_ROWS = 16_384;
/** Non-zeros of a block at most (a longer row gets a block of its own, sized for it). */
export const BLOCK_ENTRIES = 1 << 20;
/**
 * Bytes (12 a non-zero) of a matrix held in the module's memory for all passes at most: ~43M non-zeros,
 * the refit's rows of 1.6M tickets (23M) with room. A process then holds its rows twice (its own arrays
 * and this copy); a larger matrix is copied a block at a time instead, as category mode's must be to
 * stay within its memory bound (docs/scaling.md).
 */
export const RESIDENT_MAX_BYTES = 512 << 20;

export interface RowBlockProducts {
  /**
   * One pass over the rows in order. For each block of rows [r0, r1): `scores` = X[r0:r1]·W (a view of
   * (r1 − r0) × K numbers, row-major), which `visit` may change in place (into residuals); then
   * g += X[r0:r1]ᵀ·scores. `w` and `g` are cols × K, row-major (only their first cols·K entries are used);
   * `g` is overwritten with the sum over all blocks, each entry summed over the rows in ascending order.
   */
  pass(w: Float64Array, g: Float64Array, visit: (scores: Float64Array, r0: number, r1: number) => void): void;
}

/** The products of `X` with dense matrices of K columns; its memory is sized once, here. */
export function rowBlockProducts(
  X: CsrMatrix,
  K: number,
  limits: { blockRows?: number; blockEntries?: number; resident?: boolean } = {},
): RowBlockProducts {
  if (!Number.isInteger(K) || K < 1) throw new RangeError(`K must be a positive integer, got ${K}`);
  const { rows, cols, indptr, indices, data } = X;
  const nnz = indptr[rows]!;
  const resident = limits.resident ?? 12 * nnz + 4 * (rows + 1) <= RESIDENT_MAX_BYTES;
  const blockRows = Math.max(1, Math.min(limits.blockRows ?? BLOCK_ROWS, Math.max(rows, 1)));
  let longest = 0;
  for (let i = 0; i < rows; i++) longest = Math.max(longest, indptr[i + 1]! - indptr[i]!);
  const capacity = resident
    ? Math.max(1, nnz)
    : Math.max(1, longest, Math.min(limits.blockEntries ?? BLOCK_ENTRIES, nnz));
  // The blocks' first rows, and `rows` last: the same for every pass.
  const starts = [0];
  for (let r0 = 0; r0 < rows;) {
    let r1 = r0 + 1;
    while (r1 < rows && r1 - r0 < blockRows && indptr[r1 + 1]! - indptr[r0]! <= capacity) r1++;
    starts.push(r1);
    r0 = r1;
  }

  // The memory's layout, every part at a multiple of 8 bytes.
  let end = 0;
  const place = (bytes: number): number => {
    const at = end;
    end += Math.ceil(bytes / 8) * 8;
    return at;
  };
  const wAt = place(cols * K * 8);
  const gAt = place(cols * K * 8);
  const scoresAt = place(blockRows * K * 8);
  const indptrAt = place(((resident ? rows : blockRows) + 1) * 4);
  const indicesAt = place(capacity * 4);
  const dataAt = place(capacity * 8);
  const pages = Math.ceil(Math.max(end, 1) / PAGE_BYTES);
  if (pages > MAX_PAGES) {
    throw new RangeError(
      `rowBlockProducts: ${cols} columns × ${K} need ${end} bytes, more than WebAssembly's 4 GiB`,
    );
  }
  const { memory, kernels } = instantiateKernels(pages);
  const buffer = memory.buffer;
  const wIn = new Float64Array(buffer, wAt, cols * K);
  const gOut = new Float64Array(buffer, gAt, cols * K);
  const blockIndptr = new Int32Array(buffer, indptrAt, (resident ? rows : blockRows) + 1);
  const blockIndices = new Int32Array(buffer, indicesAt, capacity);
  const blockData = new Float64Array(buffer, dataAt, capacity);
  if (resident) {
    // Row pointers into the whole matrix: a block's kernels start at its first row's (`ip` below).
    blockIndptr.set(indptr.subarray(0, rows + 1));
    blockIndices.set(indices.subarray(0, nnz));
    blockData.set(data.subarray(0, nnz));
  }
  // scores = block·W and gOut += blockᵀ·scores, unrolled for K = 1, 3 and 4 (productKernel); `ip` is where
  // the block's row pointers are in the memory.
  const times = productKernel(kernels, K, false);
  const timesT = productKernel(kernels, K, true);
  const forward = (ip: number, n: number) => times(ip, indicesAt, dataAt, wAt, scoresAt, n);
  const backward = (ip: number, n: number) => timesT(ip, indicesAt, dataAt, scoresAt, gAt, n);

  return {
    pass(w, g, visit) {
      if (w.length < cols * K || g.length < cols * K) {
        throw new RangeError(
          `rowBlockProducts: w and g need ${cols}×${K} entries, got ${w.length} and ${g.length}`,
        );
      }
      wIn.set(w.subarray(0, cols * K));
      gOut.fill(0);
      for (let b = 0; b + 1 < starts.length; b++) {
        const r0 = starts[b]!;
        const r1 = starts[b + 1]!;
        const n = r1 - r0;
        let ip = indptrAt + 4 * r0;
        if (!resident) {
          const p0 = indptr[r0]!;
          const p1 = indptr[r1]!;
          for (let i = 0; i <= n; i++) blockIndptr[i] = indptr[r0 + i]! - p0;
          blockIndices.set(indices.subarray(p0, p1));
          blockData.set(data.subarray(p0, p1));
          ip = indptrAt;
        }
        forward(ip, n);
        visit(new Float64Array(buffer, scoresAt, n * K), r0, r1);
        backward(ip, n);
      }
      g.set(gOut);
    },
  };
}
