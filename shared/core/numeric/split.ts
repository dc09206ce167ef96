/**
 * Seeded train/test splits following sklearn's train_test_split: ShuffleSplit when not stratified,
 * StratifiedShuffleSplit (with _approximate_mode for per-class counts) when stratified. The random
 * stream is our own (random.ts), so the chosen indices differ from numpy's, but the sizes and the
 * per-class counts follow the same rules.
 */
import { Rng } from './random';

export interface SplitOptions {
  /** Fraction of samples in the test set, in (0, 1); test count = ceil(testSize·n) like sklearn. */
  testSize: number;
  seed: number;
  /** Labels to stratify on (any non-negative integers); null/undefined → plain shuffle. */
  stratify?: Int32Array | null;
}

export interface Split {
  train: Int32Array;
  test: Int32Array;
}

/** Sizes like sklearn's _validate_shuffle_split with train_size=None. */
function splitSizes(n: number, testSize: number): { nTrain: number; nTest: number } {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`n must be a non-negative integer, got ${n}`);
  if (!(testSize > 0 && testSize < 1))
    throw new RangeError(`testSize must be a fraction in (0, 1), got ${testSize}`);
  const nTest = Math.ceil(testSize * n);
  const nTrain = n - nTest;
  if (nTrain === 0) {
    throw new RangeError(
      `With n_samples=${n}, test_size=${testSize} the resulting train set will be empty. Adjust the parameter.`,
    );
  }
  return { nTrain, nTest };
}

export function trainTestSplit(n: number, opts: SplitOptions): Split {
  const { nTrain, nTest } = splitSizes(n, opts.testSize);
  const rng = new Rng(opts.seed);
  const y = opts.stratify ?? null;
  if (y === null) {
    const perm = rng.permutation(n);
    return { test: perm.slice(0, nTest), train: perm.slice(nTest, nTest + nTrain) };
  }
  if (y.length !== n) throw new RangeError(`stratify has ${y.length} labels, expected n = ${n}`);
  return stratifiedSplit(y, nTrain, nTest, rng);
}

function stratifiedSplit(y: Int32Array, nTrain: number, nTest: number, rng: Rng): Split {
  // Classes = distinct labels in ascending order, like np.unique.
  let maxLabel = -1;
  for (let i = 0; i < y.length; i++) {
    if (y[i]! < 0) throw new RangeError(`stratify[${i}] = ${y[i]} is negative`);
    if (y[i]! > maxLabel) maxLabel = y[i]!;
  }
  const byLabel = new Int32Array(maxLabel + 1);
  for (let i = 0; i < y.length; i++) byLabel[y[i]!]!++;
  const labels: number[] = [];
  for (let l = 0; l <= maxLabel; l++) if (byLabel[l]! > 0) labels.push(l);
  const k = labels.length;
  const counts = labels.map((l) => byLabel[l]!);
  if (Math.min(...counts) < 2) {
    throw new RangeError(
      'The least populated class in y has only 1 member, which is too few. The minimum number of groups for any class cannot be less than 2.',
    );
  }
  if (nTrain < k)
    throw new RangeError(
      `The train_size = ${nTrain} should be greater or equal to the number of classes = ${k}`,
    );
  if (nTest < k)
    throw new RangeError(
      `The test_size = ${nTest} should be greater or equal to the number of classes = ${k}`,
    );

  const trainPerClass = approximateMode(counts, nTrain, rng);
  const remaining = counts.map((c, i) => c - trainPerClass[i]!);
  const testPerClass = approximateMode(remaining, nTest, rng);

  // Members of each class in ascending index order (a stable grouping, like argsort mergesort).
  const members: Int32Array[] = counts.map((c) => new Int32Array(c));
  const fill = new Int32Array(k);
  const slot = new Int32Array(maxLabel + 1).fill(-1);
  labels.forEach((l, i) => (slot[l] = i));
  for (let i = 0; i < y.length; i++) {
    const c = slot[y[i]!]!;
    members[c]![fill[c]!++] = i;
  }
  const train = new Int32Array(nTrain);
  const test = new Int32Array(nTest);
  let a = 0;
  let b = 0;
  for (let c = 0; c < k; c++) {
    const m = rng.shuffle(members[c]!);
    for (let t = 0; t < trainPerClass[c]!; t++) train[a++] = m[t]!;
    for (let t = 0; t < testPerClass[c]!; t++) test[b++] = m[trainPerClass[c]! + t]!;
  }
  rng.shuffle(train);
  rng.shuffle(test);
  return { train, test };
}

/**
 * sklearn.utils._approximate_mode: floor of the proportional allocation, then the remaining draws go
 * to the largest remainders, ties among equal remainders broken at random.
 */
export function approximateMode(counts: readonly number[], nDraws: number, rng: Rng): number[] {
  const total = counts.reduce((s, c) => s + c, 0);
  const continuous = counts.map((c) => (c / total) * nDraws);
  const floored = continuous.map(Math.floor);
  let need = nDraws - floored.reduce((s, c) => s + c, 0);
  if (need > 0) {
    const remainder = continuous.map((c, i) => c - floored[i]!);
    const values = [...new Set(remainder)].sort((p, q) => q - p);
    for (const v of values) {
      const inds: number[] = [];
      remainder.forEach((r, i) => {
        if (r === v) inds.push(i);
      });
      const take = Math.min(inds.length, need);
      // Random subset of size `take` (partial Fisher–Yates).
      for (let t = 0; t < take; t++) {
        const j = t + rng.nextInt(inds.length - t);
        const tmp = inds[t]!;
        inds[t] = inds[j]!;
        inds[j] = tmp;
        floored[inds[t]!]!++;
      }
      need -= take;
      if (need === 0) break;
    }
  }
  return floored;
}
