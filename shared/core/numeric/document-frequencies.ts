/**
 * Document frequencies counted block by block and merged: how a vocabulary with sklearn's min_df/max_df
 * semantics is fitted over more documents than one process holds. Counts are integers, so the merge is
 * exact in any order; terms are kept sorted by code point (the vocabulary's order).
 */
import { CountVectorizerOptions, compareCodePoints, documentFrequencyLimits } from './vectorizer';

/** Terms (sorted by code point, distinct) and in how many of `docs` documents each occurs. */
export interface DocumentFrequencies {
  docs: number;
  terms: string[];
  df: number[];
}

/** The frequencies over all `parts` (blocks), merged two sorted lists at a time, in part order. */
export function mergeDocumentFrequencies(parts: readonly DocumentFrequencies[]): DocumentFrequencies {
  let acc: DocumentFrequencies = { docs: 0, terms: [], df: [] };
  for (const p of parts) acc = mergeTwo(acc, p);
  return acc;
}

function mergeTwo(a: DocumentFrequencies, b: DocumentFrequencies): DocumentFrequencies {
  const terms: string[] = [];
  const df: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.terms.length || j < b.terms.length) {
    const c =
      i === a.terms.length ? 1 : j === b.terms.length ? -1 : compareCodePoints(a.terms[i]!, b.terms[j]!);
    if (c < 0) {
      terms.push(a.terms[i]!);
      df.push(a.df[i++]!);
    } else if (c > 0) {
      terms.push(b.terms[j]!);
      df.push(b.df[j++]!);
    } else {
      terms.push(a.terms[i]!);
      df.push(a.df[i++]! + b.df[j++]!);
    }
  }
  return { docs: a.docs + b.docs, terms, df };
}

/**
 * The vocabulary CountVectorizer.fit would keep from these frequencies: the terms whose document
 * frequency is within [min_df, max_df] (`opts`), in code-point order, with their frequencies. Throws the
 * RangeError fitCountVectorizer throws when none is left.
 */
export function pruneVocabulary(
  all: DocumentFrequencies,
  opts?: CountVectorizerOptions,
): { vocabulary: string[]; df: Float64Array } {
  const kept = keptByFrequency(all.df, all.docs, opts);
  return {
    vocabulary: Array.from(kept, (i) => all.terms[i]!),
    df: Float64Array.from(kept, (i) => all.df[i]!),
  };
}

/**
 * The positions of the terms pruneVocabulary keeps, given each term's document frequency `df` among
 * `docs` documents; throws as it does.
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
