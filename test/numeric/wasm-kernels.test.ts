import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CsrMatrix } from '../../shared/core/numeric/csr-matrix';
import { Rng } from '../../shared/core/numeric/random';
import {
  STREAMED_FROM_NNZ,
  spmm,
  spmmScalar,
  spmmTransposed,
  spmmTransposedScalar,
  streams,
} from '../../shared/core/numeric/sparse-kernels';
import { rowBlockProducts } from '../../shared/core/numeric/wasm/row-block-products';
import {
  CHUNK_ENTRIES,
  CHUNK_ROWS,
  KEEP_WORKSPACE_BYTES,
  isPinned,
  pinRows,
  streamedSpmm,
  streamedSpmmTransposed,
  workspaceBytes,
} from '../../shared/core/numeric/wasm/streamed-products';
import { CSR_KERNELS_WASM_BASE64 } from '../../shared/core/numeric/wasm/csr-kernels-binary';
import { compileKernels } from '../../tools/wasm/compile-kernels';

/** Rows of 0 to `longest` entries (a tenth empty), sorted columns, values of every magnitude and sign. */
function randomMatrix(rng: Rng, rows: number, cols: number, longest: number): CsrMatrix {
  const indptr = new Int32Array(rows + 1);
  const indices: number[] = [];
  const data: number[] = [];
  for (let i = 0; i < rows; i++) {
    const len = rng.nextFloat() < 0.1 ? 0 : Math.floor(rng.nextFloat() * (longest + 1));
    const row = new Set<number>();
    while (row.size < Math.min(len, cols)) row.add(Math.floor(rng.nextFloat() * cols));
    for (const j of [...row].sort((a, b) => a - b)) {
      indices.push(j);
      data.push((rng.nextFloat() - 0.3) * 10 ** Math.floor(rng.nextFloat() * 8 - 4));
    }
    indptr[i + 1] = indices.length;
  }
  return { rows, cols, indptr, indices: Int32Array.from(indices), data: Float64Array.from(data) };
}

/** Random dense sides for X·src and Xᵀ·srcT with K columns, and what the JavaScript loops give for them. */
function scalarProducts(rng: Rng, X: CsrMatrix, K: number) {
  const src = Float64Array.from({ length: X.cols * K }, () => rng.nextFloat() - 0.5);
  const srcT = Float64Array.from({ length: X.rows * K }, () => rng.nextFloat() - 0.5);
  const expected = new Float64Array(X.rows * K);
  spmmScalar(X, src, K, expected);
  const expectedT = new Float64Array(X.cols * K);
  spmmTransposedScalar(X, srcT, K, expectedT);
  return { src, srcT, expected, expectedT };
}

function sameBits(actual: Float64Array, expected: Float64Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i])) {
      assert.fail(`${what}: entry ${i} is ${actual[i]}, the JavaScript kernels give ${expected[i]}`);
    }
  }
}

describe('WebAssembly sparse kernels (row-block-products.ts)', () => {
  it('the committed binary is what csr-kernels.wat assembles to (npm run build:wasm)', async () => {
    const built = Buffer.from(await compileKernels());
    const committed = Buffer.from(CSR_KERNELS_WASM_BASE64, 'base64');
    assert.ok(
      built.equals(committed),
      `csr-kernels-binary.ts (${committed.length} bytes) is not csr-kernels.wat's binary (${built.length} bytes): run npm run build:wasm`,
    );
  });

  for (const K of [1, 2, 3, 4, 7]) {
    it(`K = ${K}: scores and Xᵀ·R with the same bits as spmm and spmmTransposed, over blocks of every size`, () => {
      const rng = new Rng(100 + K);
      const X = randomMatrix(rng, 257, 61, 30);
      const w = Float64Array.from({ length: X.cols * K }, () => rng.nextFloat() * 2 - 1);
      // What an objective does: scores X·W, changed in place (here: scaled by row), then Xᵀ·changed.
      const change = (scores: Float64Array, rowOf: (q: number) => number) => {
        for (let q = 0; q < scores.length; q++) scores[q] = scores[q]! * (1 + rowOf(q) / 7) - 0.5;
      };
      const expectedScores = new Float64Array(X.rows * K);
      spmmScalar(X, w, K, expectedScores);
      const changed = expectedScores.slice();
      change(changed, (q) => Math.floor(q / K));
      const expectedG = new Float64Array(X.cols * K);
      spmmTransposedScalar(X, changed, K, expectedG);

      // Held whole in the module's memory, in one block or tiny blocks by rows; copied a block at a time,
      // in one block, tiny blocks by rows, tiny blocks by entries (rows longer than a block too).
      for (const limits of [
        {},
        { blockRows: 5 },
        { blockRows: 1 },
        { resident: false },
        { resident: false, blockRows: 5 },
        { resident: false, blockRows: 1 },
        { resident: false, blockEntries: 17 },
        { resident: false, blockEntries: 1 },
      ]) {
        const what = `K = ${K}, limits ${JSON.stringify(limits)}`;
        const products = rowBlockProducts(X, K, limits);
        const scores = new Float64Array(X.rows * K);
        const g = new Float64Array(X.cols * K).fill(Number.NaN);
        let next = 0;
        products.pass(w, g, (block, r0, r1) => {
          assert.equal(r0, next, `${what}: blocks in row order`);
          assert.ok(r1 > r0, `${what}: a block has rows`);
          assert.equal(block.length, (r1 - r0) * K);
          scores.set(block, r0 * K);
          change(block, (q) => r0 + Math.floor(q / K));
          next = r1;
        });
        assert.equal(next, X.rows, `${what}: every row`);
        sameBits(scores, expectedScores, `${what}: X·W`);
        sameBits(g, expectedG, `${what}: Xᵀ·R`);
        // A second pass starts from zero again.
        products.pass(w, g, (block, r0) => change(block, (q) => r0 + Math.floor(q / K)));
        sameBits(g, expectedG, `${what}: Xᵀ·R, second pass`);
      }
    });
  }

  it('a matrix without rows gives a zero gradient', () => {
    const X: CsrMatrix = {
      rows: 0,
      cols: 4,
      indptr: new Int32Array(1),
      indices: new Int32Array(0),
      data: new Float64Array(0),
    };
    const g = new Float64Array(12).fill(1);
    let visits = 0;
    rowBlockProducts(X, 3).pass(new Float64Array(12).fill(2), g, () => visits++);
    assert.equal(visits, 0);
    assert.deepEqual([...g], new Array<number>(12).fill(0));
  });
});

