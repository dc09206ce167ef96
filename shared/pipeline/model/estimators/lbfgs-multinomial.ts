/**
 * Multinomial logistic regression by L-BFGS (sklearn's `LogisticRegression(solver="lbfgs")`; a single
 * binary problem for two classes): the topic models' estimator.
 */
import { fitLogisticRegression } from '../../../core/numeric/logistic-regression';
import { LINEAR_SECTION, LinearEstimator, fittedLinear } from './linear-model';

export const lbfgsMultinomial: LinearEstimator = {
  title: 'L-BFGS',
  fit({ X, y, classes, sampleWeight }, hyper) {
    const model = fitLogisticRegression(X, y, classes, {
      C: hyper.C,
      maxIter: hyper.maxIter,
      ...(sampleWeight ? { sampleWeight } : {}),
    });
    return fittedLinear(model, 'lbfgs', hyper);
  },
  ...LINEAR_SECTION,
};
