/**
 * Multinomial logistic regression by L-BFGS (sklearn's `LogisticRegression(solver="lbfgs")`; a single
 * binary problem for two classes): the topic models' estimator.
 */
import { countRowsBlock, isCountRows } from '../../../core/numeric/count-rows';
import { fitLogisticRegression } from '../../../core/numeric/logistic-regression';
import { linearEstimator } from './linear-model';

export const lbfgsMultinomial = linearEstimator(
  'L-BFGS',
  'lbfgs',
  'float64',
  ({ X, y, classes, sampleWeight }, hyper) =>
    fitLogisticRegression(
      isCountRows(X)
        ? countRowsBlock(X, 0, X.rows)
        : X.data instanceof Float64Array
          ? { ...X, data: X.data }
          : { ...X, data: Float64Array.from(X.data) },
      y,
      classes,
      {
        C: hyper.C,
        maxIter: hyper.maxIter,
        ...(sampleWeight ? { sampleWeight } : {}),
      },
    ),
);
