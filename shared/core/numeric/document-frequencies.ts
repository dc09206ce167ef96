/**
 * Document frequencies counted block by block and merged: how a vocabulary with sklearn's min_df/max_df
 * semantics is fitted over more documents than one process holds. Counts are integers, so the merge is
 * exact in any order; terms are kept sorted by code point (the vocabulary's order), as bytes (TermList).
 */
import { TermList, TermListBuilder, notTerms } from './term-list';
import { CountVectorizerOptions, documentFrequencyLimits } from './vectorizer';

/** Terms with, for each, the documents holding it, among `docs`. */
export interface TermFrequencies {
  docs: number;
  terms: TermList;
  df: Int32Array;
}

/**
 * Two lists' frequencies merged (terms of both, in order; a term of both sums its counts). A term of
 * `b` counted in no document is left out.
 */
export function mergeTermFrequencies(a: TermFrequencies, b: TermFrequencies): TermFrequencies {
  const out = new TermListBuilder(
    a.terms.count + b.terms.count,
    a.terms.bytes.byteLength + b.terms.bytes.byteLength,
  );
  const df = new Int32Array(a.terms.count + b.terms.count);
  let n = 0;
  let i = 0;
  let j = 0;
  while (i < a.terms.count || j < b.terms.count) {
    if (j < b.terms.count && b.df[j] === 0) {
      j++;
      continue;
    }
    const c = i === a.terms.count ? 1 : j === b.terms.count ? -1 : a.terms.compare(i, b.terms, j);
    if (c < 0) {
      out.push(a.terms, i);
      df[n++] = a.df[i++]!;
    } else if (c > 0) {
      out.push(b.terms, j);
      df[n++] = b.df[j++]!;
    } else {
      out.push(a.terms, i);
      df[n++] = a.df[i++]! + b.df[j++]!;
    }
  }
  return { docs: a.docs + b.docs, terms: out.finish(), df: df.slice(0, n) };
}

/** Terms and their frequencies as bytes: the TermList's, then one int32 per term. */
export function encodeTermFrequencies(terms: TermList, df: ArrayLike<number>): Uint8Array {
  if (df.length !== terms.count) throw new RangeError(`${df.length} frequencies for ${terms.count} terms`);
  const list = terms.encode();
  const out = new Uint8Array(list.byteLength + 4 * terms.count);
  out.set(list);
  const view = new DataView(out.buffer, list.byteLength);
  for (let i = 0; i < terms.count; i++) view.setInt32(4 * i, df[i]!, true);
  return out;
}

/** encodeTermFrequencies's bytes read back; `where` names them in the error when they are not that. */
export function decodeTermFrequencies(data: Uint8Array, where: string): { terms: TermList; df: Int32Array } {
  const { list, end } = TermList.read(data, where);
  if (data.byteLength - end !== 4 * list.count)
    throw notTerms(where, `${data.byteLength - end} bytes of frequencies for ${list.count} terms`);
  const df = new Int32Array(list.count);
  new Uint8Array(df.buffer).set(data.subarray(end));
  return { terms: list, df };
}

/**
 * The vocabulary CountVectorizer.fit would keep from these frequencies: the terms whose document
 * frequency is within [min_df, max_df] (`opts`), in code-point order (as a list and as strings), with
 * their frequencies. Throws the RangeError fitCountVectorizer throws when none is left.
 */
export function pruneTerms(
  all: TermFrequencies,
  opts?: CountVectorizerOptions,
): { terms: TermList; vocabulary: string[]; df: Float64Array } {
  const kept = keptByFrequency(all.df, all.docs, opts);
  const terms = all.terms.pick(kept);
  return { terms, vocabulary: terms.strings(), df: Float64Array.from(kept, (i) => all.df[i]!) };
}

/**
 * The positions of the terms pruneTerms keeps, given each term's document frequency `df` among `docs`
 * documents; throws as it does.
 */
export function keptByFrequency(
  df: ArrayLike<number>,
  docs: number,
  opts?: CountVectorizerOptions,
): Int32Array {
  if (df.length === 0)
    throw new RangeError('empty vocabulary; perhaps the documents only contain stop words');
  const { low, high } = documentFrequencyLimits(opts, docs);
  const kept = new Int32Array(df.length);
  let n = 0;
  for (let i = 0; i < df.length; i++) if (df[i]! >= low && df[i]! <= high) kept[n++] = i;
  if (n === 0) throw new RangeError('After pruning, no terms remain. Try a lower min_df or a higher max_df.');
  return kept.slice(0, n);
}
