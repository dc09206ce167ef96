/**
 * TF-IDF rows held as their term counts: value x_ij = tf(c_ij) · idf_j / norm_i, each count in one byte
 * beside its int32 column. 5 bytes a non-zero, where single-precision CSR takes 8 and double 12: what a
 * solver that holds a large fit whole reads (dual-logistic.ts). The values are applyTfidf's to the bit
 * (countRowsBlock), computed where they are used.
 */
import { CsrMatrix } from './csr';
import { TfidfOptions, resolveTfidfOptions } from './vectorizer';

/** The largest count a row holds in its byte. */
export const MAX_COUNT8 = 255;

export interface CountRows {
  rows: number;
  cols: number;
  indptr: Int32Array;
  indices: Int32Array;
  /** each non-zero's count, 1 … MAX_COUNT8 */
  counts: Uint8Array;
  /** tf of a count c: c, or 1 + ln c with sublinear tf (tf[0] = 0) */
  tf: Float64Array;
  /** per column: its idf, or 1 without idf */
  idf: Float64Array;
  /** per row: what its tf·idf values are divided by (its l2 or l1 norm; 1 without a norm, or when 0) */
  norm: Float64Array;
}

/**
 * The TF-IDF rows of `counts` (integers 1 … MAX_COUNT8, as readCsrRows's `values: 'count8'` gives them),
 * with applyTfidf's settings: the norms computed exactly as applyTfidf computes them.
 */
export function tfidfCountRows(
  counts: CsrMatrix<Uint8Array>,
  idf: Float64Array,
  opts?: TfidfOptions,
): CountRows {
  const o = resolveTfidfOptions(opts);
  if (o.useIdf && idf.length !== counts.cols)
    throw new RangeError(`idf has length ${idf.length}, expected the matrix column count ${counts.cols}`);
  const tf = new Float64Array(MAX_COUNT8 + 1);
  for (let c = 1; c <= MAX_COUNT8; c++) tf[c] = o.sublinearTf ? Math.log(c) + 1 : c;
  const weights = o.useIdf ? idf : new Float64Array(counts.cols).fill(1);
  const { indptr, indices, data } = counts;
  const norm = new Float64Array(counts.rows).fill(1);
  if (o.norm !== null)
    for (let i = 0; i < counts.rows; i++) {
      let s = 0;
      for (let p = indptr[i]!; p < indptr[i + 1]!; p++) {
        // As applyTfidf: tf, then × idf (× 1 is exact), then the row's sum of squares or of magnitudes.
        const v = o.useIdf ? tf[data[p]!]! * weights[indices[p]!]! : tf[data[p]!]!;
        s += o.norm === 'l2' ? v * v : Math.abs(v);
      }
      if (s !== 0) norm[i] = o.norm === 'l2' ? Math.sqrt(s) : s;
    }
  return { rows: counts.rows, cols: counts.cols, indptr, indices, counts: data, tf, idf: weights, norm };
}

/** Rows [from, to) as a double-precision CSR matrix: applyTfidf's values for them, bit for bit. */
export function countRowsBlock(m: CountRows, from: number, to: number): CsrMatrix {
  const p0 = m.indptr[from]!;
  const p1 = m.indptr[to]!;
  const data = new Float64Array(p1 - p0);
  for (let i = from; i < to; i++)
    for (let p = m.indptr[i]!; p < m.indptr[i + 1]!; p++)
      data[p - p0] = (m.tf[m.counts[p]!]! * m.idf[m.indices[p]!]!) / m.norm[i]!;
  return {
    rows: to - from,
    cols: m.cols,
    indptr: m.indptr.subarray(from, to + 1).map((p) => p - p0),
    indices: m.indices.subarray(p0, p1),
    data,
  };
}

export function isCountRows(m: object): m is CountRows {
  return 'counts' in m;
}
