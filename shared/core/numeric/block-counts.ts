/**
 * Term counts of one block of documents, tokenized once: the block's own terms (sorted by code point)
 * with their document frequencies, for the merged vocabulary, and the block's counts over those terms,
 * which `countsOverVocabulary` then maps onto the merged vocabulary without tokenizing again.
 */
import { CsrMatrix } from './csr';
import { DocumentFrequencies } from './document-frequencies';
import { CountVectorizerOptions, IntBuf, compareCodePoints, documentAnalyzer } from './vectorizer';

/** A block's document frequencies, and its counts whose column c is `terms[c]`. */
export interface BlockCounts extends DocumentFrequencies {
  counts: CsrMatrix;
}

/**
 * Counts documents handed over one by one (a block's texts, as they stream: `add`), tokenized as the
 * vectorizers do with `opts`; `finish` gives the block's terms, frequencies and counts.
 */
export class BlockTermCounter {
  private readonly analyze: (doc: string, out: string[]) => void;
  private readonly ids = new Map<string, number>();
  private readonly seenTerms: string[] = [];
  private readonly indptr = new IntBuf();
  private readonly cols = new IntBuf();
  private readonly counts = new IntBuf();
  private readonly toks: string[] = [];
  private rowIds = new Int32Array(256);

  constructor(opts?: CountVectorizerOptions) {
    this.analyze = documentAnalyzer(opts);
    this.indptr.push(0);
  }

  add(doc: string): void {
    const { toks } = this;
    this.analyze(doc, toks);
    if (this.rowIds.length < toks.length) this.rowIds = new Int32Array(toks.length * 2);
    for (let t = 0; t < toks.length; t++) {
      const tok = toks[t]!;
      let id = this.ids.get(tok);
      if (id === undefined) {
        id = this.seenTerms.length;
        this.ids.set(tok, id);
        this.seenTerms.push(tok);
      }
      this.rowIds[t] = id;
    }
    const sorted = this.rowIds.subarray(0, toks.length).sort();
    for (let t = 0; t < sorted.length;) {
      const id = sorted[t]!;
      let e = t + 1;
      while (e < sorted.length && sorted[e] === id) e++;
      this.cols.push(id);
      this.counts.push(e - t);
      t = e;
    }
    this.indptr.push(this.cols.n);
  }

  finish(): BlockCounts {
    const { seenTerms, indptr, cols, counts } = this;
    // Renumber the terms in code-point order (the vocabulary's) and re-sort each row by the new numbers.
    const order = Array.from(seenTerms.keys()).sort((a, b) =>
      compareCodePoints(seenTerms[a]!, seenTerms[b]!),
    );
    const rank = new Int32Array(order.length);
    order.forEach((id, r) => (rank[id] = r));
    const rows = indptr.n - 1;
    if (order.length >= 2 ** 26)
      throw new RangeError(`${rows} documents hold ${order.length} distinct terms, more than a block may`);
    const nnz = cols.n;
    const indices = new Int32Array(nnz);
    const data = new Float64Array(nnz);
    const df = new Array<number>(order.length).fill(0);
    // A count and its column packed in one float (both < 2^26), so a typed sort orders a row by column.
    const packed = new Float64Array(nnz);
    for (let p = 0; p < nnz; p++) packed[p] = rank[cols.a[p]!]! * 2 ** 26 + counts.a[p]!;
    for (let i = 0; i < rows; i++) {
      const a = indptr.a[i]!;
      const b = indptr.a[i + 1]!;
      const row = packed.subarray(a, b).sort();
      for (let p = 0; p < row.length; p++) {
        const v = row[p]!;
        const col = Math.floor(v / 2 ** 26);
        indices[a + p] = col;
        data[a + p] = v - col * 2 ** 26;
        df[col]!++;
      }
    }
    return {
      docs: rows,
      terms: order.map((id) => seenTerms[id]!),
      df,
      counts: { rows, cols: order.length, indptr: indptr.a.slice(0, rows + 1), indices, data },
    };
  }
}

/**
 * A block's counts (columns: its sorted `terms`) over the sorted `vocabulary`: terms outside it dropped,
 * each row's columns still increasing (both lists are in code-point order). What transformCounts gives
 * for the block's documents and that vocabulary.
 */
export function countsOverVocabulary(
  counts: CsrMatrix,
  terms: readonly string[],
  vocabulary: readonly string[],
): CsrMatrix {
  return remapColumns(counts, counts.data, columnsIn(terms, vocabulary), vocabulary.length);
}

/** Each of the sorted `terms`' column in the sorted `vocabulary` (−1 when absent): one walk over both. */
export function columnsIn(terms: readonly string[], vocabulary: readonly string[]): Int32Array {
  const column = new Int32Array(terms.length).fill(-1);
  for (let i = 0, j = 0; i < terms.length && j < vocabulary.length;) {
    const c = compareCodePoints(terms[i]!, vocabulary[j]!);
    if (c === 0) column[i++] = j++;
    else if (c < 0) i++;
    else j++;
  }
  return column;
}

/**
 * Rows (`indptr`, `indices` and their `values`) with each column c replaced by `column[c]`, the columns
 * mapped to −1 left out: a matrix of `cols` columns, each row's columns increasing when `column` is.
 */
export function remapColumns(
  m: { rows: number; indptr: Int32Array; indices: Int32Array },
  values: ArrayLike<number>,
  column: Int32Array,
  cols: number,
): CsrMatrix {
  const indptr = new Int32Array(m.rows + 1);
  const nnzIn = m.indptr[m.rows]!;
  let kept = 0;
  for (let p = 0; p < nnzIn; p++) if (column[m.indices[p]!]! >= 0) kept++;
  const indices = new Int32Array(kept);
  const data = new Float64Array(kept);
  let q = 0;
  for (let i = 0; i < m.rows; i++) {
    for (let p = m.indptr[i]!; p < m.indptr[i + 1]!; p++) {
      const col = column[m.indices[p]!]!;
      if (col < 0) continue;
      indices[q] = col;
      data[q++] = values[p]!;
    }
    indptr[i + 1] = q;
  }
  return { rows: m.rows, cols, indptr, indices, data };
}
