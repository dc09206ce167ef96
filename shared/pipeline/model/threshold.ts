/**
 * Abstention: a prediction whose confidence (its top class probability) is below a threshold is not
 * answered (label `needs_review`). Training chooses the default threshold on the test split.
 */
import { ThresholdChoice, ThresholdRow } from './model-file';

/** The thresholds metrics.json reports besides the chosen one. */
export const THRESHOLD_GRID: readonly number[] = [0, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99];

/** A default threshold answering a smaller share of the test split than this is warned about. */
export const LOW_COVERAGE = 0.5;

/** Per row of an n × k probability matrix: the predicted class (lowest on ties, like argmax) and its probability. */
export function topClasses(
  proba: Float64Array,
  n: number,
  k: number,
): { label: Int32Array; confidence: Float64Array } {
  const label = new Int32Array(n);
  const confidence = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (proba[i * k + c]! > proba[i * k + best]!) best = c;
    label[i] = best;
    confidence[i] = proba[i * k + best]!;
  }
  return { label, confidence };
}

/** Whether a prediction of this confidence abstains at `threshold`. */
export function abstains(confidence: number, threshold: number): boolean {
  return confidence < threshold;
}

/**
 * The smallest threshold at which the precision of the non-abstained predictions (the share of them that
 * is right) reaches `targetPrecision`. Candidates are 0 and every confidence in the data: between two
 * consecutive confidences nothing changes, so these are all the distinct outcomes, and a prediction with
 * confidence exactly at the threshold is answered. When no candidate reaches the target, the one of
 * highest precision (the smallest such on ties) is chosen and `reached` is false. No rows: threshold 0.
 */
export function calibrateThreshold(
  confidence: Float64Array,
  correct: Uint8Array,
  targetPrecision: number,
): { choice: ThresholdChoice; reached: boolean } {
  const n = confidence.length;
  if (correct.length !== n) throw new RangeError(`${n} confidences but ${correct.length} outcomes`);
  if (n === 0) return { choice: { targetPrecision, value: 0, coverage: 0, precision: 0 }, reached: false };
  const order = Array.from(confidence.keys()).sort((a, b) => confidence[b]! - confidence[a]!);
  // Walk from the most confident down: after each group of equal confidences, the kept set is exactly
  // the predictions at or above that confidence.
  let kept = 0;
  let right = 0;
  let best: { value: number; kept: number; right: number } | null = null;
  let lowest: { value: number; kept: number; right: number } | null = null;
  for (let p = 0; p < n;) {
    const value = confidence[order[p]!]!;
    while (p < n && confidence[order[p]!] === value) right += correct[order[p++]!]!;
    kept = p;
    const here = { value, kept, right };
    // Precisions compared as cross-products of integers, so ties are exact.
    if (best === null || here.right * best.kept >= best.right * here.kept) best = here;
    if (right / kept >= targetPrecision) lowest = here;
  }
  const pick = lowest ?? best!;
  // Every prediction kept: threshold 0, the smallest of all, keeps the same set.
  const value = pick.kept === n ? 0 : pick.value;
  return {
    choice: { targetPrecision, value, coverage: pick.kept / n, precision: pick.right / pick.kept },
    reached: lowest !== null,
  };
}

/** Coverage and accuracy of the non-abstained predictions at each threshold, in ascending order. */
export function thresholdTable(
  confidence: Float64Array,
  correct: Uint8Array,
  thresholds: readonly number[],
): ThresholdRow[] {
  const n = confidence.length;
  return [...new Set(thresholds)]
    .sort((a, b) => a - b)
    .map((threshold) => {
      let kept = 0;
      let right = 0;
      for (let i = 0; i < n; i++) {
        if (abstains(confidence[i]!, threshold)) continue;
        kept++;
        right += correct[i]!;
      }
      return { threshold, coverage: n === 0 ? 0 : kept / n, accuracy: kept === 0 ? null : right / kept };
    });
}
