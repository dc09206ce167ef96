import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { balancedClassWeights, sampleWeightsFor } from '../../shared/core/numeric/class-weight';
import { csrFromDense, selectRows } from '../../shared/core/numeric/csr';
import {
  DualLogisticOptions,
  combineDualRows,
  dualProblem,
  dualProblemClasses,
  fitLogisticRegressionDual,
} from '../../shared/core/numeric/dual-logistic';
import { predict, predictProba } from '../../shared/core/numeric/logistic-regression';
import { accuracy } from '../../shared/core/numeric/metrics';
import {
  ClassifierCase,
  ClassifierFixture,
  assertClose,
  loadFixture,
  maxAbsDiff,
  splitFixture,
} from './fixtures';

type DualFixture = ClassifierFixture<
  ClassifierCase & {
    options: DualLogisticOptions;
    sampleWeight: number[] | null;
    /** coef holds one sklearn binary fit per class (only class 1 for 2 classes): rows × features */
    coefShape: [number, number];
    nIter: number[];
  }
>;

const fx = loadFixture<DualFixture>('dual_logreg');

describe('dual coordinate descent logistic regression vs sklearn liblinear (dual=True)', () => {
  const { X, Xtr, Xte, labels } = splitFixture(fx);
  for (const c of fx.cases) {
    it(`${c.name}: coefficients, intercepts and OvR probabilities`, () => {
      const { yTr, yTe } = labels(c.y);
      const sampleWeight = c.sampleWeight === null ? null : Float64Array.from(c.sampleWeight);
      // Both sides are solved to a dual gradient below 1e-8 (sklearn: tol=1e-8, max_iter=10000), so they
      // agree far beyond what their different coordinate orders would allow at the default tolerance.
      const model = fitLogisticRegressionDual(Xtr, yTr, c.classes, {
        ...c.options,
        sampleWeight,
        tol: 1e-8,
        maxIter: 10000,
      });
      const F = X.cols;
      const rows = c.classes === 2 ? model.coef.subarray(F) : model.coef;
      const scale = Math.max(...c.coef.map(Math.abs));
      const dc = maxAbsDiff(rows, c.coef);
      assert.ok(dc <= 1e-5 * scale, `coef: max |diff| ${dc} > 1e-5 · ${scale}`);
      assertClose(
        c.classes === 2 ? model.intercept.subarray(1) : model.intercept,
        c.intercept,
        1e-5 * scale,
        'intercept',
      );
      assertClose(predictProba(model, Xte), c.probaTest, 1e-6, 'predict_proba');
      assert.deepEqual(Array.from(predict(model, Xte)), c.predTest);
      assert.equal(accuracy(yTe, predict(model, Xte)), c.accuracyTest);
      assert.equal(model.multiClass, 'ovr');
      // Iteration counts depend on the coordinate order; they stay in the same range as liblinear's.
      const skMax = Math.max(...c.nIter);
      assert.ok(
        model.nIter <= 2 * skMax && model.nIter >= skMax / 2,
        `nIter ${model.nIter} vs sklearn ${skMax}`,
      );
    });
  }

  it('balanced sample weights give the fixture weights', () => {
    const c = fx.cases.find((k) => k.name === 'ovr4_C10_balanced')!;
    const { yTr } = labels(c.y);
    const w = sampleWeightsFor(yTr, balancedClassWeights(yTr, c.classes));
    assertClose(w, c.sampleWeight!, 1e-12, 'sample weights');
  });

  it('at the default tolerance the fit is close to the converged one', () => {
    const c = fx.cases[0]!;
    const { yTr } = labels(c.y);
    const model = fitLogisticRegressionDual(Xtr, yTr, c.classes, c.options);
    assertClose(model.coef, c.coef, 1e-4, 'coef at tol 1e-4');
    assertClose(predictProba(model, Xte), c.probaTest, 1e-5, 'predict_proba at tol 1e-4');
  });
});

