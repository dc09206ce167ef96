/**
 * Unconstrained L-BFGS minimiser that follows scipy's L-BFGS-B driver (scipy.optimize.minimize with
 * method='L-BFGS-B', as called by sklearn's _logistic_regression_path) when no bounds are given:
 *  - memory of `m` = 10 correction pairs, initial inverse Hessian scaled by sᵀy / yᵀy;
 *  - first step length min(1/‖d‖, 1e10), later steps start at 1;
 *  - Moré–Thuente line search (MINPACK-2 dcsrch/dcstep) with ftol=1e-3, gtol=0.9, xtol=0.1 and at
 *    most `maxLs` = 20 evaluations per iteration; on failure the memory is dropped and the iteration
 *    restarts along the steepest descent, as lnsrlb/mainlb do;
 *  - a pair is skipped when sᵀy <= eps·(−gᵀs);
 *  - stop when max|g| <= gtol ("projected gradient"), when the relative reduction of f is below
 *    factr·eps (scipy default ftol 2.22e-9), or after maxIter iterations.
 * Without bounds the compact L-BFGS-B representation and the two-loop recursion used here compute
 * the same direction mathematically.
 */

/** Evaluates f at x, writing ∇f(x) into grad, and returns f. */
export type ObjectiveWithGradient = (x: Float64Array, grad: Float64Array) => number;

export interface LbfgsOptions {
  /** Maximum number of iterations (scipy maxiter; default 15000). */
  maxIter?: number;
  /** Stop when max|g_i| <= gtol (scipy gtol/pgtol; default 1e-5). */
  gtol?: number;
  /** Stop when (f_k − f_{k+1}) / max(|f_k|, |f_{k+1}|, 1) <= ftol (scipy default 2.220446049250313e-9). */
  ftol?: number;
  /** Number of stored correction pairs (scipy maxcor; default 10). */
  memory?: number;
  /** Maximum function evaluations per line search (scipy maxls; default 20). */
  maxLs?: number;
}

export type LbfgsStatus = 'gtol' | 'ftol' | 'maxIter' | 'lineSearchFailed';

export interface LbfgsResult {
  x: Float64Array;
  f: number;
  grad: Float64Array;
  /** Completed iterations, like scipy's OptimizeResult.nit. */
  nIter: number;
  nEval: number;
  status: LbfgsStatus;
}

const EPS = 2.220446049250313e-16;
const STEP_MAX = 1e10;

interface Resolved {
  maxIter: number;
  gtol: number;
  ftol: number;
  memory: number;
  maxLs: number;
}

function resolve(o: LbfgsOptions | undefined): Resolved {
  const r: Resolved = {
    maxIter: o?.maxIter ?? 15000,
    gtol: o?.gtol ?? 1e-5,
    ftol: o?.ftol ?? 2.220446049250313e-9,
    memory: o?.memory ?? 10,
    maxLs: o?.maxLs ?? 20,
  };
  if (!Number.isInteger(r.maxIter) || r.maxIter < 0)
    throw new RangeError(`maxIter must be a non-negative integer, got ${r.maxIter}`);
  if (!(r.gtol >= 0)) throw new RangeError(`gtol must be >= 0, got ${r.gtol}`);
  if (!(r.ftol >= 0)) throw new RangeError(`ftol must be >= 0, got ${r.ftol}`);
  if (!Number.isInteger(r.memory) || r.memory < 1)
    throw new RangeError(`memory must be a positive integer, got ${r.memory}`);
  if (!Number.isInteger(r.maxLs) || r.maxLs < 1)
    throw new RangeError(`maxLs must be a positive integer, got ${r.maxLs}`);
  return r;
}

/** Dot product with four partial sums: breaks the add-latency chain (≈3× faster in V8). */
function dot(a: Float64Array, b: Float64Array): number {
  const n = a.length;
  let s0 = 0,
    s1 = 0,
    s2 = 0,
    s3 = 0;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    s0 += a[i]! * b[i]!;
    s1 += a[i + 1]! * b[i + 1]!;
    s2 += a[i + 2]! * b[i + 2]!;
    s3 += a[i + 3]! * b[i + 3]!;
  }
  for (; i < n; i++) s0 += a[i]! * b[i]!;
  return s0 + s1 + (s2 + s3);
}

