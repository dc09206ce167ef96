/**
 * Bag-of-words counting and TF-IDF weighting with scikit-learn 1.2.1 semantics
 * (sklearn.feature_extraction.text: CountVectorizer, TfidfTransformer, TfidfVectorizer), restricted to
 * word n-grams without stop words, accents stripping or max_features.
 */
import { CsrMatrix, CsrValues, transpose } from './csr';

export interface CountVectorizerOptions {
  /**
   * Ignore terms found in fewer documents. An integer > 1 is an absolute document count; a value in
   * [0, 1) is a proportion of the documents; exactly 1 means "1 document" (sklearn's default int 1).
   */
  minDf?: number;
  /**
   * Ignore terms found in more documents. An integer > 1 is an absolute document count; a value in
   * [0, 1] is a proportion; exactly 1 means 100% (sklearn's default float 1.0).
   */
  maxDf?: number;
  /** Lowercase documents before tokenizing (default true). */
  lowercase?: boolean;
  /**
   * Token regexp (default: sklearn's r"(?u)\b\w\w+\b" translated to JS). Flags are kept and 'g' is
   * added. With one capturing group the group is the token (like re.findall); more groups are rejected.
   */
  tokenPattern?: RegExp;
  /**
   * Word n-grams from `min` to `max` tokens (default [1, 1]), like sklearn's `ngram_range`: an n-gram is
   * its tokens joined by one space.
   */
  ngramRange?: readonly [number, number];
}

export interface TfidfOptions {
  /** Row normalisation (default 'l2'). */
  norm?: 'l2' | 'l1' | null;
  /** Multiply by idf (default true). */
  useIdf?: boolean;
  /** idf = ln((1+n)/(1+df)) + 1 when true (default), ln(n/df) + 1 otherwise. */
  smoothIdf?: boolean;
  /** Replace tf by 1 + ln(tf) (default false). */
  sublinearTf?: boolean;
}

/**
 * Python's `\w` in a str pattern is "isalnum() or '_'", i.e. letters (L*), numbers (N*) and underscore;
 * JS `\w` is ASCII-only even with /u, hence the explicit classes. Because the sklearn pattern is
 * \b\w\w+\b, its matches are exactly the maximal runs of >= 2 word characters, which is what this
 * greedy pattern finds when scanned left to right.
 */
export const DEFAULT_TOKEN_PATTERN = /[\p{L}\p{N}_]{2,}/gu;

interface ResolvedCountOptions {
  minDf: number;
  maxDf: number;
  lowercase: boolean;
  pattern: RegExp;
  useGroup: boolean;
  minN: number;
  maxN: number;
}

export interface ResolvedTfidfOptions {
  norm: 'l2' | 'l1' | null;
  useIdf: boolean;
  smoothIdf: boolean;
  sublinearTf: boolean;
}

function resolveCountOptions(opts: CountVectorizerOptions | undefined): ResolvedCountOptions {
  const minDf = opts?.minDf ?? 1;
  const maxDf = opts?.maxDf ?? 1.0;
  checkDf('minDf', minDf);
  checkDf('maxDf', maxDf);
  const src = opts?.tokenPattern ?? DEFAULT_TOKEN_PATTERN;
  const flags = src.flags.includes('g') ? src.flags : src.flags + 'g';
  const pattern = new RegExp(src.source, flags);
  // Number of capturing groups: an alternative with the empty string always matches.
  const groups =
    new RegExp(`${src.source}|`, src.flags.replace('g', '').replace('y', '')).exec('')!.length - 1;
  if (groups > 1) {
    throw new RangeError(`tokenPattern has ${groups} capturing groups; at most 1 is allowed (like sklearn)`);
  }
  const [minN, maxN] = ngramBounds(opts);
  return {
    minDf,
    maxDf,
    lowercase: opts?.lowercase ?? true,
    pattern,
    useGroup: groups === 1,
    minN,
    maxN,
  };
}

/** The options' n-gram range [min, max] (default [1, 1]); throws a RangeError when it is not one. */
export function ngramBounds(opts: CountVectorizerOptions | undefined): [number, number] {
  const [minN, maxN] = opts?.ngramRange ?? [1, 1];
  if (!Number.isInteger(minN) || !Number.isInteger(maxN) || minN < 1 || maxN < minN) {
    throw new RangeError(`ngramRange must be integers 1 ≤ min ≤ max, got [${minN}, ${maxN}]`);
  }
  return [minN, maxN];
}

