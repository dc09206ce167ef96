/**
 * L2-penalised logistic regression fitted with L-BFGS, following sklearn 1.2.1
 * LogisticRegression(solver='lbfgs', penalty='l2') and _logistic_regression_path:
 *   objective = Σ_i loss_i + 1/(2C)·‖W‖²  (sum, not mean; intercepts are not penalised)
 * with HalfMultinomialLoss (loss_i = logsumexp(z_i) − z_i[y_i]) for multinomial and
 * HalfBinomialLoss (loss_i = log(1 + e^z_i) − y_i·z_i) for each one-vs-rest problem; scipy's
 * L-BFGS-B is called with gtol = tol and maxiter = maxIter (other options at scipy defaults).
 */
import { CsrMatrix, transpose } from './csr';
import { minimizeLbfgs } from './lbfgs';
import { spmm, spmmTransposed } from './sparse-kernels';
import { rowBlockProducts } from './wasm/row-block-products';

export interface LogisticRegressionOptions {
  /** Inverse regularisation strength (default 1.0). */
  C?: number;
  /** L-BFGS iterations (default 100, like sklearn). */
  maxIter?: number;
  /** Gradient tolerance, max|g| (default 1e-4). */
  tol?: number;
  /** Fit unpenalised intercepts (default true). */
  fitIntercept?: boolean;
  /**
   * Default mirrors sklearn's multi_class='auto' with lbfgs: 'multinomial' for > 2 classes, a single
   * binary ('ovr') problem for 2 classes.
   */
  multiClass?: 'multinomial' | 'ovr';
  /**
   * Per-sample weights multiplying each sample's loss and gradient (default none = all 1), like
   * sklearn's `fit(X, y, sample_weight)`; class_weight='balanced' with multinomial is the same as
   * sampleWeight[i] = balanced weight of y[i] (see class-weight.ts). Must be finite and >= 0.
   */
  sampleWeight?: Float64Array | null;
}

export interface LogisticModel {
  classes: number;
  features: number;
  /** classes × features, row-major. For binary problems row 0 is the negation of row 1. */
  coef: Float64Array;
  intercept: Float64Array;
  multiClass: 'multinomial' | 'ovr';
  /** L-BFGS iterations (the maximum over the binary problems for 'ovr'). */
  nIter: number;
}

interface ResolvedLrOptions {
  C: number;
  maxIter: number;
  tol: number;
  fitIntercept: boolean;
  multiClass: 'multinomial' | 'ovr';
  sampleWeight: Float64Array | null;
}

function resolveOptions(
  o: LogisticRegressionOptions | undefined,
  classes: number,
  rows: number,
): ResolvedLrOptions {
  const r: ResolvedLrOptions = {
    C: o?.C ?? 1.0,
    maxIter: o?.maxIter ?? 100,
    tol: o?.tol ?? 1e-4,
    fitIntercept: o?.fitIntercept ?? true,
    multiClass: o?.multiClass ?? (classes > 2 ? 'multinomial' : 'ovr'),
    sampleWeight: o?.sampleWeight ?? null,
  };
  checkSolverOptions(r, rows);
  if (r.multiClass !== 'multinomial' && r.multiClass !== 'ovr') {
    throw new RangeError(`multiClass must be 'multinomial' or 'ovr', got ${String(r.multiClass)}`);
  }
  return r;
}

/**
 * The options both logistic-regression solvers share (this file's L-BFGS and dual-logistic.ts): C, the
 * iteration cap, the tolerance and per-sample weights for `rows` samples.
 */
export function checkSolverOptions(
  r: { C: number; maxIter: number; tol: number; sampleWeight: Float64Array | null },
  rows: number,
): void {
  if (!(r.C > 0) || !Number.isFinite(r.C))
    throw new RangeError(`C must be a positive finite number, got ${r.C}`);
  if (!Number.isInteger(r.maxIter) || r.maxIter < 0)
    throw new RangeError(`maxIter must be a non-negative integer, got ${r.maxIter}`);
  if (!(r.tol >= 0)) throw new RangeError(`tol must be >= 0, got ${r.tol}`);
  const sw = r.sampleWeight;
  if (sw !== null) {
    if (sw.length !== rows) throw new RangeError(`sampleWeight has ${sw.length} values, X has ${rows} rows`);
    for (let i = 0; i < rows; i++) {
      const v = sw[i]!;
      if (!(v >= 0) || !Number.isFinite(v))
        throw new RangeError(`sampleWeight[${i}] = ${v} is not a finite number >= 0`);
    }
  }
}

