/**
 * Class weights with scikit-learn 1.2.1 semantics (sklearn.utils.class_weight.compute_class_weight) and
 * their expansion into per-sample weights.
 */

/**
 * compute_class_weight('balanced', classes=0..classes-1, y): weight_c = n / (k · count_c), where n is the
 * number of labels and k the number of distinct classes present in y, so every present class carries the
 * same total weight n / k.
 *
 * Deviation: sklearn raises when a class of `classes` does not occur in y. Here an absent class gets
 * weight 1 and does not count in k; it has no samples, so its weight never reaches a loss (and an empty y
 * gives all ones).
 */
export function balancedClassWeights(y: Int32Array, classes: number): Float64Array {
  if (!Number.isInteger(classes) || classes < 1)
    throw new RangeError(`classes must be an integer >= 1, got ${classes}`);
  const counts = new Float64Array(classes);
  for (let i = 0; i < y.length; i++) {
    const v = y[i]!;
    if (v < 0 || v >= classes) throw new RangeError(`y[${i}] = ${v} is outside [0, ${classes})`);
    counts[v]!++;
  }
  let present = 0;
  for (let c = 0; c < classes; c++) if (counts[c]! > 0) present++;
  const weights = new Float64Array(classes);
  for (let c = 0; c < classes; c++) {
    // Same operation order as sklearn: len(y) / (n_classes · bincount).
    weights[c] = counts[c]! > 0 ? y.length / (present * counts[c]!) : 1;
  }
  return weights;
}

/** Per-sample weights: sampleWeight[i] = classWeights[y[i]] (sklearn's class_weight_[y] indexing). */
export function sampleWeightsFor(y: Int32Array, classWeights: Float64Array): Float64Array {
  const out = new Float64Array(y.length);
  for (let i = 0; i < y.length; i++) {
    const v = y[i]!;
    if (v < 0 || v >= classWeights.length)
      throw new RangeError(`y[${i}] = ${v} is outside [0, ${classWeights.length})`);
    out[i] = classWeights[v]!;
  }
  return out;
}
