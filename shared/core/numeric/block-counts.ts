/**
 * Term counts of one block of documents, tokenized once: the block's own terms (sorted by code point)
 * with their document frequencies, for the merged vocabulary, and the block's counts over those terms,
 * which `countsOverVocabulary` then maps onto the merged vocabulary without tokenizing again.
 */
import { CsrMatrix } from './csr';
import { TermFrequencies } from './document-frequencies';
import { GramTable } from './gram-table';
import { WordTable } from './word-table';
import { TermList, positionsIn } from './term-list';
import {
  CountVectorizerOptions,
  IntBuf,
  compareCodePoints,
  documentAnalyzer,
  ngramBounds,
  wordRangeAnalyzer,
} from './vectorizer';

/** A block's document frequencies, and its counts whose column c is term c. */
export interface BlockCounts extends TermFrequencies {
  counts: CsrMatrix;
}

/** A block's rows counted in its own terms: column c is term c, each row's columns increasing. */
export interface OwnTermCounts {
  /** the block's distinct terms, in code-point order */
  terms: TermList;
  rows: number;
  indptr: Int32Array;
  indices: Int32Array;
  counts: Int32Array;
}

/**
 * Counts documents handed over one by one (a block's texts, as they stream: `add`), tokenized as the
 * vectorizers do with `opts`; `finish` gives the block's terms, frequencies and counts.
 *
 * Every n-gram seen is a node: a word's node, or its (n−1)-gram prefix's node followed by a word, found
 * in a GramTable by those two ids. So a text's words are looked up once each (by their characters in
 * the text, for the default token pattern: WordTable), and its n-grams by number, with no string built
 * per word or n-gram; the terms' bytes are made once, at the end, from their words' (a TermList). The
 * terms are put in code-point order by their words' ranks, position by position (a radix sort): an
 * n-gram is its words joined by spaces, and while no word holds a character ≤ U+0020, a shorter word
 * sorts before any word it begins and the space before any word character, so comparing two terms'
 * strings compares their words in turn. Should a word hold one (a custom token pattern), the strings
 * are sorted, and nodes of one string ("a b" as a word, and as "a" then "b") are one term.
 */
export class BlockTermCounter {
  /** a document's words as strings (any token pattern) */
  private readonly words: (doc: string, out: string[]) => void;
  /** a document's words as ranges of its (lowercased) text, for the default pattern; null otherwise */
  private readonly ranges: ((doc: string, bounds: IntBuf) => string) | null;
  private readonly minN: number;
  private readonly maxN: number;
  private readonly table = new WordTable();
  private readonly bounds = new IntBuf();
  /** per word, its 1-gram's node */
  private readonly wordNode = new IntBuf();
  private readonly grams = new GramTable();
  /** per node: its prefix's node (−1 for a word's), its last word, its words */
  private readonly prefix = new IntBuf();
  private readonly lastWord = new IntBuf();
  private readonly length = new IntBuf();
  /** some word holds a character ≤ U+0020 (the radix order does not hold) */
  private spaced = false;
  /** the node of every term occurrence, row after row */
  private readonly occurrences = new IntBuf();
  private readonly indptr = new IntBuf();
  private readonly toks: string[] = [];
  private rowWords = new Int32Array(256);

  constructor(opts?: CountVectorizerOptions) {
    [this.minN, this.maxN] = ngramBounds(opts);
    this.words = documentAnalyzer({ ...opts, ngramRange: [1, 1] });
    this.ranges = wordRangeAnalyzer(opts);
    this.indptr.push(0);
  }

  add(doc: string): void {
    const { occurrences, minN, maxN, grams } = this;
    const m = this.wordsOf(doc);
    const w = this.rowWords;
    // The same n-grams as the vectorizers' (all those of each n in [minN, maxN]), in another order.
    for (let i = 0; i < m; i++) {
      let node = this.wordNode.a[w[i]!]!;
      if (minN === 1) occurrences.push(node);
      const longest = Math.min(maxN, m - i);
      for (let n = 2; n <= longest; n++) {
        const word = w[i + n - 1]!;
        let next = grams.get(node, word);
        if (next < 0) {
          next = this.newNode(node, word, n);
          grams.add(node, word, next);
        }
        node = next;
        if (n >= minN) occurrences.push(node);
      }
    }
    this.indptr.push(occurrences.n);
  }