/**
 * What both solvers require of their data: `classes` ≥ 2, one label per row of X, every label in
 * [0, classes), and at least two classes present (sklearn's messages).
 */
export function checkLabels(X: { rows: number }, y: Int32Array, classes: number): void {
  if (!Number.isInteger(classes) || classes < 2)
    throw new RangeError(`classes must be an integer >= 2, got ${classes}`);
  if (y.length !== X.rows) throw new RangeError(`y has ${y.length} labels, X has ${X.rows} rows`);
  const seen = new Uint8Array(classes);
  for (let i = 0; i < y.length; i++) {
    const v = y[i]!;
    if (v < 0 || v >= classes) throw new RangeError(`y[${i}] = ${v} is outside [0, ${classes})`);
    seen[v] = 1;
  }
  if (seen.reduce((s, v) => s + v, 0) < 2) {
    throw new RangeError(
      'This solver needs samples of at least 2 classes in the data, but the data contains only one class',
    );
  }
}

export function fitLogisticRegression(
  X: CsrMatrix,
  y: Int32Array,
  classes: number,
  opts?: LogisticRegressionOptions,
): LogisticModel {
  checkLabels(X, y, classes);
  const o = resolveOptions(opts, classes, X.rows);
  const F = X.cols;
  const coef = new Float64Array(classes * F);
  const intercept = new Float64Array(classes);
  let nIter = 0;

  if (o.multiClass === 'multinomial') {
    const K = classes;
    const w0 = new Float64Array((F + (o.fitIntercept ? 1 : 0)) * K);
    const res = minimizeLbfgs(multinomialObjective(X, y, K, o), w0, {
      maxIter: o.maxIter,
      gtol: o.tol,
    });
    nIter = res.nIter;
    const w = res.x;
    for (let j = 0; j < F; j++) for (let c = 0; c < K; c++) coef[c * F + j] = w[j * K + c]!;
    if (o.fitIntercept) for (let c = 0; c < K; c++) intercept[c] = w[F * K + c]!;
  } else {
    const target = new Float64Array(X.rows);
    const Xt = gradientTranspose(X, 1);
    const problems = classes === 2 ? [1] : Array.from({ length: classes }, (_, c) => c);
    for (const c of problems) {
      for (let i = 0; i < y.length; i++) target[i] = y[i] === c ? 1 : 0;
      const w0 = new Float64Array(F + (o.fitIntercept ? 1 : 0));
      const res = minimizeLbfgs(binomialObjective(X, Xt, target, o), w0, {
        maxIter: o.maxIter,
        gtol: o.tol,
      });
      nIter = Math.max(nIter, res.nIter);
      coef.set(res.x.subarray(0, F), c * F);
      intercept[c] = o.fitIntercept ? res.x[F]! : 0;
    }
  }
  if (classes === 2) {
    // sklearn keeps only the class-1 row and predicts with softmax([−z, z]) or [1 − σ(z), σ(z)].
    for (let j = 0; j < F; j++) coef[j] = -coef[F + j]!;
    intercept[0] = -intercept[1]!;
  }
  return { classes, features: F, coef, intercept, multiClass: o.multiClass, nIter };
}

/** What the objectives take of the resolved options: the penalty, the intercept and the sample weights. */
type ObjectiveOptions = Pick<ResolvedLrOptions, 'C' | 'fitIntercept' | 'sampleWeight'>;

/**
 * Residuals of at most this many numbers (4 MB) are multiplied by Xᵀ as a gather over a transposed copy
 * of X; larger ones are scattered over X's rows (spmmTransposed), which is faster once the residual
 * outgrows the cache (~6× at 1.1M rows, K = 3) and needs no copy of X (12 bytes a non-zero). Both sum in
 * the same order: the same bits either way.
 */
const GATHER_MAX_RESIDUAL = 1 << 19;