/** x = base + stp·d (base = 0 when null). */
function stepTo(x: Float64Array, base: Float64Array | null, stp: number, d: Float64Array): void {
  if (base === null) for (let i = 0; i < x.length; i++) x[i] = stp * d[i]!;
  else for (let i = 0; i < x.length; i++) x[i] = base[i]! + stp * d[i]!;
}

function difference(a: Float64Array, b: Float64Array, out: Float64Array): void {
  for (let i = 0; i < out.length; i++) out[i] = a[i]! - b[i]!;
}

/**
 * d += a·x, then returns z·d (the updated d), in one pass; four partial sums keep the add chain
 * short. Fusing the two-loop recursion's axpy with the next dot product halves its memory traffic.
 */
function axpyThenDot(a: number, x: Float64Array, d: Float64Array, z: Float64Array | null): number {
  const n = d.length;
  if (z === null) {
    for (let i = 0; i < n; i++) d[i]! += a * x[i]!;
    return 0;
  }
  let s0 = 0,
    s1 = 0,
    s2 = 0,
    s3 = 0;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    const d0 = (d[i] = d[i]! + a * x[i]!);
    const d1 = (d[i + 1] = d[i + 1]! + a * x[i + 1]!);
    const d2 = (d[i + 2] = d[i + 2]! + a * x[i + 2]!);
    const d3 = (d[i + 3] = d[i + 3]! + a * x[i + 3]!);
    s0 += z[i]! * d0;
    s1 += z[i + 1]! * d1;
    s2 += z[i + 2]! * d2;
    s3 += z[i + 3]! * d3;
  }
  for (; i < n; i++) {
    const di = (d[i] = d[i]! + a * x[i]!);
    s0 += z[i]! * di;
  }
  return s0 + s1 + (s2 + s3);
}

/**
 * d = −H·g with the L-BFGS two-loop recursion over the `count` stored pairs (oldest at `head` in a
 * ring of size `memory`), H₀ = (sᵀy / yᵀy)·I from the newest pair.
 */
function twoLoop(
  g: Float64Array,
  d: Float64Array,
  S: Float64Array[],
  Y: Float64Array[],
  rho: number[],
  alpha: Float64Array,
  head: number,
  count: number,
  memory: number,
): void {
  for (let i = 0; i < d.length; i++) d[i] = -g[i]!;
  if (count === 0) return;
  const at = (k: number): number => (head + k) % memory;
  // Newest to oldest: α_k = ρ_k·s_kᵀd, d −= α_k·y_k.
  let sd = dot(S[at(count - 1)]!, d);
  for (let k = count - 1; k >= 0; k--) {
    const t = at(k);
    const a = rho[t]! * sd;
    alpha[k] = a;
    sd = axpyThenDot(-a, Y[t]!, d, k > 0 ? S[at(k - 1)]! : null);
  }
  const last = at(count - 1);
  const gamma = 1 / (rho[last]! * dot(Y[last]!, Y[last]!));
  for (let i = 0; i < d.length; i++) d[i]! *= gamma;
  // Oldest to newest: β = ρ_k·y_kᵀd, d += (α_k − β)·s_k.
  let yd = dot(Y[at(0)]!, d);
  for (let k = 0; k < count; k++) {
    const t = at(k);
    const b = rho[t]! * yd;
    yd = axpyThenDot(alpha[k]! - b, S[t]!, d, k + 1 < count ? Y[at(k + 1)]! : null);
  }
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const v = Math.abs(a[i]!);
    if (v > m) m = v;
  }
  return m;
}

