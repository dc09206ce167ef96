/**
 * fitNmf (nmf.ts) over row blocks of X: what one block contributes to an iteration, and how its
 * NNDSVDa start is built when the SVD comes from a sample of the rows. The driver sums the blocks'
 * partial results in block order and updates Hᵀ itself (cdSweep over cols × k).
 *
 * Each iteration of _fit_coordinate_descent sweeps W with H fixed, then H with W fixed. W's sweep is
 * row-separable: block b's rows need only X_b, W_b and Hᵀ. H's sweep needs WᵀW = Σ_b W_bᵀW_b and
 * XᵀW = Σ_b X_bᵀW_b, which each block computes after sweeping its rows. With one block every number is
 * fitNmf's, bit for bit (same kernels, same summation order); with several, only the order in which the
 * blocks' sums are added differs.
 */
import { CsrMatrix, csrTransposeTimesDense } from './csr';
import { spmm } from './sparse-kernels';
import { cdSweep, gram } from './nmf';

/** A block's share of one iteration. */
export interface NmfBlockStep {
  /** Σ|projected gradient| of the block's W sweep */
  violation: number;
  /** W_bᵀW_b (k × k) after the sweep */
  WtW: Float64Array;
  /** X_bᵀW_b (cols × k, row-major) after the sweep */
  XtW: Float64Array;
}

/** Sweeps W_b (rows × k, in place) given Hᵀ (cols × k), then the block's sums for H's sweep. */
export function nmfBlockStep(X: CsrMatrix, W: Float64Array, Ht: Float64Array, k: number): NmfBlockStep {
  const HHt = new Float64Array(k * k);
  gram(Ht, X.cols, k, HHt);
  const XHt = new Float64Array(X.rows * k);
  spmm(X, Ht, k, XHt);
  const violation = cdSweep(W, HHt, XHt, X.rows, k);
  const WtW = new Float64Array(k * k);
  gram(W, X.rows, k, WtW);
  return { violation, WtW, XtW: csrTransposeTimesDense(X, W, k) };
}

/** acc += part, element by element. */
export function addInto(acc: Float64Array, part: ArrayLike<number>): void {
  if (part.length !== acc.length) throw new RangeError(`adding ${part.length} values to ${acc.length}`);
  for (let q = 0; q < acc.length; q++) acc[q]! += part[q]!;
}

/** The block's cross term of frobeniusError, Σ (X_b·Hᵀ)∘W_b (‖X_b‖² is csrSquaredNorm's). */
export function frobeniusCross(X: CsrMatrix, W: Float64Array, Ht: Float64Array, k: number): number {
  const XHt = new Float64Array(X.rows * k);
  spmm(X, Ht, k, XHt);
  let cross = 0;
  for (let q = 0; q < XHt.length; q++) cross += XHt[q]! * W[q]!;
  return cross;
}

/** frobeniusError from the summed terms: ‖X‖², WᵀW (k × k), Hᵀ, Σ (X·Hᵀ)∘W. */
export function frobeniusFromTerms(
  squaredNorm: number,
  WtW: Float64Array,
  Ht: Float64Array,
  cols: number,
  k: number,
  cross: number,
): number {
  const HHt = new Float64Array(k * k);
  gram(Ht, cols, k, HHt);
  let normWH = 0;
  for (let q = 0; q < k * k; q++) normWH += WtW[q]! * HHt[q]!;
  const res = (squaredNorm + normWH - 2 * cross) / 2;
  return Math.sqrt(Math.max(res, 0) * 2);
}

/**
 * NNDSVDa from right singular vectors V (rows of Vt: cols × k) taken from a sample of X's rows. For all
 * of X, u_t = X·v_t / σ_t; here σ_t is estimated as ‖X·v_t‖ over all rows (exact when V is X's own),
 * so W·H keeps X's scale whatever the sample's share. Given each component's sums of squares of the
 * positive and negative entries of X·v_t over all rows (`positive2`, `negative2`, summed over blocks),
 * this is _initialize_nmf's choice of part and scale, as initialize() in nmf.ts makes it.
 */
