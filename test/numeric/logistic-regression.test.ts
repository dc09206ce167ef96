import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { csrFromDense, selectRows } from '../../shared/core/numeric/csr';
import { minimizeLbfgs } from '../../shared/core/numeric/lbfgs';
import {
  LogisticRegressionOptions,
  addColumnSums,
  fitLogisticRegression,
  predict,
  predictProba,
  softmaxResidual,
  softmaxResidual3,
} from '../../shared/core/numeric/logistic-regression';
import { Rng } from '../../shared/core/numeric/random';
import { accuracy } from '../../shared/core/numeric/metrics';
import { ClassifierFixture, CsrJson, assertClose, csrFromJson, loadFixture, splitFixture } from './fixtures';

interface LrFit {
  coef: number[];
  coefShape: [number, number];
  intercept: number[];
  nIter: number;
  probaTest: number[];
  predTest: number[];
}

interface LrFixture extends ClassifierFixture<
  LrFit & {
    name: string;
    options: LogisticRegressionOptions;
    classes: number;
    y: number[];
    accuracyTest: number;
  }
> {
  dense: LrFit & {
    X: CsrJson;
    y: number[];
    nTrain: number;
    classes: number;
    options: LogisticRegressionOptions;
  };
}

const fx = loadFixture<LrFixture>('logreg');

/** Our coef (classes × features) in sklearn's coef_ shape (1 row for binary problems). */
function sklearnCoef(coef: Float64Array, classes: number, features: number): Float64Array {
  return classes === 2 ? coef.subarray(features, 2 * features) : coef;
}

describe('logistic regression vs sklearn (TF-IDF fixture)', () => {
  const { X, Xtr, Xte, labels } = splitFixture(fx);
  for (const c of fx.cases) {
    it(`${c.name}: accuracy, probabilities and coefficients`, () => {
      const { yTr, yTe } = labels(c.y);
      const model = fitLogisticRegression(Xtr, yTr, c.classes, c.options);
      const acc = accuracy(yTe, predict(model, Xte));
      assert.ok(Math.abs(acc - c.accuracyTest) <= 0.005, `accuracy ${acc} vs sklearn ${c.accuracyTest}`);
      // The L-BFGS port follows scipy's iterates closely (observed differences ~1e-11), hence
      // tolerances far tighter than the 1e-3 the pipeline needs.
      assertClose(predictProba(model, Xte), c.probaTest, 1e-7, 'predict_proba');
      assertClose(sklearnCoef(model.coef, c.classes, X.cols), c.coef, 1e-6, 'coef');
      assertClose(
        c.classes === 2 ? model.intercept.subarray(1) : model.intercept,
        c.intercept,
        1e-6,
        'intercept',
      );
      assert.equal(model.nIter, c.nIter, 'L-BFGS iterations');
    });
  }
});

describe('logistic regression vs sklearn (well-conditioned dense problem)', () => {
  const d = fx.dense;
  const X = csrFromJson(d.X);
  const idxTr = Array.from({ length: d.nTrain }, (_, i) => i);
  const idxTe = Array.from({ length: X.rows - d.nTrain }, (_, i) => d.nTrain + i);
  const y = Int32Array.from(d.y);
  const model = fitLogisticRegression(selectRows(X, idxTr), y.subarray(0, d.nTrain), d.classes, d.options);
  it('matches coefficients and probabilities tightly', () => {
    assertClose(model.coef, d.coef, 1e-8, 'coef');
    assertClose(model.intercept, d.intercept, 1e-8, 'intercept');
    assertClose(predictProba(model, selectRows(X, idxTe)), d.probaTest, 1e-9, 'predict_proba');
    assert.deepEqual(Array.from(predict(model, selectRows(X, idxTe))), d.predTest);
  });
  it('takes as many L-BFGS iterations as scipy', () => {
    assert.equal(model.nIter, d.nIter);
  });
});

