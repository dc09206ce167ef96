import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Fold, stratifiedKFold } from '../../shared/core/numeric/kfold';
import { Rng } from '../../shared/core/numeric/random';

function classCounts(idx: Int32Array, y: Int32Array, k: number): number[] {
  const c = new Array<number>(k).fill(0);
  for (const i of idx) c[y[i]!]!++;
  return c;
}

function isAscending(a: Int32Array): boolean {
  for (let i = 1; i < a.length; i++) if (a[i - 1]! >= a[i]!) return false;
  return true;
}

/** Checks partition, complements, order and the balance properties; returns nothing on success. */
function assertFolds(folds: Fold[], y: Int32Array, k: number, what: string): void {
  const n = y.length;
  const classes = Math.max(...y) + 1;
  assert.equal(folds.length, k, `${what}: fold count`);
  const seen = new Int32Array(n);
  for (const [f, fold] of folds.entries()) {
    assert.ok(isAscending(fold.validation), `${what}: fold ${f} validation ascending`);
    assert.ok(isAscending(fold.train), `${what}: fold ${f} train ascending`);
    assert.equal(fold.train.length + fold.validation.length, n, `${what}: fold ${f} sizes`);
    const inVal = new Uint8Array(n);
    for (const i of fold.validation) {
      inVal[i] = 1;
      seen[i]!++;
    }
    for (const i of fold.train) assert.equal(inVal[i], 0, `${what}: row ${i} both in train and validation`);
  }
  assert.ok(
    seen.every((v) => v === 1),
    `${what}: every row in exactly one validation fold`,
  );
  const sizes = folds.map((f) => f.validation.length);
  assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `${what}: fold sizes ${sizes.join(',')}`);
  const perFold = folds.map((f) => classCounts(f.validation, y, classes));
  for (let c = 0; c < classes; c++) {
    const col = perFold.map((r) => r[c]!);
    assert.ok(Math.max(...col) - Math.min(...col) <= 1, `${what}: class ${c} per fold ${col.join(',')}`);
  }
}

describe('stratifiedKFold', () => {
  it('partitions the rows, balances every class and the fold sizes', () => {
    const rng = new Rng(11);
    for (const [n, classes, k] of [
      [100, 3, 5],
      [257, 4, 10],
      [31, 2, 3],
      [1000, 7, 4],
      [12, 3, 4],
    ] as const) {
      // Skewed class sizes, every class with at least k members.
      const y = new Int32Array(n);
      for (let i = 0; i < n; i++)
        y[i] = i < classes * k ? i % classes : Math.floor(classes * rng.nextFloat() ** 2);
      rng.shuffle(y);
      for (const seed of [0, 1, 42])
        assertFolds(stratifiedKFold(y, k, seed), y, k, `n=${n} k=${k} seed=${seed}`);
    }
  });

  it('is deterministic for a seed and differs between seeds', () => {
    const y = Int32Array.from({ length: 200 }, (_, i) => (i * 7) % 3);
    const a = stratifiedKFold(y, 5, 7);
    const b = stratifiedKFold(y, 5, 7);
    const c = stratifiedKFold(y, 5, 8);
    assert.deepEqual(a, b);
    assert.notDeepEqual(
      a.map((f) => Array.from(f.validation)),
      c.map((f) => Array.from(f.validation)),
    );
  });

  it('pins the folds of a seed (a change here changes every seeded model search)', () => {
    const y = Int32Array.from([0, 1, 0, 2, 1, 0, 1, 2, 0, 1, 2, 0]);
    assert.deepEqual(
      stratifiedKFold(y, 3, 1).map((f) => Array.from(f.validation)),
      [
        [5, 9, 10, 11],
        [1, 2, 7, 8],
        [0, 3, 4, 6],
      ],
    );
  });

  it('does not depend on labels other than through the classes present', () => {
    // Label 1 unused: classes 0 and 2 are still stratified.
    const y = Int32Array.from([0, 2, 0, 2, 0, 2, 0, 2]);
    const folds = stratifiedKFold(y, 2, 3);
    for (const f of folds) assert.deepEqual(classCounts(f.validation, y, 3), [2, 0, 2]);
  });

  it('rejects k < 2, too few rows and classes smaller than k', () => {
    const y = Int32Array.from([0, 0, 0, 1, 1, 1, 2, 2]);
    assert.throws(() => stratifiedKFold(y, 1, 0), /k must be an integer >= 2/);
    assert.throws(() => stratifiedKFold(y, 2.5, 0), RangeError);
    assert.throws(() => stratifiedKFold(y, 3, 0), {
      name: 'RangeError',
      message: /class 2 has only 2 members/,
    });
    assert.throws(() => stratifiedKFold(Int32Array.from([0, 0, 1]), 2, 0), /class 1 has only 1 member,/);
    assert.throws(() => stratifiedKFold(new Int32Array(0), 2, 0), RangeError);
    assert.throws(() => stratifiedKFold(Int32Array.from([0, -1, 0, -1]), 2, 0), /negative/);
    assertFolds(stratifiedKFold(y, 2, 0), y, 2, 'k=2');
  });
});