export interface NndsvdaStart {
  /** Hᵀ's start (cols × k) */
  Ht: Float64Array;
  /** W[i, t] = scale[t] · part_t((X·v_t)_i), part +1: max(·, 0), −1: |min(·, 0)|, 0: |·| */
  scale: number[];
  part: (1 | -1 | 0)[];
  /** the fill of zero entries (X's mean) */
  mean: number;
}

const EPS = 1e-6;

export function nndsvdaStart(
  Vt: Float64Array,
  cols: number,
  k: number,
  positive2: readonly number[],
  negative2: readonly number[],
  mean: number,
): NndsvdaStart {
  const Ht = new Float64Array(cols * k);
  const scale = new Array<number>(k).fill(0);
  const part = new Array<1 | -1 | 0>(k).fill(0);
  const sigma0 = Math.sqrt(positive2[0]! + negative2[0]!);
  // W[:, 0] = √σ₀·|u₀| = √σ₀·|X·v₀|/σ₀, H[0] = √σ₀·|v₀|.
  if (sigma0 > 0) scale[0] = 1 / Math.sqrt(sigma0);
  for (let j = 0; j < cols; j++) Ht[j * k] = Math.sqrt(sigma0) * Math.abs(Vt[j * k]!);
  for (let t = 1; t < k; t++) {
    const st = Math.sqrt(positive2[t]! + negative2[t]!);
    if (st === 0) continue;
    const xp = Math.sqrt(positive2[t]!) / st;
    const xn = Math.sqrt(negative2[t]!) / st;
    let yp = 0,
      yn = 0;
    for (let j = 0; j < cols; j++) {
      const v = Vt[j * k + t]!;
      if (v > 0) yp += v * v;
      else yn += v * v;
    }
    yp = Math.sqrt(yp);
    yn = Math.sqrt(yn);
    const mp = xp * yp;
    const mn = xn * yn;
    const positive = mp > mn;
    const lbd = Math.sqrt(st * (positive ? mp : mn));
    const xNorm = positive ? xp : xn;
    const yNorm = positive ? yp : yn;
    if (lbd === 0 || xNorm === 0 || yNorm === 0) continue;
    // W[i, t] = lbd·part(u_i)/xNorm with u = X·v_t/σ_t.
    scale[t] = lbd / (xNorm * st);
    part[t] = positive ? 1 : -1;
    for (let j = 0; j < cols; j++) {
      const v = Vt[j * k + t]!;
      Ht[j * k + t] = (lbd * (positive ? Math.max(v, 0) : Math.abs(Math.min(v, 0)))) / yNorm;
    }
  }
  for (let q = 0; q < Ht.length; q++) if (Ht[q]! < EPS) Ht[q] = mean;
  return { Ht, scale, part, mean };
}

/** P = X_b·Vt (rows × k) and the sums of squares of its positive and negative entries per component. */
export function projectBlock(
  X: CsrMatrix,
  Vt: Float64Array,
  k: number,
): { P: Float64Array; positive2: number[]; negative2: number[] } {
  const P = new Float64Array(X.rows * k);
  spmm(X, Vt, k, P);
  const positive2 = new Array<number>(k).fill(0);
  const negative2 = new Array<number>(k).fill(0);
  for (let i = 0; i < X.rows; i++) {
    for (let t = 0; t < k; t++) {
      const v = P[i * k + t]!;
      if (v > 0) positive2[t]! += v * v;
      else negative2[t]! += v * v;
    }
  }
  return { P, positive2, negative2 };
}

/** A block's W start from its projections P (projectBlock) and the start's scales. */
export function nndsvdaBlockW(
  P: Float64Array,
  rows: number,
  k: number,
  start: Omit<NndsvdaStart, 'Ht'>,
): Float64Array {
  const W = new Float64Array(rows * k);
  for (let i = 0; i < rows; i++) {
    for (let t = 0; t < k; t++) {
      const v = P[i * k + t]!;
      const p = start.part[t]!;
      const x = p === 0 ? Math.abs(v) : p === 1 ? Math.max(v, 0) : Math.abs(Math.min(v, 0));
      const w = start.scale[t]! * x;
      W[i * k + t] = w < EPS ? start.mean : w;
    }
  }
  return W;
}
