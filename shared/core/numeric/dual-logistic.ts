/**
 * L2-regularised logistic regression by dual coordinate descent: a port of LIBLINEAR's
 * solve_l2r_lr_dual (Yu, Huang & Lin 2011, "Dual coordinate descent methods for logistic regression and
 * maximum entropy models", Algorithm 5, with its inner Newton method) as scikit-learn 1.2.1 runs it for
 * LogisticRegression(solver='liblinear', dual=True). Each binary problem is
 *   min_w ½‖w‖² + Σ_i C_i·log(1 + e^{−y_i·w·x̃_i}),  y_i = ±1,  x̃_i = [x_i, interceptScaling],
 * solved through its dual
 *   min_α ½αᵀQα + Σ_i α_i·log α_i + (C_i − α_i)·log(C_i − α_i),  0 < α_i < C_i,  Q_ij = y_i·y_j·x̃_i·x̃_j,
 * with w = Σ_i α_i·y_i·x̃_i. As in liblinear the intercept is the weight of an extra constant feature, so
 * it IS regularised, and C_i = C · sampleWeight_i; samples of weight 0 are left out (liblinear's
 * remove_zero_weight).
 *
 * Multi-class problems are one-vs-rest. Unlike liblinear/sklearn, which apply class weights to the
 * positive class of each binary problem only, a sample's weight counts in every binary problem: class c's
 * row equals sklearn's binary LogisticRegression(solver='liblinear', dual=True).fit(X, y == c,
 * sample_weight=w), and balanced class weights are passed as per-sample weights (class-weight.ts).
 *
 * The coordinate order of each outer iteration is a random permutation; liblinear draws it from C's
 * rand(), this port from the project's seeded Rng, so fits are deterministic for a seed but follow other
 * iterates than sklearn's: they agree with it to the accuracy the stopping tolerance allows.
 */
import { CsrMatrix, CsrValues } from './csr';
import { LogisticModel, checkLabels, checkSolverOptions } from './logistic-regression';
import { Rng } from './random';

export interface DualLogisticOptions {
  /** Inverse regularisation strength (default 1.0). */
  C?: number;
  /**
   * Stopping tolerance (default 1e-4, sklearn's LogisticRegression default, passed to liblinear as eps):
   * stop when the largest |∂/∂α_i| seen during an outer iteration is below it.
   */
  tol?: number;
  /** Outer iterations (passes over the samples) per binary problem (default 1000). */
  maxIter?: number;
  /** Per-sample weights (default all 1): C_i = C · sampleWeight[i]; must be finite and >= 0. */
  sampleWeight?: Float64Array | null;
  /** Value of the constant feature whose weight (times this value) is the intercept (default 1; 0 = none). */
  interceptScaling?: number;
  /** Seed of the coordinate permutations (default 0). */
  seed?: number;
}

interface ResolvedDualOptions {
  C: number;
  tol: number;
  maxIter: number;
  sampleWeight: Float64Array | null;
  interceptScaling: number;
  seed: number;
}

/** Inner Newton iterations per coordinate (liblinear's max_inner_iter). */
const MAX_INNER_ITER = 100;
/** Shrink factor when a Newton step leaves (0, C) (the ξ of the paper). */
const ETA = 0.1;

function resolveOptions(o: DualLogisticOptions | undefined, rows: number): ResolvedDualOptions {
  const r: ResolvedDualOptions = {
    C: o?.C ?? 1.0,
    tol: o?.tol ?? 1e-4,
    maxIter: o?.maxIter ?? 1000,
    sampleWeight: o?.sampleWeight ?? null,
    interceptScaling: o?.interceptScaling ?? 1.0,
    seed: o?.seed ?? 0,
  };
  checkSolverOptions(r, rows);
  if (!(r.interceptScaling >= 0) || !Number.isFinite(r.interceptScaling))
    throw new RangeError(`interceptScaling must be a finite number >= 0, got ${r.interceptScaling}`);
  if (!Number.isFinite(r.seed)) throw new RangeError(`seed must be a finite number, got ${r.seed}`);
  return r;
}

/**
 * One-vs-rest L2 logistic regression by liblinear's dual coordinate descent. Returns a LogisticModel
 * with multiClass 'ovr' (predictProba normalises the per-class sigmoids); for 2 classes a single
 * problem (class 1 positive) is solved and row 0 is the negation of row 1, like fitLogisticRegression.
 * nIter is the largest number of outer iterations over the binary problems. Every binary problem draws
 * its permutations from a fresh Rng(seed), so a class's row does not depend on the other classes.
 */
