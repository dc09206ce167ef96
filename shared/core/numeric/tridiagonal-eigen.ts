/**
 * Eigen-decomposition of a real symmetric tridiagonal matrix by the implicit QL algorithm with
 * Wilkinson-type shifts (the EISPACK tql2 scheme), accumulating the rotations into the eigenvectors.
 */

/**
 * @param diag length n diagonal
 * @param off  length n; off[i] couples rows i and i+1 (off[n−1] is ignored)
 * @returns eigenvalues (unsorted) and eigenvectors as columns of a row-major n×n matrix
 */
export function symmetricTridiagonalEigen(
  diag: Float64Array,
  off: Float64Array,
): { values: Float64Array; vectors: Float64Array } {
  const n = diag.length;
  const d = Float64Array.from(diag);
  const e = new Float64Array(n);
  for (let i = 0; i < n - 1; i++) e[i] = off[i]!;
  const z = new Float64Array(n * n);
  for (let i = 0; i < n; i++) z[i * n + i] = 1;
  const EPS = 2.220446049250313e-16;

  for (let l = 0; l < n; l++) {
    let iter = 0;
    for (;;) {
      // Find a negligible off-diagonal element to split the matrix.
      let m = l;
      for (; m < n - 1; m++) {
        const dd = Math.abs(d[m]!) + Math.abs(d[m + 1]!);
        if (Math.abs(e[m]!) <= EPS * dd) break;
      }
      if (m === l) break;
      if (++iter > 60) throw new Error('symmetricTridiagonalEigen: no convergence');
      // Shift from the leading 2×2 block.
      let g = (d[l + 1]! - d[l]!) / (2 * e[l]!);
      let r = Math.hypot(g, 1);
      g = d[m]! - d[l]! + e[l]! / (g + (g >= 0 ? r : -r));
      let s = 1;
      let c = 1;
      let p = 0;
      let i = m - 1;
      let deflated = false;
      for (; i >= l; i--) {
        const f = s * e[i]!;
        const b = c * e[i]!;
        r = Math.hypot(f, g);
        e[i + 1] = r;
        if (r === 0) {
          // Underflow: recover and restart this sweep.
          d[i + 1]! -= p;
          e[m] = 0;
          deflated = true;
          break;
        }
        s = f / r;
        c = g / r;
        g = d[i + 1]! - p;
        r = (d[i]! - g) * s + 2 * c * b;
        p = s * r;
        d[i + 1] = g + p;
        g = c * r - b;
        for (let k = 0; k < n; k++) {
          const zk = k * n;
          const t = z[zk + i + 1]!;
          z[zk + i + 1] = s * z[zk + i]! + c * t;
          z[zk + i] = c * z[zk + i]! - s * t;
        }
      }
      if (deflated) continue;
      d[l]! -= p;
      e[l] = g;
      e[m] = 0;
    }
  }
  return { values: d, vectors: z };
}
