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
import { CountRows, isCountRows } from './count-rows';
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
 * its permutations from a fresh Rng(seed), so a class's row does not depend on the other classes: the
 * problems may also be solved apart (dualProblem's `solve`, in as many processes) and joined with
 * combineDualRows, with the same bytes.
 */
export function fitLogisticRegressionDual(
  X: CsrMatrix<CsrValues> | CountRows,
  y: Int32Array,
  classes: number,
  opts?: DualLogisticOptions,
): LogisticModel {
  const problem = dualProblem(X, y, classes, opts);
  return combineDualRows(
    classes,
    X.cols,
    dualProblemClasses(classes).map((c) => problem.solve(c)),
  );
}

/** One binary problem's solution: class c's weight row, its intercept and the passes it took. */
export interface DualClassRow {
  /** the positive class */
  c: number;
  coef: Float64Array;
  intercept: number;
  nIter: number;
}

/** The binary problems a fit of `classes` classes solves, by positive class: [1] for two classes. */
export function dualProblemClasses(classes: number): number[] {
  return classes === 2 ? [1] : Array.from({ length: classes }, (_, c) => c);
}

/**
 * The binary problems of a one-vs-rest fit, ready to solve one at a time: what they share (the rows
 * taking part, their bounds C_i and x̃_i·x̃_i) is computed once.
 */
export function dualProblem(
  X: CsrMatrix<CsrValues> | CountRows,
  y: Int32Array,
  classes: number,
  opts?: DualLogisticOptions,
): { solve(c: number): DualClassRow } {
  checkLabels(X, y, classes);
  const o = resolveOptions(opts, X.rows);
  const F = X.cols;
  const bias = o.interceptScaling;
  const ops: RowOps = isCountRows(X) ? new CountRowOps(X) : new CsrRowOps(X);

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
    xTx[k] = ops.squaredNorm(i) + bias * bias;
    k++;
  }
  const ySign = new Float64Array(l);
  const problems = dualProblemClasses(classes);
  return {
    solve(c: number): DualClassRow {
      if (!problems.includes(c))
        throw new RangeError(`class ${c} is not one of the binary problems of ${classes} classes`);
      for (let k = 0; k < l; k++) ySign[k] = y[rows[k]!] === c ? 1 : -1;
      ops.reset();
      const r = solveL2rLrDual(ops, rows, ySign, upper, xTx, bias, o.tol, o.maxIter, new Rng(o.seed));
      const coef = new Float64Array(F);
      ops.weights(coef);
      return { c, coef, intercept: bias * r.wBias, nIter: r.nIter };
    },
  };
}

/** The model of a one-vs-rest fit from its problems' rows (any order; every problem once). */
export function combineDualRows(
  classes: number,
  features: number,
  solved: readonly DualClassRow[],
): LogisticModel {
  const F = features;
  const problems = dualProblemClasses(classes);
  const coef = new Float64Array(classes * F);
  const intercept = new Float64Array(classes);
  let nIter = 0;
  for (const c of problems) {
    const found = solved.filter((r) => r.c === c);
    if (found.length !== 1)
      throw new Error(`class ${c}'s binary problem is solved ${found.length} times, not once`);
    const r = found[0]!;
    if (r.coef.length !== F)
      throw new Error(`class ${c}'s row holds ${r.coef.length} weights, not the ${F} features'`);
    coef.set(r.coef, c * F);
    intercept[c] = r.intercept;
    nIter = Math.max(nIter, r.nIter);
  }
  if (solved.length !== problems.length)
    throw new Error(`${solved.length} rows for the ${problems.length} binary problems of ${classes} classes`);
  if (classes === 2) {
    for (let j = 0; j < F; j++) coef[j] = -coef[F + j]!;
    intercept[0] = -intercept[1]!;
  }
  return { classes, features: F, coef, intercept, multiClass: 'ovr', nIter };
}

/**
 * What the solver does with a row x_i and the weights w it keeps: the row's part of each pass. A pass
 * streams the whole matrix and is bound by memory traffic, so the rows are held compactly and each pass
 * reads as few bytes per non-zero as it can: single-precision values (8 bytes with the column), or
 * one-byte counts whose TF-IDF value is computed where it is used (5 bytes: count-rows.ts). The weights
 * stay double.
 */
interface RowOps {
  /** x_i·x_i, of the values the passes use */
  squaredNorm(i: number): number;
  /** w·x_i */
  dot(i: number): number;
  /** w += d·x_i */
  add(i: number, d: number): void;
  /** w = 0 */
  reset(): void;
  /** copies w out */
  weights(out: Float64Array): void;
}

/**
 * A CSR matrix's rows in single precision (others are converted once): the problem solved is exactly the
 * single-precision matrix's, its squared norms included. (A class, not closures: every fit's solver then
 * calls the same methods, which V8 keeps inlined fit after fit; fresh closures per fit left later fits
 * 2× slower.)
 */
