/**
 * The top right singular vectors of X = [X_1; X_2; …] (row blocks), as eigenvectors of XᵀX, by a block
 * Krylov method: each round every block contributes X_bᵀ(X_b·Z) (cols × p) for the round's basis block
 * Z, summed in block order; the next block is that product made orthogonal to every block so far, and
 * Rayleigh–Ritz over all of them (ritzVectors) gives the vectors and their residuals. The rest works on
 * cols × (rounds · p) and small matrices. Against subspace iteration (Rayleigh–Ritz on the last block
 * alone), the basis keeps what earlier rounds found: on the dev data 11 rounds of 4 columns reach the
 * residual that took 17 rounds of 8.
 */
import { CsrMatrix, csrTransposeTimesDense } from './csr';
import { Rng } from './random';
import { spmm } from './sparse-kernels';

/**
 * Block b's share of one round: X_bᵀ·X_b·Z (cols × p). Computed four columns of Z at a time, where the
 * kernels keep a row's values in registers (sparse-kernels.ts: spmm, spmmTransposed): each entry is the same
 * sum in the same order as with all p columns at once, about twice as fast.
 */
export function svdBlockStep(X: CsrMatrix, Z: Float64Array, p: number): Float64Array {
  const out = new Float64Array(X.cols * p);
  for (let c0 = 0; c0 < p; c0 += 4) {
    const w = Math.min(4, p - c0);
    const Zc = new Float64Array(X.cols * w);
    for (let j = 0; j < X.cols; j++) for (let c = 0; c < w; c++) Zc[j * w + c] = Z[j * p + c0 + c]!;
    const Y = new Float64Array(X.rows * w);
    spmm(X, Zc, w, Y);
    const part = csrTransposeTimesDense(X, Y, w);
    for (let j = 0; j < X.cols; j++) for (let c = 0; c < w; c++) out[j * p + c0 + c] = part[j * w + c]!;
  }
  return out;
}

/** A deterministic start: pseudo-random cols × p, orthonormal columns. */
export function svdStart(cols: number, p: number, seed = 20230125): Float64Array {
  const rng = new Rng(seed);
  const Z = new Float64Array(cols * p);
  for (let q = 0; q < Z.length; q++) Z[q] = rng.nextFloat() - 0.5;
  orthonormalizeColumns(Z, cols, p);
  return Z;
}

/**
 * Orthonormalizes the p columns of the row-major cols × p matrix Z in place (modified Gram–Schmidt,
 * twice); a column that vanishes against the previous ones is left at zero.
 */
export function orthonormalizeColumns(Z: Float64Array, cols: number, p: number): void {
  for (let pass = 0; pass < 2; pass++) {
    for (let c = 0; c < p; c++) {
      for (let d = 0; d < c; d++) {
        let dot = 0;
        for (let j = 0; j < cols; j++) dot += Z[j * p + c]! * Z[j * p + d]!;
        for (let j = 0; j < cols; j++) Z[j * p + c]! -= dot * Z[j * p + d]!;
      }
      let norm = 0;
      for (let j = 0; j < cols; j++) norm += Z[j * p + c]! * Z[j * p + c]!;
      norm = Math.sqrt(norm);
      for (let j = 0; j < cols; j++) Z[j * p + c] = norm > 0 ? Z[j * p + c]! / norm : 0;
    }
  }
}

/**
 * Rayleigh–Ritz on span(Z) (Z orthonormal, cols × p) given P = XᵀXZ: the top-k singular values σ_t,
 * right vectors (Vt, cols × k) and the largest residual ‖XᵀX·v_t − σ_t²·v_t‖ / σ_1².
 */
export function ritzVectors(
  Z: Float64Array,
  P: Float64Array,
  cols: number,
  p: number,
  k: number,
): { S: Float64Array; Vt: Float64Array; residual: number } {
  // G = ZᵀXᵀXZ, symmetrised against rounding.
  const G = new Float64Array(p * p);
  for (let a = 0; a < p; a++) {
    for (let b = a; b < p; b++) {
      let s = 0;
      for (let j = 0; j < cols; j++) s += Z[j * p + a]! * P[j * p + b]! + Z[j * p + b]! * P[j * p + a]!;
      G[a * p + b] = G[b * p + a] = s / 2;
    }
  }
  const { values, vectors } = jacobiEigen(G, p);
  const order = Array.from(values.keys()).sort((a, b) => values[b]! - values[a]! || a - b);
  const S = new Float64Array(k);
  const Vt = new Float64Array(cols * k);
  let residual = 0;
  const top = Math.max(values[order[0]!]!, Number.MIN_VALUE);
  for (let t = 0; t < k; t++) {
    const e = order[t]!;
    const lambda = Math.max(values[e]!, 0);
    S[t] = Math.sqrt(lambda);
    let r2 = 0;
    for (let j = 0; j < cols; j++) {
      let v = 0;
      let xv = 0;
      for (let c = 0; c < p; c++) {
        const y = vectors[c * p + e]!;
        v += Z[j * p + c]! * y;
        xv += P[j * p + c]! * y;
      }
      Vt[j * k + t] = v;
      r2 += (xv - lambda * v) ** 2;
    }
    residual = Math.max(residual, Math.sqrt(r2) / top);
  }
  return { S, Vt, residual };
}

