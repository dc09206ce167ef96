/**
 * Sparse × dense kernels shared by the solvers: dst[i·K + c] = Σ_p data[p] · src[indices[p]·K + c]
 * over the stored entries p of row i, for every row of a CSR matrix. Applied to Xᵀ (built once by
 * csr.transpose) the same kernel computes Xᵀ·A as a gather, which sums in the same order as scipy's
 * CSC scatter (rows ascending) and avoids write conflicts.
 *
 * V8 keeps K accumulators in registers only when K is a literal, so K = 1..6 have unrolled versions
 * (roughly 2.5× faster than the generic loop); larger K use the generic loop.
 *
 * spmm and spmmTransposed run a matrix of STREAMED_FROM_NNZ non-zeros or more in WebAssembly
 * (wasm/streamed-products.ts: the same sums in the same order, the same bits, about twice as fast) when
 * it has at least as many non-zeros as the dense side has numbers (cols × K, copied in or out whole); the
 * loops here (spmmScalar, spmmTransposedScalar) run the others, whose copies into WebAssembly's memory
 * would cost more than they save (a few tickets scored against a model of a million n-grams), and K = 2
 * in spmm, where V8's unrolled loop is the faster.
 */
import { CsrMatrix } from './csr-matrix';
import { isPinned, streamedSpmm, streamedSpmmTransposed } from './wasm/streamed-products';

/** Non-zeros from which spmm and spmmTransposed run in WebAssembly. */
export const STREAMED_FROM_NNZ = 4_096;

function spmm1(
  indptr: Int32Array,
  indices: Int32Array,
  data: Float64Array,
  src: Float64Array,
  dst: Float64Array,
  rows: number,
): void {
  for (let i = 0; i < rows; i++) {
    let r0 = 0;
    const end = indptr[i + 1]!;
    for (let p = indptr[i]!; p < end; p++) {
      const v = data[p]!;
      const b = indices[p]! * 1;
      r0 += v * src[b]!;
    }
    const o = i * 1;
    dst[o] = r0;
  }
}

function spmm2(
  indptr: Int32Array,
  indices: Int32Array,
  data: Float64Array,
  src: Float64Array,
  dst: Float64Array,
  rows: number,
): void {
  for (let i = 0; i < rows; i++) {
    let r0 = 0,
      r1 = 0;
    const end = indptr[i + 1]!;
    for (let p = indptr[i]!; p < end; p++) {
      const v = data[p]!;
      const b = indices[p]! * 2;
      r0 += v * src[b]!;
      r1 += v * src[b + 1]!;
    }
    const o = i * 2;
    dst[o] = r0;
    dst[o + 1] = r1;
  }
}

function spmm3(
  indptr: Int32Array,
  indices: Int32Array,
  data: Float64Array,
  src: Float64Array,
  dst: Float64Array,
  rows: number,
): void {
  for (let i = 0; i < rows; i++) {
    let r0 = 0,
      r1 = 0,
      r2 = 0;
    const end = indptr[i + 1]!;
    for (let p = indptr[i]!; p < end; p++) {
      const v = data[p]!;
      const b = indices[p]! * 3;
      r0 += v * src[b]!;
      r1 += v * src[b + 1]!;
      r2 += v * src[b + 2]!;
    }
    const o = i * 3;
    dst[o] = r0;
    dst[o + 1] = r1;
    dst[o + 2] = r2;
  }
}

function spmm4(
  indptr: Int32Array,
  indices: Int32Array,
  data: Float64Array,
  src: Float64Array,
  dst: Float64Array,
  rows: number,
): void {
  for (let i = 0; i < rows; i++) {
    let r0 = 0,
      r1 = 0,
      r2 = 0,
      r3 = 0;
    const end = indptr[i + 1]!;
    for (let p = indptr[i]!; p < end; p++) {
      const v = data[p]!;
      const b = indices[p]! * 4;
      r0 += v * src[b]!;
      r1 += v * src[b + 1]!;
      r2 += v * src[b + 2]!;
      r3 += v * src[b + 3]!;
    }
    const o = i * 4;
    dst[o] = r0;
    dst[o + 1] = r1;
    dst[o + 2] = r2;
    dst[o + 3] = r3;
  }
}