export function fitLogisticRegressionDual(
  X: CsrMatrix<CsrValues>,
  y: Int32Array,
  classes: number,
  opts?: DualLogisticOptions,
): LogisticModel {
  checkLabels(X, y, classes);
  const o = resolveOptions(opts, X.rows);
  const F = X.cols;
  const bias = o.interceptScaling;
  // Each pass streams the whole matrix and is bound by memory traffic: single-precision values cut it by
  // a third (fits 25 % faster, and two side by side slow each other less), for a rounding far below the
  // stopping tolerance; the weights stay double. Rows read for this solver arrive in single precision
  // (half the memory of a large fit), others are converted once here. The squared norms below are of the
  // values the passes use, so the problem solved is exactly the single-precision matrix's.
  const data = X.data instanceof Float32Array ? X.data : Float32Array.from(X.data);
  const M = { indptr: X.indptr, indices: X.indices, data };

  // Samples taking part (weight > 0), their upper bounds C_i and x̃_i·x̃_i, shared by all binary problems.
  let l = 0;
  for (let i = 0; i < X.rows; i++) if (o.sampleWeight === null || o.sampleWeight[i]! > 0) l++;
  const rows = new Int32Array(l);
  const upper = new Float64Array(l);
  const xTx = new Float64Array(l);
  for (let i = 0, k = 0; i < X.rows; i++) {
    const sw = o.sampleWeight === null ? 1 : o.sampleWeight[i]!;
    if (!(sw > 0)) continue;
    rows[k] = i;
    upper[k] = o.sampleWeight === null ? o.C : sw * o.C;
    let sq = 0;
    for (let p = X.indptr[i]!; p < X.indptr[i + 1]!; p++) sq += data[p]! * data[p]!;
    xTx[k] = sq + bias * bias;
    k++;
  }

  const coef = new Float64Array(classes * F);
  const intercept = new Float64Array(classes);
  const ySign = new Float64Array(l);
  let nIter = 0;
  const problems = classes === 2 ? [1] : Array.from({ length: classes }, (_, c) => c);
  for (const c of problems) {
    for (let k = 0; k < l; k++) ySign[k] = y[rows[k]!] === c ? 1 : -1;
    const w = coef.subarray(c * F, (c + 1) * F);
    const r = solveL2rLrDual(M, rows, ySign, upper, xTx, bias, w, o.tol, o.maxIter, new Rng(o.seed));
    intercept[c] = bias * r.wBias;
    nIter = Math.max(nIter, r.nIter);
  }
  if (classes === 2) {
    for (let j = 0; j < F; j++) coef[j] = -coef[F + j]!;
    intercept[0] = -intercept[1]!;
  }
  return { classes, features: F, coef, intercept, multiClass: 'ovr', nIter };
}

/**
 * liblinear's solve_l2r_lr_dual on the samples `rows` of X (labels ySign = ±1, bounds upper, squared
 * norms xTx including the constant feature `bias`). Writes the feature weights into w (zeroed first)
 * and returns the weight of the constant feature and the number of outer iterations.
 */
function solveL2rLrDual(
  X: { indptr: Int32Array; indices: Int32Array; data: Float32Array },
  rows: Int32Array,
  ySign: Float64Array,
  upper: Float64Array,
  xTx: Float64Array,
  bias: number,
  w: Float64Array,
  eps: number,
  maxIter: number,
  rng: Rng,
): { wBias: number; nIter: number } {
  const { indptr, indices, data } = X;
  const l = rows.length;
  // alpha[2k] = α_k and alpha[2k+1] = C_k − α_k, kept separately for accuracy near the bounds.
  const alpha = new Float64Array(2 * l);
  const index = new Int32Array(l);
  w.fill(0);
  let wBias = 0;
  for (let k = 0; k < l; k++) {
    const C = upper[k]!;
    const a0 = Math.min(0.001 * C, 1e-8);
    alpha[2 * k] = a0;
    alpha[2 * k + 1] = C - a0;
    const ya = ySign[k]! * a0;
    const i = rows[k]!;
    for (let p = indptr[i]!, e = indptr[i + 1]!; p < e; p++) w[indices[p]!]! += ya * data[p]!;
    wBias += ya * bias;
    index[k] = k;
  }

  let innerEps = 1e-2;
  const innerEpsMin = Math.min(1e-8, eps);
  const newtonBudget = Math.floor(l / 10);
  let iter = 0;
  while (iter < maxIter) {
    for (let s = 0; s < l; s++) {
      const j = s + rng.nextInt(l - s);
      const t = index[s]!;
      index[s] = index[j]!;
      index[j] = t;
    }
    let newtonIter = 0;
    let Gmax = 0;
    for (let s = 0; s < l; s++) {
      const k = index[s]!;
      const i = rows[k]!;
      const yi = ySign[k]!;
      const C = upper[k]!;
      const p0 = indptr[i]!;
      const p1 = indptr[i + 1]!;
      let wx = 0;
      for (let p = p0; p < p1; p++) wx += w[indices[p]!]! * data[p]!;
      wx += wBias * bias;
      const a = xTx[k]!;
      const b = wx * yi;

      // Minimise g_1(z) (z = α_k) or g_2(z) (z = C_k − α_k), whichever has its solution away from 0 ... C.
      let ind1 = 2 * k;
      let ind2 = 2 * k + 1;
      let sign = 1;
      if (0.5 * a * (alpha[ind2]! - alpha[ind1]!) + b < 0) {
        ind1 = 2 * k + 1;
        ind2 = 2 * k;
        sign = -1;
      }
      // g_t(z) = z·log z + (C − z)·log(C − z) + ½a(z − α_old)² + sign·b·(z − α_old)
      const alphaOld = alpha[ind1]!;
      let z = alphaOld;
      if (C - z < 0.5 * C) z = 0.1 * z;
      let gp = a * (z - alphaOld) + sign * b + Math.log(z / (C - z));
      const agp = Math.abs(gp);
      if (agp > Gmax) Gmax = agp;

      let inner = 0;
      while (inner <= MAX_INNER_ITER) {
        if (Math.abs(gp) < innerEps) break;
        const gpp = a + C / (C - z) / z;
        const tmpz = z - gp / gpp;
        if (tmpz <= 0) z *= ETA;
        else z = tmpz; // tmpz in (0, C)
        gp = a * (z - alphaOld) + sign * b + Math.log(z / (C - z));
        newtonIter++;
        inner++;
      }

      if (inner > 0) {
        alpha[ind1] = z;
        alpha[ind2] = C - z;
        const d = sign * (z - alphaOld) * yi;
        for (let p = p0; p < p1; p++) w[indices[p]!]! += d * data[p]!;
        wBias += d * bias;
      }
    }
    iter++;
    if (Gmax < eps) break;
    if (newtonIter <= newtonBudget) innerEps = Math.max(innerEpsMin, 0.1 * innerEps);
  }
  return { wBias, nIter: iter };
}
