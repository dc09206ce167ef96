import { CsrMatrix } from './csr-matrix';
import { spmm, spmmTransposed } from './sparse-kernels';

// The type lives apart so the kernels can name it without importing this file (which imports them).
export type { CsrMatrix, CsrValues } from './csr-matrix';

/** Throws RangeError when `m` breaks the structural invariants of a CSR matrix. */
export function assertCsr(m: CsrMatrix, what = 'matrix'): void {
  if (!Number.isInteger(m.rows) || m.rows < 0 || !Number.isInteger(m.cols) || m.cols < 0) {
    throw new RangeError(`${what}: rows and cols must be non-negative integers, got ${m.rows}×${m.cols}`);
  }
  if (m.indptr.length !== m.rows + 1) {
    throw new RangeError(`${what}: indptr has length ${m.indptr.length}, expected rows+1 = ${m.rows + 1}`);
  }
  const nnz = m.indptr[m.rows]!;
  if (m.indptr[0] !== 0 || nnz > m.indices.length || nnz > m.data.length) {
    throw new RangeError(`${what}: indptr must start at 0 and end at nnz <= indices/data length`);
  }
  for (let i = 0; i < m.rows; i++) {
    if (m.indptr[i + 1]! < m.indptr[i]!) throw new RangeError(`${what}: indptr decreases at row ${i}`);
  }
  for (let p = 0; p < nnz; p++) {
    const j = m.indices[p]!;
    if (j < 0 || j >= m.cols)
      throw new RangeError(`${what}: column index ${j} at position ${p} is outside [0, ${m.cols})`);
  }
}

/** Number of stored entries. */
export function nnz(m: CsrMatrix): number {
  return m.indptr[m.rows]!;
}

/** Builds a CSR matrix from a dense row-major array (or array of rows), dropping exact zeros. */
export function csrFromDense(
  dense: readonly (readonly number[])[] | Float64Array,
  rows?: number,
  cols?: number,
): CsrMatrix {
  let r: number;
  let c: number;
  let get: (i: number, j: number) => number;
  if (dense instanceof Float64Array) {
    if (rows === undefined || cols === undefined)
      throw new RangeError('csrFromDense: rows and cols are required for a flat array');
    if (dense.length !== rows * cols)
      throw new RangeError(`csrFromDense: flat array has ${dense.length} values, expected ${rows}×${cols}`);
    r = rows;
    c = cols;
    get = (i, j) => dense[i * cols + j]!;
  } else {
    r = dense.length;
    c = cols ?? (r > 0 ? dense[0]!.length : 0);
    for (let i = 0; i < r; i++) {
      if (dense[i]!.length !== c)
        throw new RangeError(`csrFromDense: row ${i} has ${dense[i]!.length} values, expected ${c}`);
    }
    get = (i, j) => dense[i]![j]!;
  }
  let count = 0;
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) if (get(i, j) !== 0) count++;
  const indptr = new Int32Array(r + 1);
  const indices = new Int32Array(count);
  const data = new Float64Array(count);
  let p = 0;
  for (let i = 0; i < r; i++) {
    for (let j = 0; j < c; j++) {
      const v = get(i, j);
      if (v !== 0) {
        indices[p] = j;
        data[p] = v;
        p++;
      }
    }
    indptr[i + 1] = p;
  }
  return { rows: r, cols: c, indptr, indices, data };
}

/** Dense row-major copy (rows × cols); meant for tests and small matrices. */
export function toDense(m: CsrMatrix): Float64Array {
  const out = new Float64Array(m.rows * m.cols);
  for (let i = 0; i < m.rows; i++) {
    for (let p = m.indptr[i]!; p < m.indptr[i + 1]!; p++) out[i * m.cols + m.indices[p]!]! += m.data[p]!;
  }
  return out;
}

/** New matrix made of the given rows, in the given order (repeats allowed). */
export function selectRows(m: CsrMatrix, rowIdx: Int32Array | readonly number[]): CsrMatrix {
  let total = 0;
  for (let k = 0; k < rowIdx.length; k++) {
    const i = rowIdx[k]!;
    if (!Number.isInteger(i) || i < 0 || i >= m.rows) {
      throw new RangeError(`selectRows: row index ${i} at position ${k} is outside [0, ${m.rows})`);
    }
    total += m.indptr[i + 1]! - m.indptr[i]!;
  }
  const indptr = new Int32Array(rowIdx.length + 1);
  const indices = new Int32Array(total);
  const data = new Float64Array(total);
  let p = 0;
  for (let k = 0; k < rowIdx.length; k++) {
    const i = rowIdx[k]!;
    const a = m.indptr[i]!;
    const b = m.indptr[i + 1]!;
    indices.set(m.indices.subarray(a, b), p);
    data.set(m.data.subarray(a, b), p);
    p += b - a;
    indptr[k + 1] = p;
  }
  return { rows: rowIdx.length, cols: m.cols, indptr, indices, data };
}

/** Transpose (equivalently: the CSC form of `m` read as CSR). Column indices stay sorted per row. */
export function transpose(m: CsrMatrix): CsrMatrix {
  const count = nnz(m);
  const indptr = new Int32Array(m.cols + 1);
  for (let p = 0; p < count; p++) indptr[m.indices[p]! + 1]!++;
  for (let j = 0; j < m.cols; j++) indptr[j + 1]! += indptr[j]!;
  const next = indptr.slice(0, m.cols);
  const indices = new Int32Array(count);
  const data = new Float64Array(count);
  for (let i = 0; i < m.rows; i++) {
    for (let p = m.indptr[i]!; p < m.indptr[i + 1]!; p++) {
      const q = next[m.indices[p]!]!++;
      indices[q] = i;
      data[q] = m.data[p]!;
    }
  }
  return { rows: m.cols, cols: m.rows, indptr, indices, data };
}

/** Mean over all rows×cols entries (implicit zeros included), like scipy's `X.mean()`. */
export function csrMean(m: CsrMatrix): number {
  let s = 0;
  const count = nnz(m);
  for (let p = 0; p < count; p++) s += m.data[p]!;
  return s / (m.rows * m.cols);
}

/** Sum of squares of the stored values (squared Frobenius norm). */
export function csrSquaredNorm(m: CsrMatrix): number {
  let s = 0;
  const count = nnz(m);
  for (let p = 0; p < count; p++) s += m.data[p]! * m.data[p]!;
  return s;
}

/** out (rows × k, row-major) = m · B where B is cols × k row-major. Accumulates in CSR order like scipy. */
export function csrTimesDense(m: CsrMatrix, B: Float64Array, k: number, out?: Float64Array): Float64Array {
  const res = out ?? new Float64Array(m.rows * k);
  spmm(m, B, k, res);
  return res;
}

/** out (cols × k, row-major) = mᵀ · A where A is rows × k row-major, scattered (spmmTransposed). */
export function csrTransposeTimesDense(
  m: CsrMatrix,
  A: Float64Array,
  k: number,
  out?: Float64Array,
): Float64Array {
  const res = out ?? new Float64Array(m.cols * k);
  spmmTransposed(m, A, k, res);
  return res;
}
