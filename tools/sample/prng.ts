/**
 * A small seeded PRNG (mulberry32) and the draws the sample generator needs.
 *
 * Only integer and float arithmetic, no `Math.exp`/`Math.log`, so the same seed gives the same
 * sequence on every platform and Node version: the committed sample must be reproducible anywhere.
 */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). mulberry32 by Tommy Ettinger (public domain). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [lo, hi], both ends included. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick: no items to choose from');
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** One value out of `[value, weight]` pairs, with probability proportional to its weight. */
  weighted<T>(pairs: readonly (readonly [T, number])[]): T {
    let total = 0;
    for (const [, w] of pairs) total += w;
    let r = this.next() * total;
    for (const [value, w] of pairs) {
      r -= w;
      if (r < 0) return value;
    }
    return (pairs[pairs.length - 1] as readonly [T, number])[0];
  }

  /** A shuffled copy (Fisher-Yates). */
  shuffle<T>(items: readonly T[]): T[] {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const tmp = out[i] as T;
      out[i] = out[j] as T;
      out[j] = tmp;
    }
    return out;
  }

  /**
   * A draw from a distribution given by its quantiles at 0, 1/n, 2/n, ... 1 (piecewise-linear inverse CDF).
   * Used for narrative lengths: a right-skewed shape without transcendental functions.
   */
  fromQuantiles(quantiles: readonly number[]): number {
    const u = this.next() * (quantiles.length - 1);
    const i = Math.floor(u);
    const lo = quantiles[i] as number;
    const hi = quantiles[Math.min(i + 1, quantiles.length - 1)] as number;
    return lo + (hi - lo) * (u - i);
  }
}
