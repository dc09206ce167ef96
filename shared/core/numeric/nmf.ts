/**
 * Non-negative matrix factorisation X ≈ W·H following sklearn 1.2.1 NMF(solver='cd',
 * beta_loss='frobenius', alpha_W=alpha_H=0, l1_ratio=0, shuffle=False):
 *  - initialisation: _initialize_nmf (NNDSVD and variants, or scaled |Gaussian|);
 *  - solver: _fit_coordinate_descent with _update_cdnmf_fast, same sweep order and stopping rule
 *    (sum of |projected gradient| relative to the first iteration <= tol);
 *  - reconstruction error: _beta_divergence(X, W, H, 'frobenius', square_root=True).
 */
import { CsrMatrix, csrMean, csrSquaredNorm, csrTimesDense } from './csr';
import { spmm, spmmTransposed } from './sparse-kernels';
import { pinRows } from './wasm/streamed-products';
import { Rng } from './random';
import { truncatedSvd } from './truncated-svd';

export interface NmfOptions {
  nComponents: number;
  /** Default 'nndsvda' (sklearn 1.2.1 default when nComponents <= min(rows, cols)). */
  init?: 'nndsvda' | 'nndsvd' | 'nndsvdar' | 'random';
  /** Default 1e-4. */
  tol?: number;
  /** Default 200. */
  maxIter?: number;
  /** Seed for 'random' and 'nndsvdar' (our PRNG, not numpy's); default 0. */
  randomState?: number;
}

export interface NmfResult {
  /** rows × k, row-major. */
  W: Float64Array;
  /** k × cols, row-major. */
  H: Float64Array;
  nComponents: number;
  nIter: number;
  reconstructionError: number;
}

interface ResolvedNmfOptions {
  k: number;
  init: 'nndsvda' | 'nndsvd' | 'nndsvdar' | 'random';
  tol: number;
  maxIter: number;
  seed: number;
}

function resolveOptions(X: CsrMatrix, o: NmfOptions): ResolvedNmfOptions {
  const r: ResolvedNmfOptions = {
    k: o.nComponents,
    init: o.init ?? 'nndsvda',
    tol: o.tol ?? 1e-4,
    maxIter: o.maxIter ?? 200,
    seed: o.randomState ?? 0,
  };
  if (!Number.isInteger(r.k) || r.k < 1)
    throw new RangeError(`nComponents must be a positive integer, got ${r.k}`);
  if (!['nndsvda', 'nndsvd', 'nndsvdar', 'random'].includes(r.init)) {
    throw new RangeError(`init must be 'nndsvda', 'nndsvd', 'nndsvdar' or 'random', got ${String(r.init)}`);
  }
  if (r.init !== 'random' && r.k > Math.min(X.rows, X.cols)) {
    throw new RangeError(
      `init = '${r.init}' can only be used when n_components <= min(n_samples, n_features) (${r.k} > ${Math.min(X.rows, X.cols)})`,
    );
  }
  if (!(r.tol >= 0)) throw new RangeError(`tol must be >= 0, got ${r.tol}`);
  if (!Number.isInteger(r.maxIter) || r.maxIter < 1)
    throw new RangeError(`maxIter must be a positive integer, got ${r.maxIter}`);
  if (!Number.isFinite(r.seed)) throw new RangeError(`randomState must be a finite number, got ${r.seed}`);
  return r;
}

function checkInput(X: CsrMatrix): void {
  if (X.rows === 0 || X.cols === 0)
    throw new RangeError(`NMF needs a non-empty matrix, got ${X.rows}×${X.cols}`);
  const count = X.indptr[X.rows]!;
  for (let p = 0; p < count; p++) {
    if (!(X.data[p]! >= 0)) throw new RangeError('Negative values in data passed to NMF (input X)');
  }
}

export function fitNmf(X: CsrMatrix, opts: NmfOptions): NmfResult {
  const o = resolveOptions(X, opts);
  checkInput(X);
  // X's rows stay in WebAssembly memory for the ~100 products of the start and the iterations.
  const unpin = pinRows(X, o.k);
  try {
    // Internally H is kept transposed (cols × k), like sklearn's C-ordered Ht.
    const { W, Ht } = initialize(X, o);
    return solve(X, W, Ht, o);
  } finally {
    unpin();
  }
}

/** _initialize_nmf alone: the starting W (rows × k) and H (k × cols), row-major. */
export function initializeNmf(X: CsrMatrix, opts: NmfOptions): { W: Float64Array; H: Float64Array } {
  const o = resolveOptions(X, opts);
  checkInput(X);
  const { W, Ht } = initialize(X, o);
  return { W, H: transposeDense(Ht, X.cols, o.k) };
}

