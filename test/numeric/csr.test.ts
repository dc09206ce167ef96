import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  assertCsr,
  csrFromDense,
  csrMean,
  csrTimesDense,
  csrTransposeTimesDense,
  selectRows,
  toDense,
  transpose,
} from '../../shared/core/numeric/csr';
import { Rng } from '../../shared/core/numeric/random';
import { spmm, spmmTransposed } from '../../shared/core/numeric/sparse-kernels';
import { assertClose } from './fixtures';

const A = csrFromDense([
  [0, 2, 0, 1],
  [0, 0, 0, 0],
  [3, 0, 4, 0],
]);

describe('CSR helpers', () => {
  it('round-trips through dense form and drops zeros', () => {
    assert.deepEqual(Array.from(A.indptr), [0, 2, 2, 4]);
    assert.deepEqual(Array.from(toDense(A)), [0, 2, 0, 1, 0, 0, 0, 0, 3, 0, 4, 0]);
    assert.doesNotThrow(() => assertCsr(A));
  });
  it('selects rows in the given order, with repeats', () => {
    const B = selectRows(A, [2, 0, 2]);
    assert.deepEqual(Array.from(toDense(B)), [3, 0, 4, 0, 0, 2, 0, 1, 3, 0, 4, 0]);
    assert.equal(selectRows(A, new Int32Array(0)).rows, 0);
    assert.throws(() => selectRows(A, [3]), RangeError);
  });
  it('transposes with sorted indices', () => {
    const T = transpose(A);
    assert.deepEqual([T.rows, T.cols], [4, 3]);
    assert.deepEqual(Array.from(toDense(T)), [0, 0, 3, 2, 0, 0, 0, 0, 4, 1, 0, 0]);
    assert.deepEqual(Array.from(toDense(transpose(T))), Array.from(toDense(A)));
  });
  it('detects broken structure', () => {
    assert.throws(() => assertCsr({ ...A, indptr: Int32Array.from([0, 2, 1, 4]) }), /decreases/);
    assert.throws(() => assertCsr({ ...A, indices: Int32Array.from([0, 9, 0, 2]) }), /outside/);
    assert.throws(() => assertCsr({ ...A, rows: 2 }), /indptr has length/);
  });
  it('mean counts implicit zeros', () => {
    assert.equal(csrMean(A), 10 / 12);
  });
  it('sparse × dense kernels agree with a dense reference for every unrolled width', () => {
    const rng = new Rng(9);
    const dense = Array.from({ length: 7 }, () =>
      Array.from({ length: 5 }, () => (rng.nextFloat() < 0.5 ? 0 : rng.nextFloat())),
    );
    const M = csrFromDense(dense);
    for (let K = 1; K <= 8; K++) {
      const B = Float64Array.from({ length: 5 * K }, () => rng.nextFloat());
      const ref = new Float64Array(7 * K);
      for (let i = 0; i < 7; i++)
        for (let c = 0; c < K; c++)
          for (let j = 0; j < 5; j++) ref[i * K + c]! += dense[i]![j]! * B[j * K + c]!;
      assertClose(csrTimesDense(M, B, K), ref, 1e-14, `K=${K}`);
      const Y = Float64Array.from({ length: 7 * K }, () => rng.nextFloat());
      const viaT = new Float64Array(5 * K);
      spmm(transpose(M), Y, K, viaT);
      assertClose(csrTransposeTimesDense(M, Y, K), viaT, 1e-14, `Kᵀ=${K}`);
    }
    assert.throws(() => spmm(M, new Float64Array(2), 1, new Float64Array(7)), RangeError);
  });

  it('spmmTransposed gives the bits of the gather over transpose(m), for every K and a dirty dst', () => {
    const rng = new Rng(17);
    const rows = 300;
    const cols = 40;
    const dense = Array.from({ length: rows }, () =>
      Array.from({ length: cols }, () => (rng.nextFloat() < 0.8 ? 0 : rng.nextFloat() - 0.5)),
    );
    const M = csrFromDense(dense);
    for (let K = 1; K <= 7; K++) {
      const Y = Float64Array.from({ length: rows * K }, () => rng.nextFloat() * 2 - 1);
      const gather = new Float64Array(cols * K);
      spmm(transpose(M), Y, K, gather);
      const scatter = new Float64Array(cols * K + 2).fill(7);
      spmmTransposed(M, Y, K, scatter);
      assert.deepEqual(scatter.subarray(0, cols * K), gather, `K=${K}: the same bits`);
      assert.deepEqual([...scatter.subarray(cols * K)], [7, 7], `K=${K}: nothing written past cols × K`);
    }
    assert.throws(() => spmmTransposed(M, new Float64Array(2), 1, new Float64Array(cols)), RangeError);
  });
});

describe('Rng', () => {
  it('produces uniform floats in [0,1), unbiased ints and normals with the right moments', () => {
    const rng = new Rng(1);
    let s = 0,
      s2 = 0;
    const n = 20000;
    for (let i = 0; i < n; i++) {
      const u = rng.nextFloat();
      assert.ok(u >= 0 && u < 1);
      const z = rng.normal();
      s += z;
      s2 += z * z;
    }
    assert.ok(Math.abs(s / n) < 0.05 && Math.abs(s2 / n - 1) < 0.05);
    const counts = [0, 0, 0];
    for (let i = 0; i < 3000; i++) counts[rng.nextInt(3)]!++;
    assert.ok(counts.every((c) => c > 900 && c < 1100));
    assert.throws(() => rng.nextInt(0), RangeError);
    assert.throws(() => new Rng(Number.NaN), RangeError);
  });
  it('permutations are permutations', () => {
    const p = new Rng(4).permutation(50);
    assert.deepEqual(
      Array.from(p).sort((a, b) => a - b),
      Array.from({ length: 50 }, (_, i) => i),
    );
  });
});