function checkDf(name: string, v: number): void {
  if (!Number.isFinite(v) || v < 0 || (v > 1 && !Number.isInteger(v))) {
    throw new RangeError(
      `${name} must be an integer >= 0 (document count) or a float in [0, 1] (proportion), got ${v}`,
    );
  }
}

export function resolveTfidfOptions(opts: TfidfOptions | undefined): ResolvedTfidfOptions {
  const norm = opts?.norm === undefined ? 'l2' : opts.norm;
  if (norm !== 'l2' && norm !== 'l1' && norm !== null)
    throw new RangeError(`norm must be 'l2', 'l1' or null, got ${String(norm)}`);
  return {
    norm,
    useIdf: opts?.useIdf ?? true,
    smoothIdf: opts?.smoothIdf ?? true,
    sublinearTf: opts?.sublinearTf ?? false,
  };
}

/**
 * The terms of a document as the vectorizers see them (lowercased, tokenized, n-grams), with `opts`
 * resolved once: for code that counts documents block by block (document-frequencies.ts).
 */
export function documentAnalyzer(opts?: CountVectorizerOptions): (doc: string, out: string[]) => void {
  const o = resolveCountOptions(opts);
  return (doc, out) => tokenize(doc, o, out);
}

/** The document-frequency bounds [low, high] a vocabulary keeps, for `nDocs` documents. */
export function documentFrequencyLimits(
  opts: CountVectorizerOptions | undefined,
  nDocs: number,
): { low: number; high: number } {
  return docCountLimits(resolveCountOptions(opts), nDocs);
}

/** Document-count thresholds exactly like CountVectorizer.fit_transform (ints are counts, floats proportions). */
function docCountLimits(o: ResolvedCountOptions, nDocs: number): { low: number; high: number } {
  // 1 is ambiguous in JS (int 1 vs float 1.0): sklearn's defaults decide (min_df=1 count, max_df=1.0 proportion).
  const low = Number.isInteger(o.minDf) && o.minDf >= 1 ? o.minDf : o.minDf * nDocs;
  const high = Number.isInteger(o.maxDf) && o.maxDf > 1 ? o.maxDf : o.maxDf * nDocs;
  if (high < low) throw new RangeError('max_df corresponds to < documents than min_df');
  return { low, high };
}

/**
 * Terms of one document, per the resolved options (lowercasing first, like sklearn's preprocessor): its
 * tokens, or its word n-grams in sklearn's `_word_ngrams` order (all n-grams of the smallest n first).
 */
function tokenize(doc: string, o: ResolvedCountOptions, out: string[]): void {
  if (o.minN === 1 && o.maxN === 1) {
    words(doc, o, out);
    return;
  }
  const toks: string[] = [];
  words(doc, o, toks);
  out.length = 0;
  for (let n = o.minN; n <= Math.min(o.maxN, toks.length); n++) {
    if (n === 1) {
      for (const t of toks) out.push(t);
      continue;
    }
    for (let i = 0; i + n <= toks.length; i++) {
      let gram = toks[i]!;
      for (let q = 1; q < n; q++) gram += ' ' + toks[i + q]!;
      out.push(gram);
    }
  }
}

function words(doc: string, o: ResolvedCountOptions, out: string[]): void {
  out.length = 0;
  const text = o.lowercase ? doc.toLowerCase() : doc;
  if (o.pattern.source === DEFAULT_TOKEN_PATTERN.source) {
    wordRuns(text, out);
    return;
  }
  const re = o.pattern;
  re.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    if (m[0].length === 0) re.lastIndex++; // empty match: advance like re.findall does
    const tok = o.useGroup ? m[1] : m[0];
    out.push(tok ?? '');
  }
}

const WORD_CHAR = /^[\p{L}\p{N}_]$/u;

/** The default pattern's matches as strings (wordRunBounds). */
function wordRuns(text: string, out: string[]): void {
  runBounds ??= new IntBuf();
  runBounds.n = 0;
  wordRunBounds(text, runBounds);
  const b = runBounds.a;
  for (let k = 0; k < runBounds.n; k += 2) out.push(text.slice(b[k], b[k + 1]));
}

