/**
 * Compressed sparse row matrices on typed arrays, the common currency of the numeric core.
 *
 * Invariants (checked by `assertCsr`): indptr has rows+1 non-decreasing entries starting at 0 and
 * ending at nnz; every index is in [0, cols). Producers in this folder also keep the column indices
 * of each row strictly increasing (no duplicates), and some consumers rely on that.
 */
export interface CsrMatrix {
  rows: number;
  cols: number;
  /** rows+1 offsets into indices/data. */
  indptr: Int32Array;
  indices: Int32Array;
  data: Float64Array;
}