/**
 * A column whose norm, once made orthogonal to the basis, is at most this share of its norm before
 * holds nothing new (rounding only): it comes out zero rather than normalised, which would make rounding
 * noise a basis vector not orthogonal to the others.
 */
export const DEFLATE_BELOW = 1e-10;

/**
 * The next block of a Krylov basis: `product` (cols × p, XᵀX times the last block) made orthonormal and
 * orthogonal to every block of `basis` (each cols × p, orthonormal columns, orthogonal to each other),
 * column by column by Gram–Schmidt, twice; a column left with at most DEFLATE_BELOW of its norm comes out
 * zero. Returns a new array.
 */
export function nextBasisBlock(
  basis: readonly Float64Array[],
  product: Float64Array,
  cols: number,
  p: number,
): Float64Array {
  const W = product.slice(0, cols * p);
  /** W's column c −= (vᵀ·W_c)·v for column a of the cols × p matrix V (v: orthonormal or zero). */
  const subtract = (V: Float64Array, a: number, c: number) => {
    let d = 0;
    for (let j = 0; j < cols; j++) d += V[j * p + a]! * W[j * p + c]!;
    for (let j = 0; j < cols; j++) W[j * p + c]! -= d * V[j * p + a]!;
  };
  const squaredNorm = (c: number) => {
    let s = 0;
    for (let j = 0; j < cols; j++) s += W[j * p + c]! ** 2;
    return s;
  };
  for (let c = 0; c < p; c++) {
    const before = squaredNorm(c);
    for (let pass = 0; pass < 2; pass++) {
      for (const Q of basis) for (let a = 0; a < p; a++) subtract(Q, a, c);
      for (let a = 0; a < c; a++) subtract(W, a, c);
    }
    const after = squaredNorm(c);
    const scale = after > DEFLATE_BELOW ** 2 * before && after > 0 ? 1 / Math.sqrt(after) : 0;
    for (let j = 0; j < cols; j++) W[j * p + c]! *= scale;
  }
  return W;
}

/** A block Krylov basis: its blocks (each cols × p, orthonormal, orthogonal to each other) and XᵀX times each so far. */
export interface KrylovBasis {
  blocks: Float64Array[];
  products: Float64Array[];
}

/** Rayleigh–Ritz over every block of the basis that has its product (ritzVectors): the top k. */
export function krylovRitz(
  basis: KrylovBasis,
  cols: number,
  p: number,
  k: number,
): ReturnType<typeof ritzVectors> {
  const blocks = basis.blocks.slice(0, basis.products.length);
  return ritzVectors(
    joinColumns(blocks, cols, p),
    joinColumns(basis.products, cols, p),
    cols,
    blocks.length * p,
    k,
  );
}

/**
 * Adds the next round's block to the basis, whose last block has its product: that product made
 * orthogonal to the basis (nextBasisBlock), or, once the basis holds `maxBlocks` blocks, a restart: the
 * basis emptied and begun again from its p best Ritz vectors, which keeps its size bounded whatever the
 * rounds.
 */
export function extendKrylov(basis: KrylovBasis, cols: number, p: number, maxBlocks: number): void {
  if (basis.blocks.length < maxBlocks) {
    basis.blocks.push(nextBasisBlock(basis.blocks, basis.products.at(-1)!, cols, p));
    return;
  }
  const restart = krylovRitz(basis, cols, p, p).Vt;
  basis.blocks = [restart];
  basis.products = [];
}

/** The blocks (each cols × p, row-major) side by side: cols × (blocks · p), row-major. */
export function joinColumns(blocks: readonly Float64Array[], cols: number, p: number): Float64Array {
  const width = blocks.length * p;
  const out = new Float64Array(cols * width);
  blocks.forEach((B, i) => {
    for (let j = 0; j < cols; j++) for (let c = 0; c < p; c++) out[j * width + i * p + c] = B[j * p + c]!;
  });
  return out;
}

/**
 * Eigenvalues and eigenvectors (columns of the row-major n × n `vectors`) of a small symmetric matrix,
 * by cyclic Jacobi rotations until the off-diagonal part is at rounding level.
 */
export function jacobiEigen(A: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(A);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let diag = 0;
    for (let i = 0; i < n; i++) {
      diag += a[i * n + i]! ** 2;
      for (let j = i + 1; j < n; j++) off += a[i * n + j]! ** 2;
    }
    if (off <= 1e-32 * diag || off === 0) break;
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        const aij = a[i * n + j]!;
        if (aij === 0) continue;
        const theta = (a[j * n + j]! - a[i * n + i]!) / (2 * aij);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let r = 0; r < n; r++) {
          const ari = a[r * n + i]!;
          const arj = a[r * n + j]!;
          a[r * n + i] = c * ari - s * arj;
          a[r * n + j] = s * ari + c * arj;
        }
        for (let r = 0; r < n; r++) {
          const air = a[i * n + r]!;
          const ajr = a[j * n + r]!;
          a[i * n + r] = c * air - s * ajr;
          a[j * n + r] = s * air + c * ajr;
        }
        for (let r = 0; r < n; r++) {
          const vri = v[r * n + i]!;
          const vrj = v[r * n + j]!;
          v[r * n + i] = c * vri - s * vrj;
          v[r * n + j] = s * vri + c * vrj;
        }
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = a[i * n + i]!;
  return { values, vectors: v };
}