function spmm5(
  indptr: Int32Array,
  indices: Int32Array,
  data: Float64Array,
  src: Float64Array,
  dst: Float64Array,
  rows: number,
): void {
  for (let i = 0; i < rows; i++) {
    let r0 = 0,
      r1 = 0,
      r2 = 0,
      r3 = 0,
      r4 = 0;
    const end = indptr[i + 1]!;
    for (let p = indptr[i]!; p < end; p++) {
      const v = data[p]!;
      const b = indices[p]! * 5;
      r0 += v * src[b]!;
      r1 += v * src[b + 1]!;
      r2 += v * src[b + 2]!;
      r3 += v * src[b + 3]!;
      r4 += v * src[b + 4]!;
    }
    const o = i * 5;
    dst[o] = r0;
    dst[o + 1] = r1;
    dst[o + 2] = r2;
    dst[o + 3] = r3;
    dst[o + 4] = r4;
  }
}

function spmm6(
  indptr: Int32Array,
  indices: Int32Array,
  data: Float64Array,
  src: Float64Array,
  dst: Float64Array,
  rows: number,
): void {
  for (let i = 0; i < rows; i++) {
    let r0 = 0,
      r1 = 0,
      r2 = 0,
      r3 = 0,
      r4 = 0,
      r5 = 0;
    const end = indptr[i + 1]!;
    for (let p = indptr[i]!; p < end; p++) {
      const v = data[p]!;
      const b = indices[p]! * 6;
      r0 += v * src[b]!;
      r1 += v * src[b + 1]!;
      r2 += v * src[b + 2]!;
      r3 += v * src[b + 3]!;
      r4 += v * src[b + 4]!;
      r5 += v * src[b + 5]!;
    }
    const o = i * 6;
    dst[o] = r0;
    dst[o + 1] = r1;
    dst[o + 2] = r2;
    dst[o + 3] = r3;
    dst[o + 4] = r4;
    dst[o + 5] = r5;
  }
}

function spmmGeneric(
  indptr: Int32Array,
  indices: Int32Array,
  data: Float64Array,
  src: Float64Array,
  dst: Float64Array,
  rows: number,
  K: number,
): void {
  for (let i = 0; i < rows; i++) {
    const o = i * K;
    for (let c = 0; c < K; c++) dst[o + c] = 0;
    const end = indptr[i + 1]!;
    for (let p = indptr[i]!; p < end; p++) {
      const v = data[p]!;
      const b = indices[p]! * K;
      for (let c = 0; c < K; c++) dst[o + c]! += v * src[b + c]!;
    }
  }
}

/**
 * dst (m.rows × K, row-major) = m · src (m.cols × K, row-major). `dst` must have room for
 * m.rows·K values; it is overwritten. Accumulates each row in stored order, like scipy's csr_matvecs.
 */
export function spmm(m: CsrMatrix, src: Float64Array, K: number, dst: Float64Array): void {
  checkSpmm(m, src, K, dst);
  if (streams(m, K, false)) streamedSpmm(m, src, K, dst);
  else spmmScalar(m, src, K, dst);
}

/** Whether a product of `m` (or of mᵀ, `transposed`) with K columns runs in WebAssembly (see the top of this file). */
export function streams(m: CsrMatrix, K: number, transposed: boolean): boolean {
  if (isPinned(m, K)) return true;
  if (K === 2 && !transposed) return false;
  const nnz = m.indptr[m.rows]!;
  return nnz >= STREAMED_FROM_NNZ && nnz >= m.cols * K;
}

function checkSpmm(m: CsrMatrix, src: Float64Array, K: number, dst: Float64Array): void {
  if (src.length < m.cols * K || dst.length < m.rows * K) {
    throw new RangeError(
      `spmm: need src >= ${m.cols}×${K} and dst >= ${m.rows}×${K}, got ${src.length} and ${dst.length}`,
    );
  }
}

