import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { balancedClassWeights, sampleWeightsFor } from '../../shared/core/numeric/class-weight';
import { assertClose, loadFixture } from './fixtures';

interface ClassWeightFixture {
  cases: { classes: number; y: number[]; weights: number[]; sampleWeights: number[] }[];
  absentClassError: string | null;
}

const fx = loadFixture<ClassWeightFixture>('class_weight');

describe("balanced class weights vs sklearn compute_class_weight('balanced')", () => {
  for (const c of fx.cases) {
    it(`${c.y.length} labels, ${c.classes} classes`, () => {
      const y = Int32Array.from(c.y);
      const w = balancedClassWeights(y, c.classes);
      // Same operations as sklearn: n / (k · count), so equal to the last bit.
      assert.deepEqual(Array.from(w), c.weights);
      assert.deepEqual(Array.from(sampleWeightsFor(y, w)), c.sampleWeights);
      // Every class carries the same total weight n / k.
      const totals = new Float64Array(c.classes);
      for (let i = 0; i < y.length; i++) totals[y[i]!]! += w[y[i]!]!;
      assertClose(totals, new Array<number>(c.classes).fill(y.length / c.classes), 1e-9, 'class totals');
    });
  }
});

describe('class weight behaviour', () => {
  it('gives absent classes weight 1 and leaves them out of the class count (sklearn raises)', () => {
    assert.equal(fx.absentClassError, 'classes should have valid labels that are in y');
    const w = balancedClassWeights(Int32Array.from([0, 1, 1, 2]), 4);
    // n = 4, k = 3 present classes.
    assertClose(w, [4 / 3, 4 / 6, 4 / 3, 1], 1e-15, 'weights');
    assert.deepEqual(Array.from(balancedClassWeights(new Int32Array(0), 2)), [1, 1]);
  });
  it('validates labels', () => {
    assert.throws(() => balancedClassWeights(Int32Array.from([0, 3]), 3), /y\[1\] = 3 is outside \[0, 3\)/);
    assert.throws(() => balancedClassWeights(Int32Array.from([0, -1]), 3), RangeError);
    assert.throws(() => balancedClassWeights(Int32Array.from([0]), 0), RangeError);
    assert.throws(() => sampleWeightsFor(Int32Array.from([0, 2]), Float64Array.from([1, 1])), RangeError);
  });
});
