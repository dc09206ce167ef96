import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { balancedClassWeights, sampleWeightsFor } from '../../shared/core/numeric/class-weight';
import { csrFromDense, selectRows } from '../../shared/core/numeric/csr';
import {
  LogisticRegressionOptions,
  fitLogisticRegression,
  predict,
  predictProba,
} from '../../shared/core/numeric/logistic-regression';
import { accuracy } from '../../shared/core/numeric/metrics';
import { ClassifierCase, ClassifierFixture, assertClose, loadFixture, splitFixture } from './fixtures';

type WeightedFixture = ClassifierFixture<
  ClassifierCase & {
    options: LogisticRegressionOptions;
    classWeight: 'balanced' | null;
    sampleWeight: number[];
    nIter: number;
  }
>;

const fx = loadFixture<WeightedFixture>('logreg_weighted');

describe('weighted logistic regression (L-BFGS) vs sklearn sample_weight / class_weight', () => {
  const { X, Xtr, Xte, labels } = splitFixture(fx);
  for (const c of fx.cases) {
    it(`${c.name}: coefficients, probabilities and iterations`, () => {
      const { yTr, yTe } = labels(c.y);
      let sampleWeight: Float64Array = Float64Array.from(c.sampleWeight);
      if (c.classWeight === 'balanced') {
        const w = sampleWeightsFor(yTr, balancedClassWeights(yTr, c.classes));
        assertClose(w, sampleWeight, 1e-12, 'balanced sample weights');
        sampleWeight = w;
      }
      const model = fitLogisticRegression(Xtr, yTr, c.classes, { ...c.options, sampleWeight });
      // Tolerances as for the unweighted TF-IDF fixture (logistic-regression.test.ts).
      assertClose(predictProba(model, Xte), c.probaTest, 1e-7, 'predict_proba');
      assertClose(c.classes === 2 ? model.coef.subarray(X.cols) : model.coef, c.coef, 1e-6, 'coef');
      assertClose(
        c.classes === 2 ? model.intercept.subarray(1) : model.intercept,
        c.intercept,
        1e-6,
        'intercept',
      );
      assert.deepEqual(Array.from(predict(model, Xte)), c.predTest);
      assert.equal(accuracy(yTe, predict(model, Xte)), c.accuracyTest);
      assert.equal(model.nIter, c.nIter, 'L-BFGS iterations');
    });
  }
});

describe('logistic regression sample weights', () => {
  const X = csrFromDense([
    [1, 0],
    [0.9, 0.1],
    [0, 1],
    [0.1, 0.9],
    [0.5, 0.5],
  ]);
  const y = Int32Array.from([0, 0, 1, 1, 2]);

  it('all-ones weights reproduce the unweighted fit exactly', () => {
    for (const multiClass of ['multinomial', 'ovr'] as const) {
      const a = fitLogisticRegression(X, y, 3, { multiClass });
      const b = fitLogisticRegression(X, y, 3, { multiClass, sampleWeight: new Float64Array(5).fill(1) });
      assert.deepEqual(b, a);
    }
  });

  it('an integer weight equals repeating the sample', () => {
    const w = Float64Array.from([1, 2, 1, 1, 1]);
    const a = fitLogisticRegression(X, y, 3, { sampleWeight: w, tol: 1e-10 });
    const b = fitLogisticRegression(
      selectRows(X, [0, 1, 1, 2, 3, 4]),
      Int32Array.from([0, 0, 0, 1, 1, 2]),
      3,
      {
        tol: 1e-10,
      },
    );
    assertClose(a.coef, b.coef, 1e-7, 'coef');
    assertClose(a.intercept, b.intercept, 1e-7, 'intercept');
  });

  it('rejects weights of the wrong length, negative or not finite', () => {
    assert.throws(
      () => fitLogisticRegression(X, y, 3, { sampleWeight: new Float64Array(4) }),
      /sampleWeight has 4/,
    );
    assert.throws(
      () => fitLogisticRegression(X, y, 3, { sampleWeight: Float64Array.from([1, 1, -0.5, 1, 1]) }),
      /sampleWeight\[2\]/,
    );
    assert.throws(
      () => fitLogisticRegression(X, y, 3, { sampleWeight: Float64Array.from([1, NaN, 1, 1, 1]) }),
      RangeError,
    );
  });
});