/** spmm in JavaScript loops, whatever the matrix's size. */
export function spmmScalar(m: CsrMatrix, src: Float64Array, K: number, dst: Float64Array): void {
  checkSpmm(m, src, K, dst);
  const { indptr, indices, data, rows } = m;
  switch (K) {
    case 1:
      return spmm1(indptr, indices, data, src, dst, rows);
    case 2:
      return spmm2(indptr, indices, data, src, dst, rows);
    case 3:
      return spmm3(indptr, indices, data, src, dst, rows);
    case 4:
      return spmm4(indptr, indices, data, src, dst, rows);
    case 5:
      return spmm5(indptr, indices, data, src, dst, rows);
    case 6:
      return spmm6(indptr, indices, data, src, dst, rows);
    default:
      return spmmGeneric(indptr, indices, data, src, dst, rows, K);
  }
}

/**
 * dst (m.cols × K, row-major) = mᵀ · src (m.rows × K, row-major), scattered over m's rows: no transpose
 * is built, and each entry of dst sums its terms over the rows in ascending order — the order of spmm
 * on transpose(m), so both give the same bits. The scatter reads src and m in order and writes into dst
 * (small: terms × K), where the gather over mᵀ reads src at random: once src outgrows the cache the
 * scatter is the faster (1.1M rows, K = 3: ~6×), below it the gather (~2×). `dst` is overwritten.
 */
export function spmmTransposed(m: CsrMatrix, src: Float64Array, K: number, dst: Float64Array): void {
  checkSpmmTransposed(m, src, K, dst);
  if (streams(m, K, true)) streamedSpmmTransposed(m, src, K, dst);
  else spmmTransposedScalar(m, src, K, dst);
}

function checkSpmmTransposed(m: CsrMatrix, src: Float64Array, K: number, dst: Float64Array): void {
  if (src.length < m.rows * K || dst.length < m.cols * K) {
    throw new RangeError(
      `spmmTransposed: need src >= ${m.rows}×${K} and dst >= ${m.cols}×${K}, got ${src.length} and ${dst.length}`,
    );
  }
}

/** spmmTransposed in JavaScript loops, whatever the matrix's size. */
export function spmmTransposedScalar(m: CsrMatrix, src: Float64Array, K: number, dst: Float64Array): void {
  checkSpmmTransposed(m, src, K, dst);
  const { indptr, indices, data, rows } = m;
  dst.fill(0, 0, m.cols * K);
  switch (K) {
    case 1:
      for (let i = 0; i < rows; i++) {
        const s0 = src[i]!;
        const end = indptr[i + 1]!;
        for (let p = indptr[i]!; p < end; p++) dst[indices[p]!]! += data[p]! * s0;
      }
      return;
    case 2:
      for (let i = 0; i < rows; i++) {
        const s0 = src[i * 2]!,
          s1 = src[i * 2 + 1]!;
        const end = indptr[i + 1]!;
        for (let p = indptr[i]!; p < end; p++) {
          const v = data[p]!;
          const o = indices[p]! * 2;
          dst[o]! += v * s0;
          dst[o + 1]! += v * s1;
        }
      }
      return;
    case 3:
      for (let i = 0; i < rows; i++) {
        const s0 = src[i * 3]!,
          s1 = src[i * 3 + 1]!,
          s2 = src[i * 3 + 2]!;
        const end = indptr[i + 1]!;
        for (let p = indptr[i]!; p < end; p++) {
          const v = data[p]!;
          const o = indices[p]! * 3;
          dst[o]! += v * s0;
          dst[o + 1]! += v * s1;
          dst[o + 2]! += v * s2;
        }
      }
      return;
    case 4:
      for (let i = 0; i < rows; i++) {
        const s0 = src[i * 4]!,
          s1 = src[i * 4 + 1]!,
          s2 = src[i * 4 + 2]!,
          s3 = src[i * 4 + 3]!;
        const end = indptr[i + 1]!;
        for (let p = indptr[i]!; p < end; p++) {
          const v = data[p]!;
          const o = indices[p]! * 4;
          dst[o]! += v * s0;
          dst[o + 1]! += v * s1;
          dst[o + 2]! += v * s2;
          dst[o + 3]! += v * s3;
        }
      }
      return;
    default:
      for (let i = 0; i < rows; i++) {
        const a = i * K;
        const end = indptr[i + 1]!;
        for (let p = indptr[i]!; p < end; p++) {
          const v = data[p]!;
          const o = indices[p]! * K;
          for (let c = 0; c < K; c++) dst[o + c]! += v * src[a + c]!;
        }
      }
  }
}
