/**
 * Stratified k-fold cross-validation splits, in the spirit of sklearn's StratifiedKFold(shuffle=True):
 * every row is in exactly one validation fold and each class is spread over the folds as evenly as
 * possible. The randomness comes from the project's seeded Rng, so splits are reproducible for a seed
 * but are not sklearn's permutations.
 */
import { Rng } from './random';

export interface Fold {
  /** Rows to fit on (every row not in `validation`), ascending. */
  train: Int32Array;
  /** Rows held out, ascending. */
  validation: Int32Array;
}

/**
 * k stratified folds of the rows of y (labels are non-negative integers; only the labels present count
 * as classes). Each class's rows are shuffled with Rng(seed) and the classes, in label order, are dealt
 * round-robin over the folds as one sequence, like sklearn's allocation over the sorted labels. Hence:
 *  - per class, the counts in the folds differ by at most 1;
 *  - the fold sizes differ by at most 1.
 * Throws RangeError when k is not an integer >= 2 or a class has fewer than k members.
 */
export function stratifiedKFold(y: Int32Array, k: number, seed: number): Fold[] {
  if (!Number.isInteger(k) || k < 2) throw new RangeError(`k must be an integer >= 2, got ${k}`);
  const n = y.length;
  if (n < k) throw new RangeError(`cannot split ${n} rows into ${k} folds`);
  let classes = 0;
  for (let i = 0; i < n; i++) {
    const v = y[i]!;
    if (v < 0) throw new RangeError(`y[${i}] = ${v} is negative; labels must be integers >= 0`);
    if (v >= classes) classes = v + 1;
  }
  const counts = new Int32Array(classes);
  for (let i = 0; i < n; i++) counts[y[i]!]!++;
  for (let c = 0; c < classes; c++) {
    const m = counts[c]!;
    if (m > 0 && m < k) {
      throw new RangeError(
        `class ${c} has only ${m} member${m === 1 ? '' : 's'}, fewer than the ${k} folds: ` +
          'every class needs at least one row in each fold',
      );
    }
  }

  // Rows grouped by class (ascending within a class), then each class's block shuffled.
  const start = new Int32Array(classes + 1);
  for (let c = 0; c < classes; c++) start[c + 1] = start[c]! + counts[c]!;
  const next = start.slice(0, classes);
  const byClass = new Int32Array(n);
  for (let i = 0; i < n; i++) byClass[next[y[i]!]!++] = i;
  const rng = new Rng(seed);
  for (let c = 0; c < classes; c++) rng.shuffle(byClass.subarray(start[c]!, start[c + 1]!));

  const foldOf = new Int32Array(n);
  for (let p = 0; p < n; p++) foldOf[byClass[p]!] = p % k;
  const sizes = new Int32Array(k);
  for (let i = 0; i < n; i++) sizes[foldOf[i]!]!++;
  const folds: Fold[] = [];
  for (let f = 0; f < k; f++) {
    folds.push({ train: new Int32Array(n - sizes[f]!), validation: new Int32Array(sizes[f]!) });
  }
  const vPos = new Int32Array(k);
  const tPos = new Int32Array(k);
  for (let i = 0; i < n; i++) {
    const fi = foldOf[i]!;
    for (let f = 0; f < k; f++) {
      if (f === fi) folds[f]!.validation[vPos[f]!++] = i;
      else folds[f]!.train[tPos[f]!++] = i;
    }
  }
  return folds;
}