  /** The block's terms and its rows counted in them (once: the counter is spent). */
  finishCounts(): OwnTermCounts {
    const { terms: termList, column } = this.columns();
    const terms = termList.count;
    const rows = this.indptr.n - 1;
    const rowStart = this.indptr.a;
    const n = this.occurrences.n;
    const occ = this.occurrences.a;
    for (let p = 0; p < n; p++) occ[p] = column[occ[p]!]!;
    // Each row's columns in increasing order without sorting rows: the occurrences' rows grouped by
    // column (a stable counting sort), then each column's rows dealt back to them, columns in order.
    const colStart = new Int32Array(terms + 1);
    for (let p = 0; p < n; p++) colStart[occ[p]! + 1]!++;
    for (let c = 0; c < terms; c++) colStart[c + 1]! += colStart[c]!;
    const rowsByColumn = new Int32Array(n);
    const next = colStart.slice(0, terms);
    for (let d = 0; d < rows; d++)
      for (let p = rowStart[d]!; p < rowStart[d + 1]!; p++) rowsByColumn[next[occ[p]!]!++] = d;
    const fill = rowStart.slice(0, rows);
    for (let c = 0; c < terms; c++)
      for (let q = colStart[c]!; q < colStart[c + 1]!; q++) occ[fill[rowsByColumn[q]!]!++] = c;
    // Runs of one column within a row are its count.
    const indptr = new Int32Array(rows + 1);
    const indices = new Int32Array(n);
    const counts = new Int32Array(n);
    let q = 0;
    for (let d = 0; d < rows; d++) {
      const end = rowStart[d + 1]!;
      for (let p = rowStart[d]!; p < end;) {
        let e = p + 1;
        while (e < end && occ[e] === occ[p]) e++;
        indices[q] = occ[p]!;
        counts[q++] = e - p;
        p = e;
      }
      indptr[d + 1] = q;
    }
    return {
      terms: termList,
      rows,
      indptr,
      indices: indices.slice(0, q),
      counts: counts.slice(0, q),
    };
  }

  finish(): BlockCounts {
    const own = this.finishCounts();
    const df = documentFrequencies(own, own.terms.count, null);
    return {
      docs: own.rows,
      terms: own.terms,
      df,
      counts: {
        rows: own.rows,
        cols: own.terms.count,
        indptr: own.indptr,
        indices: own.indices,
        data: Float64Array.from(own.counts),
      },
    };
  }

  /** Puts the ids of `doc`'s words in rowWords; returns how many. */
  private wordsOf(doc: string): number {
    if (this.ranges !== null) {
      const text = this.ranges(doc, this.bounds);
      const m = this.bounds.n >> 1;
      if (this.rowWords.length < m) this.rowWords = new Int32Array(2 * m);
      const b = this.bounds.a;
      for (let i = 0; i < m; i++) this.rowWords[i] = this.wordId(text, b[2 * i]!, b[2 * i + 1]!);
      return m;
    }
    const { toks } = this;
    this.words(doc, toks);
    if (this.rowWords.length < toks.length) this.rowWords = new Int32Array(2 * toks.length);
    for (let i = 0; i < toks.length; i++) this.rowWords[i] = this.wordId(toks[i]!, 0, toks[i]!.length);
    return toks.length;
  }

  /** The id of the word `text` holds at [start, end); a new word gets its 1-gram's node. */
  private wordId(text: string, start: number, end: number): number {
    const known = this.table.words.length;
    const id = this.table.idOf(text, start, end);
    if (id < known) return id;
    this.wordNode.push(this.newNode(-1, id, 1));
    const word = this.table.words[id]!;
    for (let i = 0; i < word.length && !this.spaced; i++) if (word.charCodeAt(i) <= 0x20) this.spaced = true;
    return id;
  }

  private newNode(prefix: number, word: number, length: number): number {
    const node = this.prefix.n;
    this.prefix.push(prefix);
    this.lastWord.push(word);
    this.length.push(length);
    return node;
  }

  /** Each node's string (its words joined by spaces); a node's prefix is made before it. */
  private nodeStrings(): string[] {
    const out = new Array<string>(this.prefix.n);
    for (let node = 0; node < out.length; node++) {
      const p = this.prefix.a[node]!;
      const word = this.table.words[this.lastWord.a[node]!]!;
      out[node] = p < 0 ? word : `${out[p]!} ${word}`;
    }
    return out;
  }

  /**
   * The block's terms in code-point order, and each node's column among them (−1 for a node of fewer
   * than minN words).
   */
  private columns(): { terms: TermList; column: Int32Array } {
    const nodes = this.prefix.n;
    const column = new Int32Array(nodes).fill(-1);
    let order: Int32Array = Int32Array.from(this.termNodes());
    if (this.spaced) {
      // Two nodes may then have one string ("a b" as a word, and as "a" then "b"): one term, as the
      // vectorizers' string keys make it.
      const strings = this.nodeStrings();
      const sorted = Array.from(order).sort((a, b) => compareCodePoints(strings[a]!, strings[b]!));
      const terms: string[] = [];
      for (const node of sorted) {
        if (terms.length === 0 || terms[terms.length - 1] !== strings[node]) terms.push(strings[node]!);
        column[node] = terms.length - 1;
      }
      return { terms: TermList.of(terms), column };
    }
    order = this.radixOrder(order);
    order.forEach((node, c) => (column[node] = c));
    return { terms: this.termList(order), column };
  }

