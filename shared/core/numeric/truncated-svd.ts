/**
 * Top-k singular triplets of a sparse matrix by Golub–Kahan–Lanczos bidiagonalisation with full
 * reorthogonalisation, run until the Ritz residuals are at rounding level.
 *
 * sklearn's NNDSVD initialisation calls randomized_svd (a few power iterations from a numpy Gaussian
 * sketch), whose output we cannot reproduce bit for bit; converging to the exact leading singular
 * subspace instead gets within randomized_svd's own approximation error of it, deterministically.
 * Signs follow svd_flip(u_based_decision=True): the largest-|·| entry of each left vector is positive.
 */
import { CsrMatrix } from './csr';
import { Rng } from './random';
import { spmm, spmmTransposed } from './sparse-kernels';
import { pinRows } from './wasm/streamed-products';
import { symmetricTridiagonalEigen } from './tridiagonal-eigen';

export interface TruncatedSvdOptions {
  /** Stop when every requested residual ‖Xᵀu − σv‖ is below tol·σ₁ (default 1e-14). */
  tol?: number;
  /** Upper bound on Lanczos steps (default min(rows, cols)). */
  maxSteps?: number;
  /** Seed of the (positive, pseudo-random) starting vector (default 20230125). */
  seed?: number;
}

export interface TruncatedSvd {
  /** Left singular vectors, k arrays of length rows. */
  U: Float64Array[];
  /** Singular values, descending. */
  S: Float64Array;
  /** Right singular vectors, k arrays of length cols. */
  V: Float64Array[];
  /** Lanczos steps taken. */
  steps: number;
}

function norm2(a: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * a[i]!;
  return Math.sqrt(s);
}

/**
 * Classical Gram–Schmidt against `basis`, repeated once more when the first pass cancelled a lot
 * (the "twice is enough" rule), which keeps the Lanczos vectors orthogonal to working precision.
 */
function reorthogonalize(x: Float64Array, basis: Float64Array[]): void {
  const before = norm2(x);
  for (let pass = 0; pass < 2; pass++) {
    for (const b of basis) {
      let d = 0;
      for (let i = 0; i < x.length; i++) d += b[i]! * x[i]!;
      if (d !== 0) for (let i = 0; i < x.length; i++) x[i]! -= d * b[i]!;
    }
    if (pass === 0 && norm2(x) > 0.7071 * before) break;
  }
}

/** A random unit vector orthogonal to `basis` (used to continue after an invariant subspace is found). */
function freshVector(len: number, basis: Float64Array[], rng: Rng): Float64Array | null {
  for (let attempt = 0; attempt < 3; attempt++) {
    const x = new Float64Array(len);
    for (let i = 0; i < len; i++) x[i] = rng.nextFloat() - 0.5;
    reorthogonalize(x, basis);
    reorthogonalize(x, basis);
    const nx = norm2(x);
    if (nx > 1e-8) {
      for (let i = 0; i < len; i++) x[i]! /= nx;
      return x;
    }
  }
  return null;
}

export function truncatedSvd(X: CsrMatrix, k: number, opts?: TruncatedSvdOptions): TruncatedSvd {
  // X's rows stay in WebAssembly memory for the Lanczos steps' products (two a step).
  const unpin = pinRows(X, 1);
  try {
    return lanczos(X, k, opts);
  } finally {
    unpin();
  }
}