/** Xᵀ for a gather when the residual (rows × K) is small enough (GATHER_MAX_RESIDUAL), else null. */
function gradientTranspose(X: CsrMatrix, K: number): CsrMatrix | null {
  return X.rows * K <= GATHER_MAX_RESIDUAL ? transpose(X) : null;
}

/** g (cols × K) = Xᵀ·R: a gather over Xt when there is one, else a scatter over X's rows. */
function transposeProduct(X: CsrMatrix, Xt: CsrMatrix | null, R: Float64Array, K: number, g: Float64Array) {
  if (Xt !== null) spmm(Xt, R, K, g);
  else spmmTransposed(X, R, K, g);
}

/**
 * Multinomial objective; parameters laid out feature-major (w[j·K + c]) with intercepts last, like sklearn's
 * F-ordered ravel. X·W and Xᵀ·residual run in WebAssembly a block of rows at a time (row-block-products.ts),
 * summing in the order of the whole-matrix products: the loss and gradient have the same bits.
 */
function multinomialObjective(X: CsrMatrix, y: Int32Array, K: number, o: ObjectiveOptions) {
  const { fitIntercept, sampleWeight } = o;
  const F = X.cols;
  const products = rowBlockProducts(X, K);
  const invC = 1 / o.C;
  return (w: Float64Array, g: Float64Array): number => {
    const intercept = fitIntercept ? w.subarray(F * K) : null;
    const interceptGradient = fitIntercept ? g.subarray(F * K).fill(0) : null;
    let loss = 0;
    // Each block's scores X·W (+ b) become the residual softmax − onehot in place, then Xᵀ·residual is
    // added to the gradient; the intercepts' gradient is the residual's column sums.
    products.pass(w, g, (scores, r0, r1) => {
      if (K === 3 && sampleWeight === null) {
        loss = softmaxResidual3(scores, y, r0, r1, intercept, loss, interceptGradient);
        return;
      }
      loss = softmaxResidual(scores, y, r0, r1, K, intercept, sampleWeight, loss);
      if (interceptGradient !== null) addColumnSums(scores, r1 - r0, K, interceptGradient);
    });
    return loss + addL2(w, g, F * K, invC);
  };
}

/**
 * Turns the raw scores of rows [r0, r1) (held from index 0 of `raw`, (r1 − r0) × K, plus optional
 * intercepts) into softmax − onehot in place and returns `loss` plus their Σ_i logsumexp(z_i) − z_i[y_i]
 * (HalfMultinomialLoss), computed with the row max shifted out: added row after row, so a pass over blocks
 * sums in the order of one pass over all rows. With sample weights s_i, row i of the residual and its loss
 * term are multiplied by s_i.
 */
export function softmaxResidual(
  raw: Float64Array,
  y: Int32Array,
  r0: number,
  r1: number,
  K: number,
  intercept: Float64Array | null,
  sampleWeight: Float64Array | null,
  loss: number,
): number {
  for (let i = r0; i < r1; i++) {
    const o = (i - r0) * K;
    if (intercept !== null) for (let c = 0; c < K; c++) raw[o + c]! += intercept[c]!;
    let max = raw[o]!;
    for (let c = 1; c < K; c++) if (raw[o + c]! > max) max = raw[o + c]!;
    const yi = y[i]!;
    const zy = raw[o + yi]! - max;
    let sum = 0;
    for (let c = 0; c < K; c++) {
      const e = Math.exp(raw[o + c]! - max);
      sum += e;
      raw[o + c] = e;
    }
    const inv = 1 / sum;
    for (let c = 0; c < K; c++) raw[o + c]! *= inv;
    raw[o + yi]! -= 1;
    if (sampleWeight === null) {
      loss += Math.log(sum) - zy;
    } else {
      const s = sampleWeight[i]!;
      loss += s * (Math.log(sum) - zy);
      for (let c = 0; c < K; c++) raw[o + c]! *= s;
    }
  }
  return loss;
}

/**
 * softmaxResidual then addColumnSums for K = 3 without sample weights (the topics' default), in one pass
 * with each row's three numbers in registers: the same operations in the same order (the row's sum is
 * (e₀ + e₁) + e₂, each column sum is added to row after row from its value so far), so the same bits,
 * at about two thirds of the time (the generic loops index every number through the typed array).
 */