describe('logistic regression behaviour', () => {
  const X = csrFromDense([
    [1, 0],
    [0.9, 0.1],
    [0, 1],
    [0.1, 0.9],
    [0, 0],
  ]);
  it('gives rows of probabilities that sum to 1 and validates inputs', () => {
    const m = fitLogisticRegression(X, Int32Array.from([0, 0, 1, 1, 2]), 3);
    const P = predictProba(m, X);
    for (let i = 0; i < X.rows; i++)
      assert.ok(Math.abs(P[i * 3]! + P[i * 3 + 1]! + P[i * 3 + 2]! - 1) < 1e-12);
    assert.throws(() => fitLogisticRegression(X, Int32Array.from([0, 0, 0, 0, 0]), 2), /at least 2 classes/);
    assert.throws(() => fitLogisticRegression(X, Int32Array.from([0, 1, 0, 1, 3]), 3), RangeError);
    assert.throws(() => fitLogisticRegression(X, Int32Array.from([0, 1]), 2), RangeError);
    assert.throws(() => fitLogisticRegression(X, Int32Array.from([0, 1, 0, 1, 0]), 2, { C: 0 }), RangeError);
    assert.throws(() => predict(m, csrFromDense([[1, 2, 3]])), RangeError);
  });
  it('binary models store row 0 as the negation of row 1', () => {
    const m = fitLogisticRegression(X, Int32Array.from([0, 0, 1, 1, 0]), 2);
    assert.equal(m.multiClass, 'ovr');
    assert.deepEqual(
      Array.from(m.coef.subarray(0, 2)),
      Array.from(m.coef.subarray(2, 4), (v) => -v),
    );
    assert.deepEqual(Array.from(predict(m, X)), [0, 0, 1, 1, 0]);
  });
});

describe('L-BFGS', () => {
  it("the K = 3 softmax pass gives the generic pass's bits: residuals, loss and column sums", () => {
    const rng = new Rng(7);
    const rows = 5000;
    const y = new Int32Array(rows);
    for (let i = 0; i < rows; i++) y[i] = rng.nextInt(3);
    // Scores of every size, ties and ±0 among them, and rows where one class dwarfs the others.
    const scores = new Float64Array(rows * 3);
    for (let i = 0; i < scores.length; i++) {
      const u = rng.nextFloat();
      scores[i] = u < 0.05 ? 0 : u < 0.1 ? -0 : u < 0.15 ? 1 : (rng.nextFloat() - 0.5) * (u < 0.5 ? 4 : 800);
    }
    for (const intercept of [null, new Float64Array([0.25, -1.5, 3e-3])]) {
      const generic = scores.slice();
      const k3 = scores.slice();
      const sumsGeneric = new Float64Array([0.1, 0.2, -0.3]);
      const sumsK3 = sumsGeneric.slice();
      let lossGeneric = 1.5;
      let lossK3 = 1.5;
      // Blocks of rows as the objective passes them, each block's scores from index 0 of a view.
      for (let r0 = 0; r0 < rows; r0 += 1234) {
        const r1 = Math.min(rows, r0 + 1234);
        const a = generic.subarray(3 * r0, 3 * r1);
        lossGeneric = softmaxResidual(a, y, r0, r1, 3, intercept, null, lossGeneric);
        addColumnSums(a, r1 - r0, 3, sumsGeneric);
        lossK3 = softmaxResidual3(k3.subarray(3 * r0, 3 * r1), y, r0, r1, intercept, lossK3, sumsK3);
      }
      const label = intercept === null ? 'no intercept' : 'intercept';
      assert.ok(Object.is(lossK3, lossGeneric), `${label}: loss ${lossK3} vs ${lossGeneric}`);
      assert.deepEqual([...sumsK3], [...sumsGeneric], label);
      const differ = generic.findIndex((v, i) => !Object.is(v, k3[i]));
      assert.equal(differ, -1, `${label}: residual ${differ} differs`);
    }
  });

  it('minimises the Rosenbrock function', () => {
    const r = minimizeLbfgs(
      (x, g) => {
        const a = x[0]!,
          b = x[1]!;
        g[0] = -2 * (1 - a) - 400 * a * (b - a * a);
        g[1] = 200 * (b - a * a);
        return (1 - a) ** 2 + 100 * (b - a * a) ** 2;
      },
      Float64Array.from([-1.2, 1]),
      { gtol: 1e-10, ftol: 0 },
    );
    assertClose(r.x, [1, 1], 1e-6, 'argmin');
    assert.ok(r.nIter < 100, `nIter ${r.nIter}`);
  });
});
