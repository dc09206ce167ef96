/**
 * How NMF topics line up with known classes: purity, and normalized mutual information with sklearn's
 * default arithmetic normalisation (`normalized_mutual_info_score`). Information only, not a target.
 */
export function purity(clusters: readonly string[], classes: readonly string[]): number {
  const table = contingency(clusters, classes);
  let sum = 0;
  for (const row of table.counts) sum += Math.max(...row);
  return sum / clusters.length;
}

export function nmi(clusters: readonly string[], classes: readonly string[]): number {
  const { counts } = contingency(clusters, classes);
  const n = clusters.length;
  const rowSums = counts.map((r) => r.reduce((a, b) => a + b, 0));
  const colSums = counts[0]!.map((_, j) => counts.reduce((a, r) => a + r[j]!, 0));
  const entropy = (sums: number[]) => -sums.reduce((h, s) => (s > 0 ? h + (s / n) * Math.log(s / n) : h), 0);
  let mi = 0;
  counts.forEach((row, i) =>
    row.forEach((nij, j) => {
      if (nij > 0) mi += (nij / n) * Math.log((n * nij) / (rowSums[i]! * colSums[j]!));
    }),
  );
  const hu = entropy(rowSums);
  const hv = entropy(colSums);
  if (hu === 0 && hv === 0) return 1;
  return mi / ((hu + hv) / 2);
}

function contingency(a: readonly string[], b: readonly string[]): { counts: number[][] } {
  const ai = new Map<string, number>();
  const bi = new Map<string, number>();
  a.forEach((x) => ai.has(x) || ai.set(x, ai.size));
  b.forEach((x) => bi.has(x) || bi.set(x, bi.size));
  const counts = Array.from({ length: ai.size }, () => new Array<number>(bi.size).fill(0));
  a.forEach((x, k) => counts[ai.get(x)!]![bi.get(b[k]!)!]!++);
  return { counts };
}
