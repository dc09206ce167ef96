import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CountVectorizerOptions,
  TfidfOptions,
  applyTfidf,
  countTokens,
  fitCountVectorizer,
  fitIdf,
  fitTfidfVectorizer,
  transformCounts,
} from '../../shared/core/numeric/vectorizer';
import { CsrJson, assertClose, assertCsrClose, csrFromJson, loadFixture } from './fixtures';

interface NgramFixture {
  docs: string[];
  newDocs: string[];
  counts: {
    name: string;
    options: CountVectorizerOptions;
    vocabulary: string[];
    countsNnz: number;
    countsSum: number;
    transformNewNnz: number;
    transformNewSum: number;
    counts?: CsrJson;
    transformNew?: CsrJson;
  }[];
  tfidf: {
    name: string;
    options: CountVectorizerOptions & TfidfOptions;
    vocabulary: string[];
    idf: number[];
    matrix: CsrJson;
    transformNew: CsrJson;
  };
}

const fx = loadFixture<NgramFixture>('ngram_tfidf');

function sum(a: Float64Array): number {
  return a.reduce((s, v) => s + v, 0);
}

describe('word n-grams vs sklearn CountVectorizer / TfidfVectorizer (ngram_range)', () => {
  for (const c of fx.counts) {
    it(`${c.name}: vocabulary, counts and transform of unseen documents`, () => {
      const { vocabulary, counts } = fitCountVectorizer(fx.docs, c.options);
      assert.deepEqual(vocabulary, c.vocabulary);
      assert.equal(counts.indptr[counts.rows], c.countsNnz);
      assert.equal(sum(counts.data), c.countsSum);
      if (c.counts) assertCsrClose(counts, csrFromJson(c.counts), 0, 'counts');
      const T = transformCounts(fx.newDocs, vocabulary, c.options);
      assert.equal(T.indptr[T.rows], c.transformNewNnz);
      assert.equal(sum(T.data), c.transformNewSum);
      if (c.transformNew) assertCsrClose(T, csrFromJson(c.transformNew), 0, 'transform');
    });
  }
  const t = fx.tfidf;
  it(`${t.name}: vocabulary, idf and matrix`, () => {
    const r = fitTfidfVectorizer(fx.docs, t.options);
    assert.deepEqual(r.vocabulary, t.vocabulary);
    assertClose(r.idf, t.idf, 1e-12, 'idf');
    assertCsrClose(r.matrix, csrFromJson(t.matrix), 1e-9, 'tfidf');
  });
  it(`${t.name}: counts → idf → tfidf and transform of unseen documents`, () => {
    const { vocabulary, counts } = fitCountVectorizer(fx.docs, t.options);
    const idf = fitIdf(counts, t.options);
    assertCsrClose(applyTfidf(counts, idf, t.options), csrFromJson(t.matrix), 1e-9, 'tfidf');
    const X = applyTfidf(transformCounts(fx.newDocs, vocabulary, t.options), idf, t.options);
    assertCsrClose(X, csrFromJson(t.transformNew), 1e-9, 'transform');
  });
});

describe('word n-gram behaviour', () => {
  it("orders a document's terms like sklearn's _word_ngrams and skips n larger than the document", () => {
    const { vocabulary, counts } = fitCountVectorizer(['aa bb aa bb', 'cc'], { ngramRange: [1, 2] });
    assert.deepEqual(vocabulary, ['aa', 'aa bb', 'bb', 'bb aa', 'cc']);
    assert.deepEqual(Array.from(counts.data), [2, 2, 2, 1, 1]);
    assert.deepEqual(countTokens(['aa bb cc', 'aa', ''], { ngramRange: [2, 3] }), Int32Array.from([3, 0, 0]));
    assert.deepEqual(countTokens(['aa bb cc'], { ngramRange: [1, 3] }), Int32Array.from([6]));
  });
  it('rejects invalid ranges', () => {
    for (const ngramRange of [
      [0, 1],
      [2, 1],
      [1, 1.5],
    ] as const) {
      assert.throws(() => fitCountVectorizer(['aa bb'], { ngramRange }), RangeError);
    }
  });
});