export function minimizeLbfgs(fg: ObjectiveWithGradient, x0: Float64Array, opts?: LbfgsOptions): LbfgsResult {
  const o = resolve(opts);
  const n = x0.length;
  const x = Float64Array.from(x0);
  const g = new Float64Array(n);
  let f = fg(x, g);
  let nEval = 1;
  if (!Number.isFinite(f)) throw new RangeError(`objective is not finite at the starting point (${f})`);

  // Ring buffer of correction pairs.
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rho: number[] = [];
  let head = 0; // index of the oldest pair
  let count = 0;
  const alpha = new Float64Array(o.memory);

  const d = new Float64Array(n);
  const xOld = new Float64Array(n);
  const gOld = new Float64Array(n);
  const yTmp = new Float64Array(n);
  let nIter = 0;

  if (maxAbs(g) <= o.gtol) return { x, f, grad: g, nIter, nEval, status: 'gtol' };

  for (;;) {
    if (nIter >= o.maxIter) return { x, f, grad: g, nIter, nEval, status: 'maxIter' };
    // Search direction d = −H·g by the two-loop recursion.
    twoLoop(g, d, S, Y, rho, alpha, head, count, o.memory);
    let gd = dot(g, d);
    if (!(gd < 0)) {
      if (count === 0) return { x, f, grad: g, nIter, nEval, status: 'lineSearchFailed' };
      // Not a descent direction: drop the memory and use steepest descent (lnsrlb info = -4).
      count = 0;
      head = 0;
      continue;
    }
    const dNorm = Math.sqrt(dot(d, d));
    // L-BFGS-B starts at 1/‖d‖ only on its very first iteration, at 1 afterwards (even after a restart).
    let stp = nIter === 0 ? Math.min(1 / dNorm, STEP_MAX) : 1;

    xOld.set(x);
    gOld.set(g);
    const fOld = f;
    const gdOld = gd;
    const ls = new MoreThuente(fOld, gdOld, stp, 1e-3, 0.9, 0.1, 0, STEP_MAX);
    let evals = 0;
    let ok = false;
    for (;;) {
      stepTo(x, xOld, stp, d);
      f = fg(x, g);
      nEval++;
      evals++;
      gd = dot(g, d);
      const task = ls.step(f, gd);
      if (task !== 'FG') {
        ok = true;
        break;
      }
      if (evals >= o.maxLs) break;
      stp = ls.stp;
    }
    if (!ok || !Number.isFinite(f)) {
      x.set(xOld);
      g.set(gOld);
      f = fOld;
      if (count === 0) return { x, f, grad: g, nIter, nEval, status: 'lineSearchFailed' };
      count = 0;
      head = 0;
      continue;
    }
    stp = ls.stp;
    nIter++;
    if (nIter >= o.maxIter) return { x, f, grad: g, nIter, nEval, status: 'maxIter' };
    if (maxAbs(g) <= o.gtol) return { x, f, grad: g, nIter, nEval, status: 'gtol' };
    if (fOld - f <= o.ftol * Math.max(Math.abs(fOld), Math.abs(f), 1))
      return { x, f, grad: g, nIter, nEval, status: 'ftol' };

    // Correction pair s = stp·d, y = g − gOld, kept only when the curvature sᵀy is safely positive.
    difference(g, gOld, yTmp);
    const sy = (gd - gdOld) * stp;
    if (sy <= EPS * (-gdOld * stp)) continue;
    let slot: number;
    if (count < o.memory) {
      slot = (head + count) % o.memory;
      count++;
    } else {
      slot = head;
      head = (head + 1) % o.memory;
    }
    if (S[slot] === undefined) {
      S[slot] = new Float64Array(n);
      Y[slot] = new Float64Array(n);
    }
    const s = S[slot]!;
    stepTo(s, null, stp, d);
    Y[slot]!.set(yTmp);
    rho[slot] = 1 / dot(yTmp, s);
  }
}

type LsTask = 'FG' | 'CONVERGENCE' | 'WARNING';

/**
 * Moré–Thuente line search (MINPACK-2 dcsrch, as used inside L-BFGS-B). Construct with f(0), f'(0)
 * and the first trial step; after evaluating f and f' at `stp`, call step(); continue while it
 * returns 'FG', evaluating at the updated `stp`.
 */
export class MoreThuente {
  stp: number;
  private brackt = false;
  private stage = 1;
  private readonly ginit: number;
  private readonly gtest: number;
  private readonly finit: number;
  private width: number;
  private width1: number;
  private stx = 0;
  private fx: number;
  private gx: number;
  private sty = 0;
  private fy: number;
  private gy: number;
  private stmin = 0;
  private stmax: number;