class CsrRowOps implements RowOps {
  private readonly data: Float32Array;
  private readonly w: Float64Array;

  constructor(private readonly X: CsrMatrix<CsrValues>) {
    this.data = X.data instanceof Float32Array ? X.data : Float32Array.from(X.data);
    this.w = new Float64Array(X.cols);
  }

  squaredNorm(i: number): number {
    const { indptr } = this.X;
    const data = this.data;
    let s = 0;
    for (let p = indptr[i]!; p < indptr[i + 1]!; p++) s += data[p]! * data[p]!;
    return s;
  }

  dot(i: number): number {
    const { indptr, indices } = this.X;
    const { data, w } = this;
    let s = 0;
    for (let p = indptr[i]!, e = indptr[i + 1]!; p < e; p++) s += w[indices[p]!]! * data[p]!;
    return s;
  }

  add(i: number, d: number): void {
    const { indptr, indices } = this.X;
    const { data, w } = this;
    for (let p = indptr[i]!, e = indptr[i + 1]!; p < e; p++) w[indices[p]!]! += d * data[p]!;
  }

  reset(): void {
    this.w.fill(0);
  }

  weights(out: Float64Array): void {
    out.set(this.w);
  }
}

/**
 * Count rows (count-rows.ts): x_ij = tf(c)·idf_j / norm_i. The weights are kept as u_j = w_j·idf_j, so
 * w·x_i = Σ u_j·tf(c) / norm_i reads one number per non-zero; w += d·x_i is u_j += d·tf(c)·idf_j² / norm_i,
 * with idf_j² beside u_j (wi[2j + 1]: the same cache line).
 */
class CountRowOps implements RowOps {
  private readonly wi: Float64Array;

  constructor(private readonly X: CountRows) {
    this.wi = new Float64Array(2 * X.cols);
    this.reset();
  }

  squaredNorm(i: number): number {
    const { indptr, indices, counts, tf, idf, norm } = this.X;
    let s = 0;
    for (let p = indptr[i]!; p < indptr[i + 1]!; p++) {
      const v = (tf[counts[p]!]! * idf[indices[p]!]!) / norm[i]!;
      s += v * v;
    }
    return s;
  }

  dot(i: number): number {
    const { indptr, indices, counts, tf, norm } = this.X;
    const wi = this.wi;
    let s = 0;
    for (let p = indptr[i]!, e = indptr[i + 1]!; p < e; p++) s += wi[2 * indices[p]!]! * tf[counts[p]!]!;
    return s / norm[i]!;
  }

  add(i: number, d: number): void {
    const { indptr, indices, counts, tf, norm } = this.X;
    const wi = this.wi;
    const dn = d / norm[i]!;
    for (let p = indptr[i]!, e = indptr[i + 1]!; p < e; p++) {
      const j = 2 * indices[p]!;
      wi[j]! += dn * tf[counts[p]!]! * wi[j + 1]!;
    }
  }

  reset(): void {
    const { idf } = this.X;
    for (let j = 0; j < this.X.cols; j++) {
      this.wi[2 * j] = 0;
      this.wi[2 * j + 1] = idf[j]! * idf[j]!;
    }
  }

  weights(out: Float64Array): void {
    for (let j = 0; j < this.X.cols; j++) out[j] = this.wi[2 * j]! / this.X.idf[j]!;
  }
}

/**
 * liblinear's solve_l2r_lr_dual on the samples `rows` (labels ySign = ±1, bounds upper, squared norms
 * xTx including the constant feature `bias`), over the rows `ops` holds with its weights (zero at the
 * start). Returns the weight of the constant feature and the number of outer iterations.
 */
function solveL2rLrDual(
  ops: RowOps,
  rows: Int32Array,
  ySign: Float64Array,
  upper: Float64Array,
  xTx: Float64Array,
  bias: number,
  eps: number,
  maxIter: number,
  rng: Rng,
): { wBias: number; nIter: number } {
  const l = rows.length;
  // alpha[2k] = α_k and alpha[2k+1] = C_k − α_k, kept separately for accuracy near the bounds.
  const alpha = new Float64Array(2 * l);
  const index = new Int32Array(l);
  let wBias = 0;
  for (let k = 0; k < l; k++) {
    const C = upper[k]!;
    const a0 = Math.min(0.001 * C, 1e-8);
    alpha[2 * k] = a0;
    alpha[2 * k + 1] = C - a0;
    const ya = ySign[k]! * a0;
    ops.add(rows[k]!, ya);
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
      const wx = ops.dot(i) + wBias * bias;
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
        ops.add(i, d);
        wBias += d * bias;
      }
    }
    iter++;
    if (Gmax < eps) break;
    if (newtonIter <= newtonBudget) innerEps = Math.max(innerEpsMin, 0.1 * innerEps);
  }
  return { wBias, nIter: iter };
}