function lanczos(X: CsrMatrix, k: number, opts?: TruncatedSvdOptions): TruncatedSvd {
  const m = X.rows;
  const n = X.cols;
  const limit = Math.min(m, n);
  if (!Number.isInteger(k) || k < 1 || k > limit)
    throw new RangeError(`k must be an integer in [1, min(rows, cols) = ${limit}], got ${k}`);
  const tol = opts?.tol ?? 1e-14;
  const maxSteps = Math.min(opts?.maxSteps ?? limit, limit);
  if (maxSteps < k) throw new RangeError(`maxSteps must be >= k (${k}), got ${maxSteps}`);
  const rng = new Rng(opts?.seed ?? 20230125);

  const Us: Float64Array[] = [];
  const Vs: Float64Array[] = [];
  const alpha: number[] = [];
  const beta: number[] = [];
  // Positive start: the leading singular vectors of a non-negative matrix are non-negative.
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = 0.5 + rng.nextFloat();
  const nv = norm2(v);
  for (let i = 0; i < n; i++) v[i]! /= nv;
  Vs.push(v);

  let result: { P: Float64Array[]; S: number[] } | null = null;
  let steps = 0;
  const work = new Float64Array(n);
  while (steps < maxSteps) {
    const j = steps;
    // u_j = X v_j − β_{j−1} u_{j−1}, orthogonalised against all previous u.
    let u: Float64Array = new Float64Array(m);
    spmm(X, Vs[j]!, 1, u);
    if (j > 0) {
      const b = beta[j - 1]!;
      const prev = Us[j - 1]!;
      for (let i = 0; i < m; i++) u[i]! -= b * prev[i]!;
    }
    reorthogonalize(u, Us);
    let a = norm2(u);
    const scale = alpha.length > 0 ? Math.max(...alpha) : a;
    if (a <= 1e-13 * scale) {
      a = 0;
      const fresh = freshVector(m, Us, rng);
      if (fresh === null) break;
      u = fresh;
    } else {
      for (let i = 0; i < m; i++) u[i]! /= a;
    }
    alpha.push(a);
    Us.push(u);
    steps++;
    // v_{j+1} = Xᵀ u_j − α_j v_j, orthogonalised against all previous v.
    // Xᵀu scattered over X's rows: the sums of a gather over Xᵀ, in the same order, without building it.
    spmmTransposed(X, u, 1, work);
    let w: Float64Array = Float64Array.from(work);
    const vj = Vs[j]!;
    for (let i = 0; i < n; i++) w[i]! -= a * vj[i]!;
    reorthogonalize(w, Vs);
    let b = norm2(w);
    if (b <= 1e-13 * Math.max(scale, a)) {
      b = 0;
      if (steps < maxSteps) {
        const fresh = freshVector(n, Vs, rng);
        if (fresh === null) {
          beta.push(0);
          break;
        }
        w = fresh;
      }
    } else {
      for (let i = 0; i < n; i++) w[i]! /= b;
    }
    beta.push(b);
    Vs.push(w);

    // The Ritz problem is tiny (steps × steps), so convergence is checked after every step.
    if (steps > k || steps === maxSteps) {
      result = ritz(alpha, beta, steps, k);
      const sigma1 = result.S[0]!;
      let worst = 0;
      for (let t = 0; t < k; t++) worst = Math.max(worst, Math.abs(b * result.P[t]![steps - 1]!));
      if (worst <= tol * sigma1 || b === 0) break;
      result = null;
    }
  }
  if (result === null) result = ritz(alpha, beta, steps, k);

  // Assemble u_t = U·p_t and v_t = V·q_t with q_t = Bᵀp_t / σ_t.
  const U: Float64Array[] = [];
  const V: Float64Array[] = [];
  const S = new Float64Array(k);
  for (let t = 0; t < k; t++) {
    const p = result.P[t]!;
    const s = result.S[t]!;
    S[t] = s;
    const ut = new Float64Array(m);
    for (let c = 0; c < steps; c++) {
      const coef = p[c]!;
      const col = Us[c]!;
      for (let i = 0; i < m; i++) ut[i]! += coef * col[i]!;
    }
    const vt = new Float64Array(n);
    if (s > 0) {
      // (Bᵀp)_c = α_c p_c + β_{c−1} p_{c−1}
      for (let c = 0; c < steps; c++) {
        const q = (alpha[c]! * p[c]! + (c > 0 ? beta[c - 1]! * p[c - 1]! : 0)) / s;
        const col = Vs[c]!;
        for (let i = 0; i < n; i++) vt[i]! += q * col[i]!;
      }
    }
    // svd_flip: make the largest-magnitude entry of u positive (first one on ties, like np.argmax).
    let best = 0;
    for (let i = 1; i < m; i++) if (Math.abs(ut[i]!) > Math.abs(ut[best]!)) best = i;
    if (ut[best]! < 0) {
      for (let i = 0; i < m; i++) ut[i] = -ut[i]!;
      for (let i = 0; i < n; i++) vt[i] = -vt[i]!;
    }
    U.push(ut);
    V.push(vt);
  }
  return { U, S, V, steps };
}

/**
 * Top-k singular values and left singular vectors of the steps×steps upper bidiagonal B
 * (diag α, superdiag β), from the eigen-decomposition of the tridiagonal B·Bᵀ.
 */
function ritz(alpha: number[], beta: number[], steps: number, k: number): { P: Float64Array[]; S: number[] } {
  const d = new Float64Array(steps);
  const e = new Float64Array(steps);
  for (let i = 0; i < steps; i++) {
    // (B Bᵀ)_{ii} = α_i² + β_i² (β of the last row lies outside B), (B Bᵀ)_{i,i+1} = β_i α_{i+1}.
    d[i] = alpha[i]! * alpha[i]! + (i < steps - 1 ? beta[i]! * beta[i]! : 0);
    if (i < steps - 1) e[i] = beta[i]! * alpha[i + 1]!;
  }
  const { values, vectors } = symmetricTridiagonalEigen(d, e);
  const order = Array.from(values.keys()).sort((a, b) => values[b]! - values[a]!);
  const P: Float64Array[] = [];
  const S: number[] = [];
  for (let t = 0; t < k; t++) {
    const idx = order[t]!;
    S.push(Math.sqrt(Math.max(values[idx]!, 0)));
    const p = new Float64Array(steps);
    for (let r = 0; r < steps; r++) p[r] = vectors[r * steps + idx]!;
    P.push(p);
  }
  return { P, S };
}