  constructor(
    f0: number,
    g0: number,
    stp: number,
    ftol: number,
    private readonly gtol: number,
    private readonly xtol: number,
    private readonly stpmin: number,
    private readonly stpmax: number,
  ) {
    if (!(g0 < 0)) throw new RangeError('line search: initial directional derivative must be negative');
    this.stp = stp;
    this.finit = f0;
    this.ginit = g0;
    this.gtest = ftol * g0;
    this.width = stpmax - stpmin;
    this.width1 = this.width / 0.5;
    this.fx = f0;
    this.gx = g0;
    this.fy = f0;
    this.gy = g0;
    this.stmax = stp + 4 * stp;
  }

  step(f: number, g: number): LsTask {
    const stp = this.stp;
    const ftest = this.finit + stp * this.gtest;
    if (this.stage === 1 && f <= ftest && g >= 0) this.stage = 2;
    let task: LsTask = 'FG';
    if (this.brackt && (stp <= this.stmin || stp >= this.stmax)) task = 'WARNING';
    if (this.brackt && this.stmax - this.stmin <= this.xtol * this.stmax) task = 'WARNING';
    if (stp === this.stpmax && f <= ftest && g <= this.gtest) task = 'WARNING';
    if (stp === this.stpmin && (f > ftest || g >= this.gtest)) task = 'WARNING';
    if (f <= ftest && Math.abs(g) <= this.gtol * -this.ginit) task = 'CONVERGENCE';
    if (task !== 'FG') return task;

    if (this.stage === 1 && f <= this.fx && f > ftest) {
      // Stage 1 works on the modified function ψ(α) = f(α) − f(0) − α·ftol·f'(0).
      const gt = this.gtest;
      const r = dcstep(
        this.stx,
        this.fx - this.stx * gt,
        this.gx - gt,
        this.sty,
        this.fy - this.sty * gt,
        this.gy - gt,
        stp,
        f - stp * gt,
        g - gt,
        this.brackt,
        this.stmin,
        this.stmax,
      );
      this.assign(r);
      this.fx = r.fx + this.stx * gt;
      this.fy = r.fy + this.sty * gt;
      this.gx = r.dx + gt;
      this.gy = r.dy + gt;
    } else {
      const r = dcstep(
        this.stx,
        this.fx,
        this.gx,
        this.sty,
        this.fy,
        this.gy,
        stp,
        f,
        g,
        this.brackt,
        this.stmin,
        this.stmax,
      );
      this.assign(r);
      this.fx = r.fx;
      this.fy = r.fy;
      this.gx = r.dx;
      this.gy = r.dy;
    }
    let next = this.stp;
    if (this.brackt) {
      // Force sufficient shrinking of the bracket, else bisect.
      if (Math.abs(this.sty - this.stx) >= 0.66 * this.width1) next = this.stx + 0.5 * (this.sty - this.stx);
      this.width1 = this.width;
      this.width = Math.abs(this.sty - this.stx);
      this.stmin = Math.min(this.stx, this.sty);
      this.stmax = Math.max(this.stx, this.sty);
    } else {
      this.stmin = next + 1.1 * (next - this.stx);
      this.stmax = next + 4 * (next - this.stx);
    }
    next = Math.min(Math.max(next, this.stpmin), this.stpmax);
    if (
      (this.brackt && (next <= this.stmin || next >= this.stmax)) ||
      (this.brackt && this.stmax - this.stmin <= this.xtol * this.stmax)
    ) {
      next = this.stx;
    }
    this.stp = next;
    return 'FG';
  }

  private assign(r: StepResult): void {
    this.stx = r.stx;
    this.sty = r.sty;
    this.stp = r.stp;
    this.brackt = r.brackt;
  }
}

interface StepResult {
  stx: number;
  fx: number;
  dx: number;
  sty: number;
  fy: number;
  dy: number;
  stp: number;
  brackt: boolean;
}