/** NMF(init='custom').fit_transform(X, W=W0, H=H0): the solver from a given start (inputs are copied). */
export function fitNmfFrom(X: CsrMatrix, W0: Float64Array, H0: Float64Array, opts: NmfOptions): NmfResult {
  const o = resolveOptions(X, { ...opts, init: 'random' });
  checkInput(X);
  if (W0.length !== X.rows * o.k || H0.length !== o.k * X.cols) {
    throw new RangeError(
      `W0 must be ${X.rows}×${o.k} and H0 ${o.k}×${X.cols}, got lengths ${W0.length} and ${H0.length}`,
    );
  }
  const unpin = pinRows(X, o.k);
  try {
    return solve(X, Float64Array.from(W0), transposeDense(H0, o.k, X.cols), o);
  } finally {
    unpin();
  }
}

function solve(X: CsrMatrix, W: Float64Array, Ht: Float64Array, o: ResolvedNmfOptions): NmfResult {
  const k = o.k;
  const nIter = coordinateDescent(X, W, Ht, k, o.tol, o.maxIter);
  return {
    W,
    H: transposeDense(Ht, X.cols, k),
    nComponents: k,
    nIter,
    reconstructionError: frobeniusError(X, W, Ht, k),
  };
}

/** Transpose of a row-major r × c matrix. */
export function transposeDense(A: Float64Array, r: number, c: number): Float64Array {
  const out = new Float64Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = A[i * c + j]!;
  return out;
}

/** _initialize_nmf, returning W (rows × k) and Hᵀ (cols × k), both row-major. */
function initialize(X: CsrMatrix, o: ResolvedNmfOptions): { W: Float64Array; Ht: Float64Array } {
  const { rows, cols } = X;
  const k = o.k;
  const W = new Float64Array(rows * k);
  const Ht = new Float64Array(cols * k);
  const mean = csrMean(X);
  if (o.init === 'random') {
    const rng = new Rng(o.seed);
    const avg = Math.sqrt(mean / k);
    // sklearn draws H (k × cols, row-major) first, then W.
    for (let t = 0; t < k; t++) for (let j = 0; j < cols; j++) Ht[j * k + t] = Math.abs(avg * rng.normal());
    for (let q = 0; q < rows * k; q++) W[q] = Math.abs(avg * rng.normal());
    return { W, Ht };
  }

  const { U, S, V } = truncatedSvd(X, k);
  // The leading singular pair of a non-negative matrix is non-negative up to sign.
  const s0 = Math.sqrt(S[0]!);
  for (let i = 0; i < rows; i++) W[i * k] = s0 * Math.abs(U[0]![i]!);
  for (let j = 0; j < cols; j++) Ht[j * k] = s0 * Math.abs(V[0]![j]!);
  for (let t = 1; t < k; t++) {
    const x = U[t]!;
    const y = V[t]!;
    // Keep whichever of the positive or negative parts of (x, y) carries more mass.
    let xp = 0,
      xn = 0,
      yp = 0,
      yn = 0;
    for (let i = 0; i < rows; i++) {
      const v = x[i]!;
      if (v > 0) xp += v * v;
      else xn += v * v;
    }
    for (let j = 0; j < cols; j++) {
      const v = y[j]!;
      if (v > 0) yp += v * v;
      else yn += v * v;
    }
    xp = Math.sqrt(xp);
    xn = Math.sqrt(xn);
    yp = Math.sqrt(yp);
    yn = Math.sqrt(yn);
    const mp = xp * yp;
    const mn = xn * yn;
    const positive = mp > mn;
    const sigma = positive ? mp : mn;
    const lbd = Math.sqrt(S[t]! * sigma);
    const xNorm = positive ? xp : xn;
    const yNorm = positive ? yp : yn;
    // Rank-deficient X (σ_t = 0 or an empty part): sklearn would divide 0/0 here; leave the
    // component at zero instead, so nndsvda/nndsvdar fill it like any other zero.
    if (lbd === 0 || xNorm === 0 || yNorm === 0) continue;
    for (let i = 0; i < rows; i++) {
      const v = positive ? Math.max(x[i]!, 0) : Math.abs(Math.min(x[i]!, 0));
      W[i * k + t] = (lbd * v) / xNorm;
    }
    for (let j = 0; j < cols; j++) {
      const v = positive ? Math.max(y[j]!, 0) : Math.abs(Math.min(y[j]!, 0));
      Ht[j * k + t] = (lbd * v) / yNorm;
    }
  }
  const eps = 1e-6;
  for (let q = 0; q < W.length; q++) if (W[q]! < eps) W[q] = 0;
  for (let q = 0; q < Ht.length; q++) if (Ht[q]! < eps) Ht[q] = 0;
  if (o.init === 'nndsvda') {
    for (let q = 0; q < W.length; q++) if (W[q] === 0) W[q] = mean;
    for (let q = 0; q < Ht.length; q++) if (Ht[q] === 0) Ht[q] = mean;
  } else if (o.init === 'nndsvdar') {
    const rng = new Rng(o.seed);
    for (let q = 0; q < W.length; q++) if (W[q] === 0) W[q] = Math.abs((mean * rng.normal()) / 100);
    for (let q = 0; q < Ht.length; q++) if (Ht[q] === 0) Ht[q] = Math.abs((mean * rng.normal()) / 100);
  }
  return { W, Ht };
}

