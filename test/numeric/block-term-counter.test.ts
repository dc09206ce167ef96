import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import { BlockTermCounter } from '../../shared/core/numeric/block-counts';
import { CountVectorizerOptions, fitCountVectorizer } from '../../shared/core/numeric/vectorizer';
import { SAMPLE_DATASET } from '../helpers/env';

/** The sample's narratives: real text, long enough for every n. */
const NARRATIVES = (
  JSON.parse(fs.readFileSync(SAMPLE_DATASET, 'utf8')) as { _source: Record<string, unknown> }[]
)
  .map((r) => String(r._source.complaint_what_happened ?? ''))
  .filter((t) => t.length > 0)
  .slice(0, 300);

/**
 * Texts whose terms' order the counter's radix sort must get right: words that begin others ("ab",
 * "abc", "ab_"), digits and underscores (below and above letters), letters past U+FFFF (surrogate pairs,
 * which UTF-16 order puts before U+E000–U+FFFF letters and code-point order after them), upper case,
 * texts of one word and of none, and a word repeated across n-grams.
 */
const TRICKY = [
  'ab abc ab ab_ abc ab',
  'abc ab ab abc ab_c 12 1a a1 _x x_ ab',
  'Ab AB aB ab abc ABC',
  'ﬀﬀ 𝐀𝐁 𝐀𝐁 ｚｚ 𠀀𠀀 éé ee ée',
  'ab',
  '',
  '! ? .',
  'zz zz zz zz zz',
  'ab 𝐀𝐁 ab ﬀﬀ ab 𝐀𝐁',
  'über uber ubér über uber',
];

/** What fitCountVectorizer keeps with no pruning: every term of the texts, and their counts. */
function reference(docs: readonly string[], opts: CountVectorizerOptions) {
  const { vocabulary, counts } = fitCountVectorizer(docs, { ...opts, minDf: 1, maxDf: 1.0 });
  return { terms: vocabulary, indptr: counts.indptr, indices: counts.indices, counts: counts.data };
}

function counted(docs: readonly string[], opts: CountVectorizerOptions) {
  const counter = new BlockTermCounter(opts);
  for (const doc of docs) counter.add(doc);
  return counter.finishCounts();
}

function assertSameCounts(docs: readonly string[], opts: CountVectorizerOptions): void {
  const want = reference(docs, opts);
  const got = counted(docs, opts);
  assert.deepEqual(got.terms.strings(), want.terms);
  assert.equal(got.rows, docs.length);
  assert.deepEqual(Array.from(got.indptr), Array.from(want.indptr));
  const nnz = got.indptr[got.rows]!;
  assert.deepEqual(Array.from(got.indices), Array.from(want.indices.subarray(0, nnz)));
  assert.deepEqual(Array.from(got.counts), Array.from(want.counts.subarray(0, nnz)));
}

describe("a block's own terms and counts (BlockTermCounter)", () => {
  const ranges: [number, number][] = [
    [1, 1],
    [1, 2],
    [2, 2],
    [1, 3],
    [2, 3],
    [3, 3],
  ];
  for (const ngramRange of ranges) {
    it(`are fitCountVectorizer's unpruned vocabulary and counts, n-grams ${ngramRange.join('–')}`, () => {
      assertSameCounts(NARRATIVES, { ngramRange });
      assertSameCounts(TRICKY, { ngramRange });
      assertSameCounts([...TRICKY, ...NARRATIVES.slice(0, 40)], { ngramRange });
    });
  }

  it('order terms by their strings when a word holds a space or a control character', () => {
    // Tokens that hold a tab, U+0001 or a space: "ab\tcd" sorts before "ab xy" though "ab" begins it,
    // and "ab cd" is both a word and the bigram of "ab" and "cd".
    const docs = ['ab xy ab\tcd', 'ab\u0001cd; ab, cd; ab cd', 'xy ab\tcd ab, xy ab'];
    const patterns = [
      // eslint-disable-next-line no-control-regex -- tokens that hold a control character are the point
      /[a-z]+(?:[ \t\u0001][a-z]+)?/gu,
      // eslint-disable-next-line no-control-regex -- as above
      /\w+(?:[\t\u0001]\w+)?/gu,
    ];
    for (const tokenPattern of patterns)
      for (const ngramRange of ranges) assertSameCounts(docs, { tokenPattern, ngramRange });
  });

  it('keep the case of a vectorizer that does not lowercase', () => {
    assertSameCounts(TRICKY, { lowercase: false, ngramRange: [1, 2] });
  });

  it('give the same document frequencies and rows through finish()', () => {
    const counter = new BlockTermCounter({ ngramRange: [1, 2] });
    for (const doc of NARRATIVES) counter.add(doc);
    const block = counter.finish();
    const want = reference(NARRATIVES, { ngramRange: [1, 2] });
    assert.deepEqual(block.terms.strings(), want.terms);
    assert.equal(block.docs, NARRATIVES.length);
    const df = new Array<number>(want.terms.length).fill(0);
    for (let p = 0; p < want.indptr[NARRATIVES.length]!; p++) df[want.indices[p]!]!++;
    assert.deepEqual(Array.from(block.df), df);
    assert.deepEqual(
      Array.from(block.counts.data),
      Array.from(want.counts.subarray(0, block.counts.indices.length)),
    );
  });

  it('refuse an invalid n-gram range as the vectorizers do', () => {
    assert.throws(() => new BlockTermCounter({ ngramRange: [2, 1] }), /ngramRange must be integers/);
    assert.throws(() => new BlockTermCounter({ ngramRange: [0, 1] }), /ngramRange must be integers/);
  });
});