/** One safeguarded cubic/quadratic interpolation step of MINPACK-2 dcstep. */
function dcstep(
  stx: number,
  fx: number,
  dx: number,
  sty: number,
  fy: number,
  dy: number,
  stp: number,
  fp: number,
  dp: number,
  brackt: boolean,
  stpmin: number,
  stpmax: number,
): StepResult {
  const sgnd = dp * (dx / Math.abs(dx));
  let stpf: number;
  if (fp > fx) {
    // Higher function value: the minimum is bracketed; take the cubic step or halfway to the quadratic.
    const theta = (3 * (fx - fp)) / (stp - stx) + dx + dp;
    const s = Math.max(Math.abs(theta), Math.abs(dx), Math.abs(dp));
    let gamma = s * Math.sqrt((theta / s) ** 2 - (dx / s) * (dp / s));
    if (stp < stx) gamma = -gamma;
    const p = gamma - dx + theta;
    const q = gamma - dx + gamma + dp;
    const stpc = stx + (p / q) * (stp - stx);
    const stpq = stx + (dx / ((fx - fp) / (stp - stx) + dx) / 2) * (stp - stx);
    stpf = Math.abs(stpc - stx) < Math.abs(stpq - stx) ? stpc : stpc + (stpq - stpc) / 2;
    brackt = true;
  } else if (sgnd < 0) {
    // Derivatives of opposite sign: bracketed; take the step farther from stp (cubic vs secant).
    const theta = (3 * (fx - fp)) / (stp - stx) + dx + dp;
    const s = Math.max(Math.abs(theta), Math.abs(dx), Math.abs(dp));
    let gamma = s * Math.sqrt((theta / s) ** 2 - (dx / s) * (dp / s));
    if (stp > stx) gamma = -gamma;
    const p = gamma - dp + theta;
    const q = gamma - dp + gamma + dx;
    const stpc = stp + (p / q) * (stx - stp);
    const stpq = stp + (dp / (dp - dx)) * (stx - stp);
    stpf = Math.abs(stpc - stp) > Math.abs(stpq - stp) ? stpc : stpq;
    brackt = true;
  } else if (Math.abs(dp) < Math.abs(dx)) {
    // Same sign, derivative magnitude decreases: cubic step only if it goes the right way.
    const theta = (3 * (fx - fp)) / (stp - stx) + dx + dp;
    const s = Math.max(Math.abs(theta), Math.abs(dx), Math.abs(dp));
    let gamma = s * Math.sqrt(Math.max(0, (theta / s) ** 2 - (dx / s) * (dp / s)));
    if (stp > stx) gamma = -gamma;
    const p = gamma - dp + theta;
    const q = gamma + (dx - dp) + gamma;
    const r = p / q;
    let stpc: number;
    if (r < 0 && gamma !== 0) stpc = stp + r * (stx - stp);
    else if (stp > stx) stpc = stpmax;
    else stpc = stpmin;
    const stpq = stp + (dp / (dp - dx)) * (stx - stp);
    if (brackt) {
      stpf = Math.abs(stpc - stp) < Math.abs(stpq - stp) ? stpc : stpq;
      stpf = stp > stx ? Math.min(stp + 0.66 * (sty - stp), stpf) : Math.max(stp + 0.66 * (sty - stp), stpf);
    } else {
      stpf = Math.abs(stpc - stp) > Math.abs(stpq - stp) ? stpc : stpq;
      stpf = Math.max(stpmin, Math.min(stpmax, stpf));
    }
  } else {
    // Same sign, derivative does not decrease: cubic on the bracket, or go to the interval end.
    if (brackt) {
      const theta = (3 * (fp - fy)) / (sty - stp) + dy + dp;
      const s = Math.max(Math.abs(theta), Math.abs(dy), Math.abs(dp));
      let gamma = s * Math.sqrt((theta / s) ** 2 - (dy / s) * (dp / s));
      if (stp > sty) gamma = -gamma;
      const p = gamma - dp + theta;
      const q = gamma - dp + gamma + dy;
      stpf = stp + (p / q) * (sty - stp);
    } else if (stp > stx) stpf = stpmax;
    else stpf = stpmin;
  }
  // Update the interval that contains the minimiser.
  if (fp > fx) {
    sty = stp;
    fy = fp;
    dy = dp;
  } else {
    if (sgnd < 0) {
      sty = stx;
      fy = fx;
      dy = dx;
    }
    stx = stp;
    fx = fp;
    dx = dp;
  }
  return { stx, fx, dx, sty, fy, dy, stp: stpf, brackt };
}