/** Gram matrix AᵀA (k × k) of a row-major n × k matrix. */
export function gram(A: Float64Array, n: number, k: number, out: Float64Array): void {
  out.fill(0);
  for (let i = 0; i < n; i++) {
    const o = i * k;
    for (let a = 0; a < k; a++) {
      const va = A[o + a]!;
      for (let b = a; b < k; b++) out[a * k + b]! += va * A[o + b]!;
    }
  }
  for (let a = 0; a < k; a++) for (let b = 0; b < a; b++) out[a * k + b] = out[b * k + a]!;
}

/**
 * One cyclic coordinate-descent sweep over all entries of W (n × k) for min ½‖X − W·Hᵀ‖² given
 * HHt = HᵀH and XHt = X·H; component-major order like _update_cdnmf_fast. Returns Σ|projected grad|.
 */
export function cdSweep(W: Float64Array, HHt: Float64Array, XHt: Float64Array, n: number, k: number): number {
  let violation = 0;
  for (let t = 0; t < k; t++) {
    const hess = HHt[t * k + t]!;
    const row = t * k;
    for (let i = 0; i < n; i++) {
      const o = i * k;
      let grad = -XHt[o + t]!;
      for (let r = 0; r < k; r++) grad += HHt[row + r]! * W[o + r]!;
      const w = W[o + t]!;
      const pg = w === 0 ? Math.min(0, grad) : grad;
      violation += Math.abs(pg);
      if (hess !== 0) W[o + t] = Math.max(w - grad / hess, 0);
    }
  }
  return violation;
}

/** _fit_coordinate_descent; returns the iteration count as sklearn reports it. */
function coordinateDescent(
  X: CsrMatrix,
  W: Float64Array,
  Ht: Float64Array,
  k: number,
  tol: number,
  maxIter: number,
): number {
  const HHt = new Float64Array(k * k);
  const WtW = new Float64Array(k * k);
  const XHt = new Float64Array(X.rows * k);
  const XtW = new Float64Array(X.cols * k);
  let violationInit = 0;
  let it = 1;
  for (; it <= maxIter; it++) {
    gram(Ht, X.cols, k, HHt);
    spmm(X, Ht, k, XHt);
    let violation = cdSweep(W, HHt, XHt, X.rows, k);
    gram(W, X.rows, k, WtW);
    // Xᵀ·W scattered over X's rows: the summation order of scipy's CSC product (spmmTransposed).
    spmmTransposed(X, W, k, XtW);
    violation += cdSweep(Ht, WtW, XtW, X.cols, k);
    if (it === 1) violationInit = violation;
    if (violationInit === 0) break;
    if (violation / violationInit <= tol) break;
  }
  return Math.min(it, maxIter);
}

/**
 * ‖X − W·H‖_F without forming W·H: sqrt(‖X‖² + tr(WᵀW·HHᵀ) − 2·tr(Wᵀ·X·Hᵀ)), as _beta_divergence
 * does for sparse X (clamped at 0 where rounding would make the radicand negative).
 */
export function frobeniusError(X: CsrMatrix, W: Float64Array, Ht: Float64Array, k: number): number {
  const normX = csrSquaredNorm(X);
  const WtW = new Float64Array(k * k);
  const HHt = new Float64Array(k * k);
  gram(W, X.rows, k, WtW);
  gram(Ht, X.cols, k, HHt);
  let normWH = 0;
  for (let q = 0; q < k * k; q++) normWH += WtW[q]! * HHt[q]!;
  const XHt = csrTimesDense(X, Ht, k);
  let cross = 0;
  for (let q = 0; q < XHt.length; q++) cross += XHt[q]! * W[q]!;
  const res = (normX + normWH - 2 * cross) / 2;
  return Math.sqrt(Math.max(res, 0) * 2);
}

/** Row-wise argmax of W (lowest component on ties, like numpy.argmax). */
export function argmaxRows(W: Float64Array, rows: number, k: number): Int32Array {
  const out = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    let best = 0;
    for (let t = 1; t < k; t++) if (W[i * k + t]! > W[i * k + best]!) best = t;
    out[i] = best;
  }
  return out;
}