export function softmaxResidual3(
  raw: Float64Array,
  y: Int32Array,
  r0: number,
  r1: number,
  intercept: Float64Array | null,
  loss: number,
  columnSums: Float64Array | null,
): number {
  const b0 = intercept === null ? 0 : intercept[0]!;
  const b1 = intercept === null ? 0 : intercept[1]!;
  const b2 = intercept === null ? 0 : intercept[2]!;
  let s0 = columnSums === null ? 0 : columnSums[0]!;
  let s1 = columnSums === null ? 0 : columnSums[1]!;
  let s2 = columnSums === null ? 0 : columnSums[2]!;
  for (let i = r0, o = 0; i < r1; i++, o += 3) {
    let z0 = raw[o]!;
    let z1 = raw[o + 1]!;
    let z2 = raw[o + 2]!;
    if (intercept !== null) {
      z0 += b0;
      z1 += b1;
      z2 += b2;
    }
    let max = z0;
    if (z1 > max) max = z1;
    if (z2 > max) max = z2;
    const yi = y[i]!; // in [0, 3): checkLabels
    const zy = (yi === 0 ? z0 : yi === 1 ? z1 : z2) - max;
    const e0 = Math.exp(z0 - max);
    const e1 = Math.exp(z1 - max);
    const e2 = Math.exp(z2 - max);
    const sum = e0 + e1 + e2;
    const inv = 1 / sum;
    let p0 = e0 * inv;
    let p1 = e1 * inv;
    let p2 = e2 * inv;
    if (yi === 0) p0 -= 1;
    else if (yi === 1) p1 -= 1;
    else p2 -= 1;
    raw[o] = p0;
    raw[o + 1] = p1;
    raw[o + 2] = p2;
    s0 += p0;
    s1 += p1;
    s2 += p2;
    loss += Math.log(sum) - zy;
  }
  if (columnSums !== null) {
    columnSums[0] = s0;
    columnSums[1] = s1;
    columnSums[2] = s2;
  }
  return loss;
}

/** Adds the column sums of A (n × K) to out, row after row. */
export function addColumnSums(A: Float64Array, n: number, K: number, out: Float64Array): void {
  for (let i = 0; i < n; i++) for (let c = 0; c < K; c++) out[c]! += A[i * K + c]!;
}

/** Adds w/C to the first m gradient entries and returns the penalty ½·‖w_{0..m}‖²/C. */
function addL2(w: Float64Array, g: Float64Array, m: number, invC: number): number {
  let sq = 0;
  for (let q = 0; q < m; q++) {
    const wq = w[q]!;
    sq += wq * wq;
    g[q]! += invC * wq;
  }
  return 0.5 * invC * sq;
}

function binomialObjective(X: CsrMatrix, Xt: CsrMatrix | null, target: Float64Array, o: ObjectiveOptions) {
  const { fitIntercept, sampleWeight } = o;
  const n = X.rows;
  const F = X.cols;
  const z = new Float64Array(n);
  const invC = 1 / o.C;
  return (w: Float64Array, g: Float64Array): number => {
    const b0 = fitIntercept ? w[F]! : 0;
    spmm(X, w, 1, z);
    const loss = binomialResidual(z, target, n, b0, sampleWeight);
    transposeProduct(X, Xt, z, 1, g);
    if (fitIntercept) {
      let gb = 0;
      for (let i = 0; i < n; i++) gb += z[i]!;
      g[F] = gb;
    }
    return loss + addL2(w, g, F, invC);
  };
}

/**
 * Replaces raw scores z (without intercept b0) by expit(z + b0) − t in place and returns
 * Σ_i log(1 + e^{z_i}) − t_i·z_i (HalfBinomialLoss), both in overflow-safe forms; with sample weights
 * s_i, the residual and loss of sample i are multiplied by s_i.
 */
