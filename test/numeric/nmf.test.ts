import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { csrFromDense } from '../../shared/core/numeric/csr';
import { argmaxRows, fitNmf, fitNmfFrom, initializeNmf } from '../../shared/core/numeric/nmf';
import { truncatedSvd } from '../../shared/core/numeric/truncated-svd';
import { CountVectorizerOptions, fitTfidfVectorizer } from '../../shared/core/numeric/vectorizer';
import { assertClose, assertCloseNumber, loadFixture } from './fixtures';

interface NmfRun {
  k: number;
  nIter: number;
  reconstructionError: number;
  labels: number[];
  singularValuesExact: number[];
  W?: number[];
  H?: number[];
  exactInit: {
    nIter: number;
    reconstructionError: number;
    labels: number[];
    W0?: number[];
    H0?: number[];
    W?: number[];
    H?: number[];
    nndsvdW0?: number[];
    nndsvdH0?: number[];
  };
}

interface NmfFixture {
  docs: string[];
  vectorizer: CountVectorizerOptions;
  shape: [number, number];
  nnz: number;
  dataSum: number;
  runs: NmfRun[];
}

function agreement(a: Int32Array, b: number[]): number {
  let same = 0;
  for (let i = 0; i < b.length; i++) if (a[i] === b[i]) same++;
  return same / b.length;
}

for (const name of ['nmf_small', 'nmf_medium']) {
  const fx = loadFixture<NmfFixture>(name);
  const X = fitTfidfVectorizer(fx.docs, fx.vectorizer).matrix;

  describe(`NMF vs sklearn on ${name} (${fx.shape[0]}×${fx.shape[1]})`, () => {
    it('rebuilds the same TF-IDF input', () => {
      assert.deepEqual([X.rows, X.cols], fx.shape);
      assert.equal(X.indptr[X.rows], fx.nnz);
      assertCloseNumber(
        X.data.reduce((s, v) => s + v, 0),
        fx.dataSum,
        1e-9,
        'sum of X',
      );
    });
    for (const run of fx.runs) {
      it(`k=${run.k}: exact top singular values`, () => {
        const svd = truncatedSvd(X, run.k);
        assertClose(svd.S, run.singularValuesExact, 1e-10 * run.singularValuesExact[0]!, 'singular values');
      });
      it(`k=${run.k}: default fit (nndsvda, random_state=123) matches labels, error and iterations`, () => {
        const r = fitNmf(X, { nComponents: run.k, randomState: 123 });
        const labels = argmaxRows(r.W, X.rows, run.k);
        assert.ok(agreement(labels, run.labels) >= 0.99, `label agreement ${agreement(labels, run.labels)}`);
        assertCloseNumber(
          r.reconstructionError,
          run.reconstructionError,
          1e-3 * run.reconstructionError,
          'reconstruction error',
        );
        assert.equal(r.nIter, run.nIter);
        if (run.W && run.H) {
          // sklearn starts from a randomized SVD that is only ~1e-5 accurate (see the fixture's
          // randomizedSvdMaxVectorError); the exact-start test below checks the solver to 1e-9.
          assertClose(r.W, run.W, 1e-4, 'W');
          assertClose(r.H, run.H, 1e-4, 'H');
        }
      });
      if (run.exactInit.W0 && run.exactInit.H0 && run.exactInit.W && run.exactInit.H) {
        const e = run.exactInit;
        it(`k=${run.k}: NNDSVD/NNDSVDa initialisation equals sklearn's on the exact SVD`, () => {
          const a = initializeNmf(X, { nComponents: run.k, init: 'nndsvda' });
          assertClose(a.W, e.W0!, 1e-10, 'W0 (nndsvda)');
          assertClose(a.H, e.H0!, 1e-10, 'H0 (nndsvda)');
          const d = initializeNmf(X, { nComponents: run.k, init: 'nndsvd' });
          assertClose(d.W, e.nndsvdW0!, 1e-10, 'W0 (nndsvd)');
          assertClose(d.H, e.nndsvdH0!, 1e-10, 'H0 (nndsvd)');
        });
        it(`k=${run.k}: coordinate descent from sklearn's start reproduces W, H, n_iter`, () => {
          const r = fitNmfFrom(X, Float64Array.from(e.W0!), Float64Array.from(e.H0!), { nComponents: run.k });
          assert.equal(r.nIter, e.nIter);
          assertClose(r.W, e.W!, 1e-9, 'W');
          assertClose(r.H, e.H!, 1e-9, 'H');
          assertCloseNumber(
            r.reconstructionError,
            e.reconstructionError,
            1e-9 * e.reconstructionError,
            'error',
          );
        });
      }
    }
  });
}

describe('NMF behaviour', () => {
  const X = csrFromDense([
    [1, 0, 2, 0],
    [0, 3, 0, 1],
    [2, 0, 4, 0],
    [0, 1.5, 0, 0.5],
    [0, 0, 0, 0],
  ]);
  it('factorises an exactly rank-2 non-negative matrix', () => {
    const r = fitNmf(X, { nComponents: 2, tol: 1e-10, maxIter: 2000 });
    assert.ok(r.reconstructionError < 1e-3, `error ${r.reconstructionError}`);
    assert.ok(Array.from(r.W).every((v) => v >= 0) && Array.from(r.H).every((v) => v >= 0));
    const labels = argmaxRows(r.W, X.rows, 2);
    assert.equal(labels[0], labels[2]);
    assert.notEqual(labels[0], labels[1]);
    assert.equal(labels[4], 0, 'all-zero row → ties → lowest index');
  });
  it('is deterministic for random and nndsvdar inits with a seed', () => {
    for (const init of ['random', 'nndsvdar'] as const) {
      const a = fitNmf(X, { nComponents: 2, init, randomState: 5 });
      const b = fitNmf(X, { nComponents: 2, init, randomState: 5 });
      assert.deepEqual(Array.from(a.W), Array.from(b.W));
      assert.ok(a.reconstructionError < 0.5);
    }
  });
  it('rejects bad arguments', () => {
    assert.throws(() => fitNmf(X, { nComponents: 0 }), RangeError);
    assert.throws(() => fitNmf(X, { nComponents: 5 }), /n_components <= min/);
    assert.throws(() => fitNmf(csrFromDense([[1, -1]]), { nComponents: 1 }), /Negative values/);
    assert.doesNotThrow(() => fitNmf(X, { nComponents: 6, init: 'random' }));
  });
  it('stays finite on rank-deficient and all-zero matrices', () => {
    const lowRank = csrFromDense([
      [1, 1, 0],
      [2, 2, 0],
      [0, 0, 0],
    ]);
    for (const init of ['nndsvda', 'nndsvd', 'nndsvdar'] as const) {
      const r = fitNmf(lowRank, { nComponents: 2, init });
      assert.ok(Array.from(r.W).every(Number.isFinite) && Array.from(r.H).every(Number.isFinite), init);
      assert.ok(r.reconstructionError < 1e-3, `${init}: ${r.reconstructionError}`);
    }
    const zero = fitNmf(
      csrFromDense([
        [0, 0],
        [0, 0],
      ]),
      { nComponents: 1 },
    );
    assert.equal(zero.reconstructionError, 0);
    assert.ok(Array.from(zero.W).every(Number.isFinite));
  });
  it('truncated SVD handles rank-deficient matrices', () => {
    const svd = truncatedSvd(
      csrFromDense([
        [1, 1],
        [1, 1],
        [0, 0],
      ]),
      2,
    );
    assertClose(svd.S, [2, 0], 1e-12, 'singular values');
  });
});
