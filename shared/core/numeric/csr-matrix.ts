/**
 * Compressed sparse row matrices on typed arrays, the common currency of the numeric core.
 *
 * Invariants (checked by `assertCsr`): indptr has rows+1 non-decreasing entries starting at 0 and
 * ending at nnz; every index is in [0, cols). Producers in this folder also keep the column indices
 * of each row strictly increasing (no duplicates), and some consumers rely on that.
 */
export interface CsrMatrix<V extends CsrValues | Uint8Array = Float64Array> {
  rows: number;
  cols: number;
  /** rows+1 offsets into indices/data. */
  indptr: Int32Array;
  indices: Int32Array;
  data: V;
}

/**
 * A matrix's stored values: double by default; single precision where a solver streams a large matrix
 * many times and holds it whole (dual-logistic.ts), which halves the values' memory.
 */
export type CsrValues = Float64Array | Float32Array;
