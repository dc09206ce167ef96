import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toDense } from '../../shared/core/numeric/csr';
import {
  CountVectorizerOptions,
  TfidfOptions,
  applyTfidf,
  applyTfidfInPlace,
  compareCodePoints,
  fitCountVectorizer,
  fitIdf,
  fitTfidfVectorizer,
  transformCounts,
} from '../../shared/core/numeric/vectorizer';
import { CsrJson, assertClose, assertCsrClose, csrFromJson, loadFixture } from './fixtures';

interface TfidfFixture {
  docs: string[];
  newDocs: string[];
  configs: {
    name: string;
    options: CountVectorizerOptions & TfidfOptions;
    vocabulary: string[];
    matrix: CsrJson;
    transformNew: CsrJson;
    idf?: number[];
    countsSum: number;
    countsNnz: number;
  }[];
  errors: { options: CountVectorizerOptions; message: string | null }[];
}

const fx = loadFixture<TfidfFixture>('tfidf');

describe('TF-IDF vs sklearn TfidfVectorizer', () => {
  for (const c of fx.configs) {
    it(`${c.name}: vocabulary, idf and matrix`, () => {
      const r = fitTfidfVectorizer(fx.docs, c.options);
      assert.deepEqual(r.vocabulary, c.vocabulary);
      if (c.idf) assertClose(r.idf, c.idf, 1e-12, 'idf');
      assertCsrClose(r.matrix, csrFromJson(c.matrix), 1e-9, 'tfidf');
    });
    it(`${c.name}: counts and transform of unseen documents`, () => {
      const { vocabulary, counts } = fitCountVectorizer(fx.docs, c.options);
      assert.equal(counts.indptr[counts.rows], c.countsNnz);
      assert.equal(
        counts.data.reduce((s, v) => s + v, 0),
        c.countsSum,
      );
      const idf = fitIdf(counts, c.options);
      const X = applyTfidf(transformCounts(fx.newDocs, vocabulary, c.options), idf, c.options);
      assertCsrClose(X, csrFromJson(c.transformNew), 1e-9, 'transform');
    });
  }
  it('applies TF-IDF to single-precision counts as to double ones, rounding each value once', () => {
    for (const c of fx.configs) {
      const { counts } = fitCountVectorizer(fx.docs, c.options);
      const idf = fitIdf(counts, c.options);
      const want = applyTfidf(counts, idf, c.options);
      const single = applyTfidfInPlace({ ...counts, data: Float32Array.from(counts.data) }, idf, c.options);
      assert.deepEqual(single.data, Float32Array.from(want.data.subarray(0, want.indptr[want.rows])), c.name);
    }
  });
  it('rejects df limits the way sklearn does', () => {
    for (const e of fx.errors) {
      assert.ok(e.message !== null);
      assert.throws(() => fitTfidfVectorizer(fx.docs, e.options), { name: 'RangeError', message: e.message });
    }
  });
});