function binomialResidual(
  z: Float64Array,
  target: Float64Array,
  n: number,
  b0: number,
  sampleWeight: Float64Array | null,
): number {
  if (sampleWeight !== null) return weightedBinomialResidual(z, target, n, b0, sampleWeight);
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const zi = z[i]! + b0;
    const t = target[i]!;
    if (zi > 0) {
      const e = Math.exp(-zi);
      loss += zi + Math.log1p(e) - t * zi;
      z[i] = 1 / (1 + e) - t;
    } else {
      const e = Math.exp(zi);
      loss += Math.log1p(e) - t * zi;
      z[i] = e / (1 + e) - t;
    }
  }
  return loss;
}

function weightedBinomialResidual(
  z: Float64Array,
  target: Float64Array,
  n: number,
  b0: number,
  sampleWeight: Float64Array,
): number {
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const zi = z[i]! + b0;
    const t = target[i]!;
    const s = sampleWeight[i]!;
    if (zi > 0) {
      const e = Math.exp(-zi);
      loss += s * (zi + Math.log1p(e) - t * zi);
      z[i] = s * (1 / (1 + e) - t);
    } else {
      const e = Math.exp(zi);
      loss += s * (Math.log1p(e) - t * zi);
      z[i] = s * (e / (1 + e) - t);
    }
  }
  return loss;
}

const featureMajorCache = new WeakMap<LogisticModel, Float64Array>();

/**
 * Feature-major copy of the coefficients so each stored entry reads K contiguous numbers; kept per model,
 * since a served model scores one ticket at a time and the copy costs more than the ticket. A fitted
 * LogisticModel is never changed afterwards (fitting builds a new one), so the copy stays valid.
 */
function featureMajor(model: LogisticModel): Float64Array {
  const cached = featureMajorCache.get(model);
  if (cached && cached.length === model.coef.length) return cached;
  const K = model.classes;
  const F = model.features;
  const wt = new Float64Array(F * K);
  for (let c = 0; c < K; c++) for (let j = 0; j < F; j++) wt[j * K + c] = model.coef[c * F + j]!;
  featureMajorCache.set(model, wt);
  return wt;
}

/** decision_function: rows × classes scores X·coefᵀ + intercept. */
export function decisionFunction(model: LogisticModel, X: CsrMatrix): Float64Array {
  if (X.cols !== model.features)
    throw new RangeError(`X has ${X.cols} features, the model expects ${model.features}`);
  const K = model.classes;
  const wt = featureMajor(model);
  const out = new Float64Array(X.rows * K);
  spmm(X, wt, K, out);
  for (let i = 0; i < X.rows; i++) for (let c = 0; c < K; c++) out[i * K + c]! += model.intercept[c]!;
  return out;
}

/**
 * predict_proba: softmax for multinomial; for 'ovr' the per-class sigmoids normalised to sum 1
 * (_predict_proba_lr), which for two classes is [1 − σ(z), σ(z)].
 */
export function predictProba(model: LogisticModel, X: CsrMatrix): Float64Array {
  const K = model.classes;
  const P = decisionFunction(model, X);
  for (let i = 0; i < X.rows; i++) {
    const o = i * K;
    if (model.multiClass === 'ovr' && K === 2) {
      const p = expit(P[o + 1]!);
      P[o] = 1 - p;
      P[o + 1] = p;
    } else if (model.multiClass === 'ovr') {
      let s = 0;
      for (let c = 0; c < K; c++) {
        const p = expit(P[o + c]!);
        P[o + c] = p;
        s += p;
      }
      for (let c = 0; c < K; c++) P[o + c]! /= s;
    } else {
      let max = P[o]!;
      for (let c = 1; c < K; c++) if (P[o + c]! > max) max = P[o + c]!;
      let s = 0;
      for (let c = 0; c < K; c++) {
        const e = Math.exp(P[o + c]! - max);
        P[o + c] = e;
        s += e;
      }
      for (let c = 0; c < K; c++) P[o + c]! /= s;
    }
  }
  return P;
}

/** predict: argmax of the decision function, lowest class on ties (np.argmax). */
export function predict(model: LogisticModel, X: CsrMatrix): Int32Array {
  const K = model.classes;
  const D = decisionFunction(model, X);
  const out = new Int32Array(X.rows);
  for (let i = 0; i < X.rows; i++) {
    let best = 0;
    for (let c = 1; c < K; c++) if (D[i * K + c]! > D[i * K + best]!) best = c;
    out[i] = best;
  }
  return out;
}

function expit(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}
