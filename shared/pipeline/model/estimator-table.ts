/**
 * Every estimator, keyed by the name a model file records in `params.solver` (a file without it names
 * "lbfgs"). The model search, the refit and serving look estimators up here and use only the Estimator
 * interface, so a new estimator is one module in estimators/ and one entry.
 */
import { dualCdOvr } from './estimators/dual-cd-ovr';
import { lbfgsMultinomial } from './estimators/lbfgs-multinomial';
import { LinearEstimator } from './estimators/linear-model';

export const ESTIMATORS = {
  lbfgs: lbfgsMultinomial,
  'dual-cd': dualCdOvr,
} as const satisfies Record<string, LinearEstimator>;

export type EstimatorKind = keyof typeof ESTIMATORS;

/** A model one of the table's estimators fitted. */
export type FittedModel = ReturnType<LinearEstimator['fit']>;

/** The estimator a model file names (null: a name this code does not know) and that name, quoted if not a string. */
export function estimatorOf(file: { params?: unknown }): {
  kind: string;
  estimator: LinearEstimator | null;
} {
  const params = file.params;
  const named =
    typeof params === 'object' && params !== null ? (params as { solver?: unknown }).solver : undefined;
  if (named === undefined) return { kind: 'lbfgs', estimator: ESTIMATORS.lbfgs };
  if (typeof named !== 'string' || !Object.hasOwn(ESTIMATORS, named))
    return { kind: JSON.stringify(named), estimator: null };
  return { kind: named, estimator: ESTIMATORS[named as EstimatorKind] };
}

/** The known names, for messages. */
export const ESTIMATOR_KINDS = Object.keys(ESTIMATORS) as EstimatorKind[];
