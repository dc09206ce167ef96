/**
 * One-vs-rest logistic regression by dual coordinate descent (LIBLINEAR's `solve_l2r_lr_dual`): the
 * category models' estimator, which fits 100k+ word and bigram features in about a second where L-BFGS
 * needs several.
 */
import {
  DualLogisticOptions,
  combineDualRows,
  dualProblem,
  dualProblemClasses,
  fitLogisticRegressionDual,
} from '../../../core/numeric/dual-logistic';
import { FitData, Hyperparameters } from '../estimator';
import { linearEstimator } from './linear-model';

/**
 * Stopping tolerance in cross-validation fits. The search only ranks candidates, and on the dev data 1e-3
 * gives the same predictions as sklearn's default 1e-4 in 20–25 % fewer passes; the refit of the winner
 * uses the default.
 */
const SEARCH_TOL = 1e-3;

function options(data: FitData, hyper: Readonly<Hyperparameters>): DualLogisticOptions {
  return {
    C: hyper.C,
    maxIter: hyper.maxIter,
    sampleWeight: data.sampleWeight,
    seed: hyper.seed,
    ...(hyper.purpose === 'cv' ? { tol: SEARCH_TOL } : {}),
  };
}

export const dualCdOvr = linearEstimator(
  'dual coordinate descent',
  'dual-cd',
  // It holds the fit's rows whole and streams them every pass (dual-logistic.ts).
  'count8',
  (data, hyper) => fitLogisticRegressionDual(data.X, data.y, data.classes, options(data, hyper)),
  // One binary problem per class, each from its own Rng(seed): solved apart, the same rows.
  {
    problems: dualProblemClasses,
    fitPart: (data, hyper, problem) => {
      const r = dualProblem(data.X, data.y, data.classes, options(data, hyper)).solve(problem);
      return { problem, weights: r.coef, intercept: r.intercept, iterations: r.nIter };
    },
    combine: (parts, classes, features) =>
      combineDualRows(
        classes,
        features,
        parts.map((p) => ({ c: p.problem, coef: p.weights, intercept: p.intercept, nIter: p.iterations })),
      ),
  },
);