describe('dual coordinate descent behaviour', () => {
  const X = csrFromDense([
    [1, 0, 0.5],
    [0.9, 0.1, 0],
    [0, 1, 0.2],
    [0.1, 0.9, 0],
    [0, 0, 1],
    [0.2, 0, 0.8],
  ]);
  const y = Int32Array.from([0, 0, 1, 1, 2, 2]);

  it('is deterministic for a seed and reaches the same optimum from another seed', () => {
    const a = fitLogisticRegressionDual(X, y, 3, { seed: 3, tol: 1e-10 });
    const b = fitLogisticRegressionDual(X, y, 3, { seed: 3, tol: 1e-10 });
    const c = fitLogisticRegressionDual(X, y, 3, { seed: 4, tol: 1e-10 });
    assert.deepEqual(a, b);
    assertClose(c.coef, a.coef, 1e-8, 'coef from another seed');
    assertClose(c.intercept, a.intercept, 1e-8, 'intercept from another seed');
    assert.deepEqual(Array.from(predict(a, X)), Array.from(y));
  });

  it('solves the single-precision problem: double rows and their rounding give the same model', () => {
    // 0.9, 0.1 and 0.2 are not single-precision numbers, so the rounded matrix has other values.
    const rounded = { ...X, data: Float32Array.from(X.data) };
    assert.notDeepEqual(Float64Array.from(rounded.data), X.data);
    const a = fitLogisticRegressionDual(X, y, 3, { seed: 3, tol: 1e-10 });
    const b = fitLogisticRegressionDual(rounded, y, 3, { seed: 3, tol: 1e-10 });
    assert.deepEqual(b, a);
  });

  it('binary models store row 0 as the negation of row 1', () => {
    const m = fitLogisticRegressionDual(X, Int32Array.from([0, 0, 1, 1, 0, 1]), 2);
    assert.deepEqual(
      Array.from(m.coef.subarray(0, 3)),
      Array.from(m.coef.subarray(3, 6), (v) => -v),
    );
    assert.equal(m.intercept[0], -m.intercept[1]!);
    const P = predictProba(m, X);
    for (let i = 0; i < X.rows; i++) assert.ok(Math.abs(P[2 * i]! + P[2 * i + 1]! - 1) < 1e-12);
  });

  it('leaves out samples of weight 0 and treats interceptScaling 0 as no intercept', () => {
    const w = Float64Array.from([1, 1, 1, 1, 1, 0]);
    const a = fitLogisticRegressionDual(X, y, 3, { sampleWeight: w, tol: 1e-10 });
    const keep = [0, 1, 2, 3, 4];
    const b = fitLogisticRegressionDual(selectRows(X, keep), y.subarray(0, 5), 3, { tol: 1e-10 });
    assertClose(a.coef, b.coef, 1e-8, 'coef without the zero-weight sample');
    const n = fitLogisticRegressionDual(X, y, 3, { interceptScaling: 0 });
    assert.deepEqual(Array.from(n.intercept), [0, 0, 0]);
  });

  it('its binary problems solved apart, each in a fresh problem and in any order, join into the same model', () => {
    const w = Float64Array.from([1, 2, 1, 0.5, 1, 3]);
    for (const [labels, classes] of [
      [y, 3],
      [Int32Array.from([0, 0, 1, 1, 0, 1]), 2],
    ] as const) {
      const opts = { seed: 7, sampleWeight: w, C: 3 };
      const whole = fitLogisticRegressionDual(X, labels, classes, opts);
      const problems = dualProblemClasses(classes);
      assert.deepEqual(problems, classes === 2 ? [1] : [0, 1, 2]);
      const rows = [...problems].reverse().map((c) => dualProblem(X, labels, classes, opts).solve(c));
      assert.deepEqual(combineDualRows(classes, X.cols, rows), whole);
    }
    const p = dualProblem(X, y, 3, { seed: 7 });
    const rows = [0, 1, 2].map((c) => p.solve(c));
    assert.throws(() => p.solve(3), /class 3 is not one of the binary problems of 3 classes/);
    assert.throws(
      () => combineDualRows(3, X.cols, rows.slice(1)),
      /class 0's binary problem is solved 0 times/,
    );
    assert.throws(
      () => combineDualRows(3, X.cols, [...rows, rows[1]!]),
      /class 1's binary problem is solved 2 times/,
    );
    assert.throws(() => combineDualRows(3, X.cols + 1, rows), /holds 3 weights, not the 4 features'/);
  });

  it('validates its inputs', () => {
    assert.throws(
      () => fitLogisticRegressionDual(X, Int32Array.from([0, 0, 0, 0, 0, 0]), 2),
      /at least 2 classes/,
    );
    assert.throws(() => fitLogisticRegressionDual(X, Int32Array.from([0, 1, 0, 1, 0, 3]), 3), RangeError);
    assert.throws(() => fitLogisticRegressionDual(X, Int32Array.from([0, 1]), 2), RangeError);
    assert.throws(() => fitLogisticRegressionDual(X, y, 1), RangeError);
    assert.throws(() => fitLogisticRegressionDual(X, y, 3, { C: 0 }), /C must be a positive/);
    assert.throws(() => fitLogisticRegressionDual(X, y, 3, { maxIter: 1.5 }), /maxIter/);
    assert.throws(() => fitLogisticRegressionDual(X, y, 3, { tol: -1 }), /tol/);
    assert.throws(() => fitLogisticRegressionDual(X, y, 3, { interceptScaling: -1 }), /interceptScaling/);
    assert.throws(
      () => fitLogisticRegressionDual(X, y, 3, { sampleWeight: new Float64Array(5) }),
      /sampleWeight has 5 values/,
    );
    assert.throws(
      () => fitLogisticRegressionDual(X, y, 3, { sampleWeight: Float64Array.from([1, 1, -1, 1, 1, 1]) }),
      /sampleWeight\[2\]/,
    );
  });
});