let runBounds: IntBuf | undefined;

/**
 * The default pattern's matches — maximal runs of ≥ 2 word characters — found with a character loop
 * instead of the regex: about 3× faster on the pipeline's text, which is mostly ASCII. Non-ASCII code
 * points (including surrogate pairs) are classified by the same Unicode property classes. Each match
 * is pushed to `bounds` as its start and end (UTF-16 units).
 */
function wordRunBounds(text: string, bounds: IntBuf): void {
  const n = text.length;
  let start = -1;
  let chars = 0;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    let width = 1;
    let word: boolean;
    if (c < 128) {
      word = (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || c === 95;
    } else {
      const cp = text.codePointAt(i)!;
      width = cp > 0xffff ? 2 : 1;
      word = WORD_CHAR.test(String.fromCodePoint(cp));
    }
    if (word) {
      if (start < 0) {
        start = i;
        chars = 0;
      }
      chars++;
    } else if (start >= 0) {
      if (chars >= 2) {
        bounds.push(start);
        bounds.push(i);
      }
      start = -1;
    }
    i += width;
  }
  if (start >= 0 && chars >= 2) {
    bounds.push(start);
    bounds.push(n);
  }
}

/**
 * A document's words (its 1-grams) as ranges of the text they are in, for counting without a string
 * per word: for the default token pattern, a function that lowercases the document as `opts` say, puts
 * each word's [start, end) in `bounds` (emptied first) and returns that text; null for another pattern,
 * whose words documentAnalyzer gives as strings.
 */
export function wordRangeAnalyzer(
  opts?: CountVectorizerOptions,
): ((doc: string, bounds: IntBuf) => string) | null {
  const o = resolveCountOptions(opts);
  if (o.pattern.source !== DEFAULT_TOKEN_PATTERN.source) return null;
  return (doc, bounds) => {
    const text = o.lowercase ? doc.toLowerCase() : doc;
    bounds.n = 0;
    wordRunBounds(text, bounds);
    return text;
  };
}

/** Python's sorted() orders str by code point; JS `<` compares UTF-16 units. Fix up surrogates. */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x !== y) {
      if (x >= 0xd800 && y >= 0xd800) {
        x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
        y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
      }
      return x - y;
    }
  }
  return a.length - b.length;
}