  /**
   * The terms of `order`'s nodes as a list, made from their words' UTF-8 bytes joined by spaces: each
   * word is encoded once, and no term's string is built.
   */
  private termList(order: Int32Array): TermList {
    // The words in id order: bytes to copy from, not a sorted list.
    const words = TermList.of(this.table.words);
    const wordStart = words.starts;
    const prefix = this.prefix.a;
    const lastWord = this.lastWord.a;
    // Each node's length in bytes; a node's prefix is made before it.
    const size = new Int32Array(this.prefix.n);
    for (let node = 0; node < size.length; node++) {
      const w = lastWord[node]!;
      const own = wordStart[w + 1]! - wordStart[w]!;
      size[node] = prefix[node]! < 0 ? own : size[prefix[node]!]! + 1 + own;
    }
    const starts = new Int32Array(order.length + 1);
    for (let k = 0; k < order.length; k++) starts[k + 1] = starts[k]! + size[order[k]!]!;
    const bytes = new Uint8Array(starts[order.length]!);
    // Each term from its last word back to its first.
    for (let k = 0; k < order.length; k++) {
      let end = starts[k + 1]!;
      for (let node = order[k]!; ;) {
        const w = lastWord[node]!;
        const from = wordStart[w]!;
        const to = wordStart[w + 1]!;
        end -= to - from;
        for (let p = from; p < to; p++) bytes[end + p - from] = words.bytes[p]!;
        node = prefix[node]!;
        if (node < 0) break;
        bytes[--end] = 0x20;
      }
    }
    return new TermList(starts, bytes);
  }

  /** The nodes of minN words or more. */
  private *termNodes(): Generator<number> {
    for (let node = 0; node < this.prefix.n; node++) if (this.length.a[node]! >= this.minN) yield node;
  }

  /** `order`'s nodes sorted by their words' ranks, position by position (no word holds a space). */
  private radixOrder(order: Int32Array): Int32Array {
    const nodes = this.prefix.n;
    const { maxN } = this;
    const rank = this.wordRanks();
    // Per node and word position, 1 + the word's rank; 0 past the node's last word (so it sorts first).
    const key = new Int32Array(nodes * maxN);
    for (let node = 0; node < nodes; node++) {
      const p = this.prefix.a[node]!;
      const len = this.length.a[node]!;
      if (p >= 0) key.copyWithin(node * maxN, p * maxN, p * maxN + len - 1);
      key[node * maxN + len - 1] = rank[this.lastWord.a[node]!]! + 1;
    }
    // Least significant position first, each pass a stable counting sort.
    let spare: Int32Array = new Int32Array(order.length);
    const start = new Int32Array(this.table.words.length + 2);
    for (let pos = maxN - 1; pos >= 0; pos--) {
      start.fill(0);
      for (const node of order) start[key[node * maxN + pos]! + 1]!++;
      for (let k = 1; k < start.length; k++) start[k]! += start[k - 1]!;
      for (const node of order) spare[start[key[node * maxN + pos]!]!++] = node;
      [order, spare] = [spare, order];
    }
    return order;
  }

  /** Per word, its rank in code-point order. */
  private wordRanks(): Int32Array {
    const { words } = this.table;
    // The engine's comparison orders by UTF-16 unit, which is code-point order unless a word holds a
    // surrogate.
    const byUnits = (a: number, b: number) => (words[a]! < words[b]! ? -1 : 1);
    const byCodePoints = (a: number, b: number) => compareCodePoints(words[a]!, words[b]!);
    const order = Array.from(words.keys()).sort(
      words.some((w) => SURROGATE.test(w)) ? byCodePoints : byUnits,
    );
    const rank = new Int32Array(words.length);
    order.forEach((id, r) => (rank[id] = r));
    return rank;
  }
}

const SURROGATE = /[\uD800-\uDFFF]/;

/** Per term (column) of `m`, the rows holding it, among those `mask` marks (every row when null). */
export function documentFrequencies(
  m: { rows: number; indptr: Int32Array; indices: Int32Array },
  terms: number,
  mask: Uint8Array | null,
): Int32Array {
  const df = new Int32Array(terms);
  for (let r = 0; r < m.rows; r++) {
    if (mask !== null && mask[r] !== 1) continue;
    for (let p = m.indptr[r]!; p < m.indptr[r + 1]!; p++) df[m.indices[p]!]!++;
  }
  return df;
}

/**
 * A block's counts (columns: its sorted `terms`) over the sorted `vocabulary`: terms outside it dropped,
 * each row's columns still increasing (both lists are in code-point order). What transformCounts gives
 * for the block's documents and that vocabulary.
 */
export function countsOverVocabulary(counts: CsrMatrix, terms: TermList, vocabulary: TermList): CsrMatrix {
  return remapColumns(counts, counts.data, positionsIn(terms, vocabulary), vocabulary.count);
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