describe('vectorizer edge cases', () => {
  it('keeps column indices sorted within rows and counts repeated tokens', () => {
    const { vocabulary, counts } = fitCountVectorizer(['zz aa zz bb', 'bb bb', '']);
    assert.deepEqual(vocabulary, ['aa', 'bb', 'zz']);
    assert.deepEqual(Array.from(toDense(counts)), [1, 1, 2, 0, 2, 0, 0, 0, 0]);
    for (let i = 0; i < counts.rows; i++) {
      for (let p = counts.indptr[i]! + 1; p < counts.indptr[i + 1]!; p++)
        assert.ok(counts.indices[p - 1]! < counts.indices[p]!);
    }
  });
  it('turns empty and token-less documents into zero rows without NaN', () => {
    const r = fitTfidfVectorizer(['alpha beta', '', '!!! a b', 'beta gamma'], { sublinearTf: true });
    assert.equal(r.matrix.indptr[2]! - r.matrix.indptr[1]!, 0);
    assert.equal(r.matrix.indptr[3]! - r.matrix.indptr[2]!, 0);
    assert.ok(Array.from(r.matrix.data).every(Number.isFinite));
    const l1 = applyTfidf(r.matrix, r.idf, { norm: 'l1' });
    assert.ok(Array.from(l1.data).every(Number.isFinite));
  });
  it('applies min_df/max_df as counts (int > 1) or proportions (float), inclusive bounds', () => {
    const docs = ['a1 b1 c1', 'a1 b1', 'a1', 'a1 d1'];
    // df: a1=4, b1=2, c1=1, d1=1
    assert.deepEqual(fitCountVectorizer(docs, { minDf: 2 }).vocabulary, ['a1', 'b1']);
    assert.deepEqual(fitCountVectorizer(docs, { minDf: 0.5 }).vocabulary, ['a1', 'b1']); // 0.5·4 = 2 docs
    assert.deepEqual(fitCountVectorizer(docs, { minDf: 0.51 }).vocabulary, ['a1']);
    assert.deepEqual(fitCountVectorizer(docs, { maxDf: 2 }).vocabulary, ['b1', 'c1', 'd1']);
    assert.deepEqual(fitCountVectorizer(docs, { maxDf: 0.75 }).vocabulary, ['b1', 'c1', 'd1']);
    assert.deepEqual(fitCountVectorizer(docs, { maxDf: 1 }).vocabulary, ['a1', 'b1', 'c1', 'd1']); // 1 = 100%
    assert.deepEqual(fitCountVectorizer(docs, { minDf: 1 }).vocabulary, ['a1', 'b1', 'c1', 'd1']); // 1 = one document
    assert.throws(() => fitCountVectorizer(docs, { minDf: 1.5 }), RangeError);
    assert.throws(() => fitCountVectorizer(docs, { maxDf: -0.1 }), RangeError);
    assert.throws(
      () => fitCountVectorizer(docs, { minDf: 3, maxDf: 2 }),
      /max_df corresponds to < documents than min_df/,
    );
    assert.throws(() => fitCountVectorizer(['a', '!', '']), /empty vocabulary/);
  });
  it('tokenizes like (?u)\\b\\w\\w+\\b: Unicode letters/digits, no combining marks, lowercasing', () => {
    const { vocabulary } = fitCountVectorizer([
      "Café x² ١٢٣ don't e-mail foo_bar cafe\u0301s 日本語 ΣΟΦΙΑ a",
    ]);
    assert.deepEqual(
      vocabulary,
      ['cafe', 'café', 'don', 'foo_bar', 'mail', 'σοφια', '١٢٣', '日本語', 'x²'].sort(compareCodePoints),
    );
    const upper = fitCountVectorizer(['Word word WORD'], { lowercase: false });
    assert.deepEqual(upper.vocabulary, ['WORD', 'Word', 'word']);
  });
  it('supports a custom token pattern with one capturing group and rejects two', () => {
    const { vocabulary } = fitCountVectorizer(['k=1 k=22 z=3'], { tokenPattern: /([a-z])=\d+/ });
    assert.deepEqual(vocabulary, ['k', 'z']);
    assert.throws(() => fitCountVectorizer(['x'], { tokenPattern: /(a)(b)/ }), RangeError);
  });
  it('orders vocabulary by code point like Python sorted()', () => {
    const terms = ['\u{1F600}x', '\uFF21x', 'zz', 'ab'];
    assert.deepEqual([...terms].sort(compareCodePoints), ['ab', 'zz', '\uFF21x', '\u{1F600}x']);
  });
  it('ignores unknown terms in transform and validates idf length', () => {
    const X = transformCounts(['x1 y1 y1 unknown'], ['y1', 'x1']);
    assert.deepEqual(Array.from(toDense(X)), [2, 1]);
    assert.throws(() => applyTfidf(X, new Float64Array(3)), RangeError);
  });
});