/** Growable Int32 buffer, avoiding per-token boxed arrays. */
export class IntBuf {
  a = new Int32Array(1024);
  n = 0;
  push(v: number): void {
    if (this.n === this.a.length) {
      const b = new Int32Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = v;
  }
}

/**
 * Counts term ids per document into a CSR matrix whose columns are `ids` (unsorted within rows are
 * fine here: callers re-sort). Unknown tokens get -1 from `lookup` and are skipped.
 */
function countDocs(
  docs: readonly string[],
  o: ResolvedCountOptions,
  lookup: (tok: string) => number,
): { indptr: Int32Array; ids: IntBuf; counts: IntBuf } {
  const indptr = new Int32Array(docs.length + 1);
  const ids = new IntBuf();
  const counts = new IntBuf();
  const toks: string[] = [];
  let rowIds = new Int32Array(256);
  for (let d = 0; d < docs.length; d++) {
    const doc = docs[d];
    if (typeof doc !== 'string') throw new RangeError(`document ${d} is not a string`);
    tokenize(doc, o, toks);
    if (rowIds.length < toks.length) rowIds = new Int32Array(toks.length * 2);
    let n = 0;
    for (let t = 0; t < toks.length; t++) {
      const id = lookup(toks[t]!);
      if (id >= 0) rowIds[n++] = id;
    }
    const sorted = rowIds.subarray(0, n).sort();
    for (let t = 0; t < n;) {
      const id = sorted[t]!;
      let e = t + 1;
      while (e < n && sorted[e] === id) e++;
      ids.push(id);
      counts.push(e - t);
      t = e;
    }
    indptr[d + 1] = ids.n;
  }
  return { indptr, ids, counts };
}

/**
 * CountVectorizer.fit_transform: learns the vocabulary (sorted by code point like
 * get_feature_names_out), prunes it by document frequency (_limit_features) and returns the counts.
 */
export function fitCountVectorizer(
  docs: readonly string[],
  opts?: CountVectorizerOptions,
): { vocabulary: string[]; counts: CsrMatrix } {
  const o = resolveCountOptions(opts);
  const index = new Map<string, number>();
  const terms: string[] = [];
  const raw = countDocs(docs, o, (tok) => {
    let id = index.get(tok);
    if (id === undefined) {
      id = terms.length;
      index.set(tok, id);
      terms.push(tok);
    }
    return id;
  });
  if (terms.length === 0)
    throw new RangeError('empty vocabulary; perhaps the documents only contain stop words');

  const nnzRaw = raw.ids.n;
  const df = new Int32Array(terms.length);
  for (let p = 0; p < nnzRaw; p++) df[raw.ids.a[p]!]!++;
  const { low, high } = docCountLimits(o, docs.length);

  // Only the kept terms are sorted: with n-grams most terms occur once and are pruned by minDf.
  const order = Array.from(terms.keys())
    .filter((id) => df[id]! >= low && df[id]! <= high)
    .sort((a, b) => compareCodePoints(terms[a]!, terms[b]!));
  const newId = new Int32Array(terms.length).fill(-1);
  const vocabulary: string[] = [];
  for (const id of order) {
    newId[id] = vocabulary.length;
    vocabulary.push(terms[id]!);
  }
  if (vocabulary.length === 0) {
    throw new RangeError('After pruning, no terms remain. Try a lower min_df or a higher max_df.');
  }

  const indptr = new Int32Array(docs.length + 1);
  let kept = 0;
  for (let p = 0; p < nnzRaw; p++) if (newId[raw.ids.a[p]!]! >= 0) kept++;
  const indices = new Int32Array(kept);
  const data = new Float64Array(kept);
  let q = 0;
  for (let d = 0; d < docs.length; d++) {
    for (let p = raw.indptr[d]!; p < raw.indptr[d + 1]!; p++) {
      const j = newId[raw.ids.a[p]!]!;
      if (j >= 0) {
        indices[q] = j;
        data[q] = raw.counts.a[p]!;
        q++;
      }
    }
    indptr[d + 1] = q;
  }
  // Transposing twice is an O(nnz) way to sort the column indices of every row.
  const counts = transpose(transpose({ rows: docs.length, cols: vocabulary.length, indptr, indices, data }));
  return { vocabulary, counts };
}

/** Term → column of a fixed vocabulary; build it once where many small batches are transformed. */
export type VocabularyIndex = ReadonlyMap<string, number>;

export function vocabularyIndex(vocabulary: readonly string[]): VocabularyIndex {
  const index = new Map<string, number>();
  vocabulary.forEach((t, j) => {
    if (index.has(t))
      throw new RangeError(`vocabulary contains "${t}" twice (positions ${index.get(t)} and ${j})`);
    index.set(t, j);
  });
  return index;
}

/** CountVectorizer.transform with a fixed vocabulary: unknown tokens are ignored, df limits do not apply. */
export function transformCounts(
  docs: readonly string[],
  vocabulary: readonly string[] | VocabularyIndex,
  opts?: CountVectorizerOptions,
): CsrMatrix {
  const o = resolveCountOptions(opts);
  const index = Array.isArray(vocabulary) ? vocabularyIndex(vocabulary) : (vocabulary as VocabularyIndex);
  const raw = countDocs(docs, o, (tok) => index.get(tok) ?? -1);
  const n = raw.ids.n;
  const data = new Float64Array(n);
  for (let p = 0; p < n; p++) data[p] = raw.counts.a[p]!;
  // countDocs sorts each row's ids, and ids are already final column numbers here.
  return {
    rows: docs.length,
    cols: index.size,
    indptr: raw.indptr,
    indices: raw.ids.a.slice(0, n),
    data,
  };
}

/** Number of tokens of each document, with the same tokenization as the vectorizers (known or not). */
export function countTokens(docs: readonly string[], opts?: CountVectorizerOptions): Int32Array {
  const o = resolveCountOptions(opts);
  const out = new Int32Array(docs.length);
  const toks: string[] = [];
  for (let d = 0; d < docs.length; d++) {
    const doc = docs[d];
    if (typeof doc !== 'string') throw new RangeError(`document ${d} is not a string`);
    tokenize(doc, o, toks);
    out[d] = toks.length;
  }
  return out;
}

/**
 * TfidfTransformer.fit: df = number of stored entries per column (_document_frequency), then
 * idf = ln(n/df) + 1, with n and df both incremented by 1 when smoothIdf.
 */
export function fitIdf(counts: CsrMatrix, opts?: TfidfOptions): Float64Array {
  const df = new Float64Array(counts.cols);
  const count = counts.indptr[counts.rows]!;
  for (let p = 0; p < count; p++) df[counts.indices[p]!]! += 1;
  return idfFromDocumentFrequencies(df, counts.rows, opts);
}

/** idf from each term's document frequency over `nDocs` documents (fitIdf's formula). */
export function idfFromDocumentFrequencies(
  df: ArrayLike<number>,
  nDocs: number,
  opts?: TfidfOptions,
): Float64Array {
  const o = resolveTfidfOptions(opts);
  const s = o.smoothIdf ? 1 : 0;
  const n = nDocs + s;
  const idf = new Float64Array(df.length);
  for (let j = 0; j < df.length; j++) idf[j] = Math.log(n / (df[j]! + s)) + 1;
  return idf;
}

/**
 * TfidfTransformer.transform on a copy: optional sublinear tf, column scaling by idf, then row
 * normalisation like sklearn.preprocessing.normalize (rows with zero norm stay zero).
 */
export function applyTfidf(counts: CsrMatrix, idf: Float64Array, opts?: TfidfOptions): CsrMatrix {
  const { indptr, indices } = counts;
  const nnz = indptr[counts.rows]!;
  const copy = {
    rows: counts.rows,
    cols: counts.cols,
    indptr: indptr.slice(),
    indices: indices.slice(0, nnz),
    data: counts.data.slice(0, nnz),
  };
  return applyTfidfInPlace(copy, idf, opts);
}

/**
 * applyTfidf on `counts` itself, for a caller that holds no other use of the counts. Each row is computed
 * in double precision and stored once, so single-precision counts get the double result rounded once:
 * the same values as rounding applyTfidf's.
 */
export function applyTfidfInPlace<V extends CsrValues>(
  counts: CsrMatrix<V>,
  idf: Float64Array,
  opts?: TfidfOptions,
): CsrMatrix<V> {
  const o = resolveTfidfOptions(opts);
  if (o.useIdf && idf.length !== counts.cols) {
    throw new RangeError(`idf has length ${idf.length}, expected the matrix column count ${counts.cols}`);
  }
  const { indptr, indices, data } = counts;
  let longest = 0;
  for (let i = 0; i < counts.rows; i++) longest = Math.max(longest, indptr[i + 1]! - indptr[i]!);
  const row = new Float64Array(longest);
  for (let i = 0; i < counts.rows; i++) {
    const a = indptr[i]!;
    const b = indptr[i + 1]!;
    for (let p = a; p < b; p++) {
      let v = data[p]!;
      // Explicit zeros are left alone (sklearn would turn them into -inf); vectorizer output has none.
      if (o.sublinearTf && v !== 0) v = Math.log(v) + 1;
      if (o.useIdf) v *= idf[indices[p]!]!;
      row[p - a] = v;
    }
    let d = 1;
    if (o.norm !== null) {
      let s = 0;
      if (o.norm === 'l2') for (let q = 0; q < b - a; q++) s += row[q]! * row[q]!;
      else for (let q = 0; q < b - a; q++) s += Math.abs(row[q]!);
      if (s !== 0) d = o.norm === 'l2' ? Math.sqrt(s) : s;
    }
    for (let p = a; p < b; p++) data[p] = row[p - a]! / d;
  }
  return counts;
}

/** TfidfVectorizer.fit_transform = CountVectorizer.fit_transform + TfidfTransformer.fit_transform. */
export function fitTfidfVectorizer(
  docs: readonly string[],
  opts?: CountVectorizerOptions & TfidfOptions,
): { vocabulary: string[]; idf: Float64Array; matrix: CsrMatrix } {
  const { vocabulary, counts } = fitCountVectorizer(docs, opts);
  const idf = fitIdf(counts, opts);
  return { vocabulary, idf, matrix: applyTfidf(counts, idf, opts) };
}