describe('spmm and spmmTransposed in WebAssembly (streamed-products.ts)', () => {
  it('the workspace grows with the columns, not the rows: 200,000 rows are streamed through it', () => {
    const rows = 200_000;
    const X: CsrMatrix = {
      rows,
      cols: 3,
      indptr: Int32Array.from({ length: rows + 1 }, (_, i) => i),
      indices: Int32Array.from({ length: rows }, (_, i) => i % 3),
      data: Float64Array.from({ length: rows }, (_, i) => 1 + (i % 7)),
    };
    const before = workspaceBytes();
    const src = Float64Array.from({ length: 9 }, (_, i) => i - 4);
    const dst = new Float64Array(rows * 3);
    streamedSpmm(X, src, 3, dst);
    const expected = new Float64Array(rows * 3);
    spmmScalar(X, src, 3, expected);
    sameBits(dst, expected, 'X·src');
    // the dense side, a chunk's dense rows, row pointers, indices and values, each rounded up to 8 bytes
    const bound = 8 * 9 + 8 * CHUNK_ROWS * 3 + 4 * (CHUNK_ROWS + 2) + 12 * CHUNK_ENTRIES;
    const pages = Math.ceil(bound / 65_536) * 65_536;
    assert.ok(
      workspaceBytes() <= Math.max(before, pages),
      `workspace of ${workspaceBytes()} bytes after a product over ${rows} rows (${rows * 3 * 8} bytes of scores), bound ${pages}`,
    );
  });

  for (const K of [1, 2, 3, 4, 5, 7, 8]) {
    it(`K = ${K}: the JavaScript loops' bits, in chunks of every size`, () => {
      const rng = new Rng(500 + K);
      const X = randomMatrix(rng, 301, 67, 30);
      const { src, srcT, expected, expectedT } = scalarProducts(rng, X, K);
      // By default in one chunk; tiny chunks by rows; by entries, rows longer than a chunk included.
      for (const limits of [
        {},
        { chunkRows: 7 },
        { chunkRows: 1 },
        { chunkEntries: 13 },
        { chunkEntries: 1 },
      ]) {
        const what = `K = ${K}, limits ${JSON.stringify(limits)}`;
        const dst = new Float64Array(X.rows * K).fill(Number.NaN);
        streamedSpmm(X, src, K, dst, limits);
        sameBits(dst, expected, `${what}: X·src`);
        const dstT = new Float64Array(X.cols * K).fill(Number.NaN);
        streamedSpmmTransposed(X, srcT, K, dstT, limits);
        sameBits(dstT, expectedT, `${what}: Xᵀ·src`);
      }
    });
  }

  it(`spmm and spmmTransposed give the loops' bits above STREAMED_FROM_NNZ (${STREAMED_FROM_NNZ}), after a wider product`, () => {
    const rng = new Rng(77);
    const X = randomMatrix(rng, 900, 211, 25);
    assert.ok(X.indptr[X.rows]! >= STREAMED_FROM_NNZ, 'the matrix is large enough to be streamed');
    // A product with more columns first: the workspace's earlier contents must not leak into the next.
    const wide = randomMatrix(rng, 40, 2_000, 60);
    streamedSpmmTransposed(
      wide,
      Float64Array.from({ length: 40 * 8 }, () => rng.nextFloat()),
      8,
      new Float64Array(2_000 * 8),
    );
    for (const K of [1, 2, 3, 4, 6]) {
      const { src, srcT, expected, expectedT } = scalarProducts(rng, X, K);
      const dst = new Float64Array(X.rows * K);
      spmm(X, src, K, dst);
      sameBits(dst, expected, `K = ${K}: spmm`);
      const dstT = new Float64Array(X.cols * K).fill(1);
      spmmTransposed(X, srcT, K, dstT);
      sameBits(dstT, expectedT, `K = ${K}: spmmTransposed`);
    }
  });

  it('a product needing more than KEEP_WORKSPACE_BYTES gets a memory of its own: the kept workspace does not grow', () => {
    const cols = 1_000_000;
    const rows = 50;
    const rng = new Rng(91);
    const indptr = Int32Array.from({ length: rows + 1 }, (_, i) => i * 3);
    const indices = Int32Array.from({ length: rows * 3 }, (_, q) => Math.floor(q / 3) * 19_999 + (q % 3));
    const X: CsrMatrix = {
      rows,
      cols,
      indptr,
      indices,
      data: Float64Array.from(indices, () => rng.nextFloat()),
    };
    const before = workspaceBytes();
    assert.ok(before <= KEEP_WORKSPACE_BYTES, `kept ${before} bytes`);
    const src = Float64Array.from({ length: rows * 3 }, () => rng.nextFloat() - 0.5);
    const dst = new Float64Array(cols * 3);
    streamedSpmmTransposed(X, src, 3, dst);
    const expected = new Float64Array(cols * 3);
    spmmTransposedScalar(X, src, 3, expected);
    sameBits(dst, expected, 'Xᵀ·src over a million columns');
    assert.equal(workspaceBytes(), before, 'the kept workspace is unchanged');
  });

  it('which products run in WebAssembly: enough non-zeros, and at least as many as the dense side has numbers', () => {
    const rng = new Rng(5);
    const X = randomMatrix(rng, 900, 211, 25);
    assert.ok(X.indptr[X.rows]! >= STREAMED_FROM_NNZ);
    assert.equal(streams(X, 3, false), true, 'a block of tickets against a small vocabulary');
    const small = randomMatrix(rng, 20, 211, 25);
    assert.equal(streams(small, 3, false), false, `fewer than ${STREAMED_FROM_NNZ} non-zeros`);
    const wide = { ...X, cols: 20_000 };
    assert.equal(streams(wide, 3, false), false, 'fewer non-zeros than the model has weights');
    assert.equal(streams(X, 2, false), false, "spmm's unrolled K = 2 loop");
    assert.equal(streams(X, 2, true), true, 'Xᵀ·A with K = 2');
  });

  it("a pinned matrix: the loops' bits for every K, pins nest, the last unpin lets it go", () => {
    const rng = new Rng(321);
    const X = randomMatrix(rng, 700, 90, 20);
    const unpinOuter = pinRows(X, 5);
    const unpinInner = pinRows(X, 1);
    assert.equal(isPinned(X), true);
    for (const K of [1, 2, 3, 4, 5]) {
      const { src, srcT, expected, expectedT } = scalarProducts(rng, X, K);
      // Twice each, the dense areas reused, through the dispatchers too.
      for (let pass = 0; pass < 2; pass++) {
        const dst = new Float64Array(X.rows * K).fill(Number.NaN);
        spmm(X, src, K, dst);
        sameBits(dst, expected, `K = ${K}, pass ${pass}: X·src`);
        const dstT = new Float64Array(X.cols * K).fill(Number.NaN);
        spmmTransposed(X, srcT, K, dstT);
        sameBits(dstT, expectedT, `K = ${K}, pass ${pass}: Xᵀ·src`);
      }
    }
    unpinInner();
    unpinInner();
    assert.equal(isPinned(X), true, 'an unpin called twice counts once; the outer pin holds it');
    unpinOuter();
    assert.equal(isPinned(X), false);
  });

  it('no product grows a WebAssembly memory (a grown memory detaches its buffer, slowing every typed array in the process)', (t) => {
    let grown = 0;
    const proto = (globalThis as unknown as { WebAssembly: { Memory: { prototype: { grow: unknown } } } })
      .WebAssembly.Memory.prototype;
    const grow = proto.grow as (this: unknown, pages: number) => number;
    proto.grow = function (this: unknown, pages: number) {
      grown++;
      return grow.call(this, pages);
    };
    t.after(() => {
      proto.grow = grow;
    });
    const rng = new Rng(404);
    // Products of ever wider dense sides and longer rows: the workspace must be replaced, never grown.
    for (const [rows, cols, longest, K] of [
      [200, 50, 10, 1],
      [400, 3_000, 40, 3],
      [300, 9_000, 200, 4],
      [100, 20_000, 3_000, 8],
    ] as const) {
      const X = randomMatrix(rng, rows, cols, longest);
      const src = Float64Array.from({ length: cols * K }, () => rng.nextFloat());
      const expected = new Float64Array(rows * K);
      spmmScalar(X, src, K, expected);
      const dst = new Float64Array(rows * K);
      streamedSpmm(X, src, K, dst);
      sameBits(dst, expected, `${rows} × ${cols}, K = ${K}`);
      const unpin = pinRows(X, K);
      spmm(X, src, K, dst);
      unpin();
      sameBits(dst, expected, `${rows} × ${cols}, K = ${K}, pinned`);
    }
    assert.equal(grown, 0, 'WebAssembly.Memory.prototype.grow calls');
  });
});
