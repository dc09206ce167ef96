import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { countRowsBlock, tfidfCountRows } from '../../shared/core/numeric/count-rows';
import { CsrMatrix } from '../../shared/core/numeric/csr';
import { fitLogisticRegressionDual } from '../../shared/core/numeric/dual-logistic';
import { predict } from '../../shared/core/numeric/logistic-regression';
import { applyTfidf, fitCountVectorizer, fitIdf } from '../../shared/core/numeric/vectorizer';
import { assertClose, loadFixture } from './fixtures';

interface TfidfFixture {
  docs: string[];
  configs: { name: string; options: Record<string, unknown> }[];
}

const fx = loadFixture<TfidfFixture>('tfidf');

/** The counts of a count matrix in one byte each, as readCsrRows's `values: 'count8'` gives them. */
const asBytes = (m: CsrMatrix): CsrMatrix<Uint8Array> => ({ ...m, data: Uint8Array.from(m.data) });

describe('TF-IDF rows held as one-byte counts (count-rows)', () => {
  it("give applyTfidf's values bit for bit, for every fixture setting (sublinear tf, l1, no idf, no norm)", () => {
    for (const c of fx.configs) {
      const { counts } = fitCountVectorizer(fx.docs, c.options);
      assert.ok(counts.data.every((v) => v >= 1 && v <= 255));
      const idf = fitIdf(counts, c.options);
      const want = applyTfidf(counts, idf, c.options);
      const rows = tfidfCountRows(asBytes(counts), idf, c.options);
      for (const [from, to] of [
        [0, counts.rows],
        [3, 7],
        [5, 5],
      ] as const) {
        const got = countRowsBlock(rows, from, to);
        const p0 = want.indptr[from]!;
        assert.deepEqual(
          got.indptr,
          want.indptr.slice(from, to + 1).map((p) => p - p0),
          c.name,
        );
        assert.deepEqual(got.indices, want.indices.slice(p0, want.indptr[to]), c.name);
        assert.deepEqual(got.data, want.data.slice(p0, want.indptr[to]), `${c.name}: rows ${from}–${to}`);
      }
    }
  });

  it('fit by dual coordinate descent like the same values in a CSR matrix, to the tolerance', () => {
    const { counts } = fitCountVectorizer(fx.docs, {});
    const idf = fitIdf(counts, {});
    const X = applyTfidf(counts, idf, {});
    // Labels from the documents' largest column, so the classes are learnable.
    const y = Int32Array.from({ length: X.rows }, (_, i) => (X.indices[X.indptr[i]!] ?? 0) % 3);
    const opts = { C: 10, tol: 1e-10, seed: 5 };
    const fromCounts = fitLogisticRegressionDual(tfidfCountRows(asBytes(counts), idf, {}), y, 3, opts);
    const fromCsr = fitLogisticRegressionDual(X, y, 3, opts);
    // The CSR path solves the single-precision matrix's problem: the two optima differ by its rounding.
    assertClose(fromCounts.coef, fromCsr.coef, 1e-5, 'coef');
    assertClose(fromCounts.intercept, fromCsr.intercept, 1e-5, 'intercept');
    assert.deepEqual(predict(fromCounts, X), predict(fromCsr, X));
  });
});
