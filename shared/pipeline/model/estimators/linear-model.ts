/**
 * The model-file section of a linear classifier (one weight row and intercept per class), shared by the
 * logistic-regression estimators: writing a fitted LogisticModel, validating, packing and reading it back.
 * Reading predicts with the numeric core's predictProba on the same doubles, so a loaded model's
 * probabilities equal the fitted model's bit for bit.
 */
import { CsrMatrix } from '../../../core/numeric/csr';
import { LogisticModel, predict, predictProba } from '../../../core/numeric/logistic-regression';
import { Estimator, FitData, Fitted, FittedPart, Hyperparameters, PartedFit, Predictor } from '../estimator';

/** The linear section of `model.json`, in the order its keys are written. */
export interface LinearModelSection {
  /** classes × vocabulary */
  coef: number[][];
  intercept: number[];
  /** how scores become probabilities: softmax, or one-vs-rest sigmoids normalised to sum 1 */
  multiClass: 'multinomial' | 'ovr';
  params: {
    C: number;
    penalty: string;
    maxIter: number;
    /** absent in models trained before the search: "none" */
    classWeight?: 'none' | 'balanced';
    /** the estimator (estimator-table.ts); absent: "lbfgs" */
    solver?: string;
  };
  /** the solver's iterations the fit took */
  iterations: number;
}

/** The linear section's arrays, packed: coef classes × features, row-major. */
export type LinearParameters = { coef: Float64Array; intercept: Float64Array };

export type LinearEstimator = Estimator<LinearModelSection, LinearParameters>;

function predictor(model: LogisticModel): Predictor {
  return {
    classes: model.classes,
    features: model.features,
    probabilities: (X: CsrMatrix) => predictProba(model, X),
    predict: (X: CsrMatrix) => predict(model, X),
  };
}

/** A fitted LogisticModel of estimator `solver` with the hyper-parameters it was fitted with. */
function fittedLinear(
  model: LogisticModel,
  solver: string,
  hyper: Readonly<Hyperparameters>,
): Fitted<LinearModelSection> {
  const F = model.features;
  return {
    ...predictor(model),
    iterations: model.nIter,
    write: () => ({
      coef: Array.from({ length: model.classes }, (_, c) =>
        Array.from(model.coef.subarray(c * F, (c + 1) * F)),
      ),
      intercept: Array.from(model.intercept),
      multiClass: model.multiClass,
      params: {
        C: hyper.C,
        penalty: hyper.penalty,
        maxIter: hyper.maxIter,
        classWeight: hyper.classWeight,
        solver,
      },
      iterations: model.nIter,
    }),
  };
}

const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** The first thing wrong with a parsed file's linear section (k classes, F features), or null. */
function linearSectionProblem(m: Readonly<Record<string, unknown>>, k: number, F: number): string | null {
  if (!Array.isArray(m.coef) || m.coef.length !== k) return `"coef" must hold ${k} rows, one per class`;
  for (let c = 0; c < k; c++) {
    const row: unknown = m.coef[c];
    if (!Array.isArray(row) || row.length !== F || !row.every(isFiniteNumber)) {
      return `coef row ${c} must hold ${F} finite numbers, one per vocabulary term`;
    }
  }
  if (!Array.isArray(m.intercept) || m.intercept.length !== k || !m.intercept.every(isFiniteNumber)) {
    return `"intercept" must hold ${k} finite numbers, one per class`;
  }
  if (m.multiClass !== 'multinomial' && m.multiClass !== 'ovr') {
    return `"multiClass" ${JSON.stringify(m.multiClass)} is not "multinomial" or "ovr"`;
  }
  if (!isFiniteNumber(m.iterations)) return '"iterations" must be a number';
  return null;
}

function packLinear(section: LinearModelSection): LinearParameters {
  const rows = section.coef;
  const F = rows[0]?.length ?? 0;
  const coef = new Float64Array(rows.length * F);
  rows.forEach((row, c) => coef.set(row, c * F));
  return { coef, intercept: Float64Array.from(section.intercept) };
}

function readLinear(
  header: Omit<LinearModelSection, 'coef' | 'intercept'>,
  packed: LinearParameters,
  classes: number,
): Predictor {
  return predictor({
    classes,
    features: packed.coef.length / classes,
    coef: packed.coef,
    intercept: packed.intercept,
    multiClass: header.multiClass,
    nIter: header.iterations,
  });
}

/**
 * How a linear estimator made of independent problems solves one and joins them into a LogisticModel
 * (see PartedFit).
 */
export interface LinearParts {
  problems(classes: number): number[];
  fitPart(data: FitData, hyper: Readonly<Hyperparameters>, problem: number): FittedPart;
  combine(parts: readonly FittedPart[], classes: number, features: number): LogisticModel;
}

/**
 * A linear estimator: `fit` gives a LogisticModel, and the section (written with `solver`, the estimator's
 * name in estimator-table.ts) is validated, packed and read as every linear model's.
 */
export function linearEstimator(
  title: string,
  solver: string,
  fitValues: LinearEstimator['fitValues'],
  fit: (data: FitData, hyper: Readonly<Hyperparameters>) => LogisticModel,
  parts?: LinearParts,
): LinearEstimator {
  const parted: PartedFit<LinearModelSection> | undefined = parts && {
    problems: parts.problems,
    fitPart: parts.fitPart,
    combine: (found, classes, features, hyper) =>
      fittedLinear(parts.combine(found, classes, features), solver, hyper),
  };
  return {
    title,
    fitValues,
    fit: (data, hyper) => fittedLinear(fit(data, hyper), solver, hyper),
    ...(parted ? { parts: parted } : {}),
    sectionProblem: linearSectionProblem,
    pack: packLinear,
    read: readLinear,
  };
}
