/**
 * What the model search, the refit and serving know of a trainer: fit on TF-IDF rows with labels and
 * sample weights, predict, and write its parameters to its section of `model.json` and read them back
 * (through the packed form a worker thread hands over without copying). Implementations live in
 * estimators/ and are registered in estimator-table.ts, keyed by the model file's `params.solver`.
 */
import { CountRows } from '../../core/numeric/count-rows';
import { CsrMatrix, CsrValues } from '../../core/numeric/csr';

/** The rows to fit: X (rows × features), a label in [0, classes) per row, optional per-row weights. */
export interface FitData {
  /** in the precision the estimator's `fitValues` names (another works, at the cost of a copy) */
  X: CsrMatrix<CsrValues> | CountRows;
  y: Int32Array;
  classes: number;
  /** finite and ≥ 0, one per row; null: every row weighs 1 (class weighting arrives as these) */
  sampleWeight: Float64Array | null;
}

/** The hyper-parameters a search candidate fixes, and what the model file records of them. */
export interface Hyperparameters {
  /** inverse regularisation strength */
  C: number;
  /** recorded in the model file; the weights themselves are FitData.sampleWeight */
  classWeight: 'none' | 'balanced';
  /** the solver's iteration cap */
  maxIter: number;
  /** the pipeline's `penalty`, recorded in the model file */
  penalty: string;
  /** seed of any randomness in the fit (the same seed, the same model) */
  seed: number;
  /** a cross-validation fit only ranks candidates (an estimator may stop earlier); a refit is the model */
  purpose: 'cv' | 'refit';
}

/** A model ready to score rows of the features it was fitted on. */
export interface Predictor {
  classes: number;
  features: number;
  /** rows × classes, row-major; each row sums to 1 */
  probabilities(X: CsrMatrix): Float64Array;
  /** the best class of each row (the highest score, the lowest class on ties) */
  predict(X: CsrMatrix): Int32Array;
}

/** A fitted model: a predictor that can write itself to the model file. */
export interface Fitted<Section> extends Predictor {
  /** the solver's iterations the fit took */
  iterations: number;
  /** this model's section of `model.json`: plain JSON, its keys in the order they are written */
  write(): Section;
}

/** The large arrays of a section, packed: transferable buffers, named as the section's fields they replace. */
export type PackedParameters = Record<string, Float64Array>;

/** One of a fit's independent problems, solved on its own: its weight row (a class's, for one-vs-rest). */
export interface FittedPart {
  /** which problem (fitParts.problems lists them) */
  problem: number;
  /** one weight per feature */
  weights: Float64Array;
  intercept: number;
  /** the solver's iterations this problem took */
  iterations: number;
}

/**
 * A fit made of independent problems (one-vs-rest's binary problems), which a refit over many tickets
 * runs as one job per problem: `combine` of every problem's `fitPart` gives what `fit` gives, bit for bit.
 */
export interface PartedFit<Section> {
  /** the problems a fit of `classes` classes solves */
  problems(classes: number): number[];
  fitPart(data: FitData, hyper: Readonly<Hyperparameters>, problem: number): FittedPart;
  /** the model of every problem's part (each once, any order), over `features` features */
  combine(
    parts: readonly FittedPart[],
    classes: number,
    features: number,
    hyper: Readonly<Hyperparameters>,
  ): Fitted<Section>;
}

export interface Estimator<Section extends object, Packed extends PackedParameters> {
  /** what the log calls it */
  title: string;
  /**
   * How the rows `fit` holds are read: a fit over a large matrix held whole reads single precision
   * (8 bytes a non-zero) or one-byte counts (5; count-rows.ts, single precision where a count does not
   * fit a byte) instead of double (12). Scoring always reads double, as serving does.
   */
  fitValues: 'float32' | 'float64' | 'count8';
  fit(data: FitData, hyper: Readonly<Hyperparameters>): Fitted<Section>;
  /** present when the fit is independent problems that may be solved apart */
  parts?: PartedFit<Section>;
  /** The first thing wrong with the section in a parsed model file of `classes` × `features`, or null. */
  sectionProblem(file: Readonly<Record<string, unknown>>, classes: number, features: number): string | null;
  /** The section's large arrays (a validated section); the rest of the section stays in the header. */
  pack(section: Section): Packed;
  /** A predictor over a packed section: cheap, it wraps the arrays. */
  read(header: Omit<Section, keyof Packed>, packed: Packed, classes: number): Predictor;
}
