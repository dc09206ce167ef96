import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { decodeCsr, encodeCsr } from '../../shared/core/io/csr-file';
import { readCsrLabels, readCsrLayout, readCsrRows } from '../../shared/core/io/csr-rows';
import { CsrMatrix, selectRows } from '../../shared/core/numeric/csr';
import { FileStore } from '../../shared/core/store/file-store';
import { tempDir } from '../helpers/env';

/** A seeded generator in [0, 1), so a failure repeats. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Rows of 0 to 40 entries (some empty, some longer than a small piece), sorted columns, odd values. */
function randomMatrix(rows: number, cols: number, rnd: () => number): CsrMatrix {
  const indptr = new Int32Array(rows + 1);
  const indices: number[] = [];
  const data: number[] = [];
  for (let i = 0; i < rows; i++) {
    const len = rnd() < 0.1 ? 0 : Math.floor(rnd() * 40);
    const row = new Set<number>();
    while (row.size < Math.min(len, cols)) row.add(Math.floor(rnd() * cols));
    for (const j of [...row].sort((a, b) => a - b)) {
      indices.push(j);
      data.push(rnd() < 0.5 ? Math.floor(rnd() * 5) + 1 : rnd() / 3);
    }
    indptr[i + 1] = indices.length;
  }
  return { rows, cols, indptr, indices: Int32Array.from(indices), data: Float64Array.from(data) };
}

/** The columns `map` keeps (map[j] ≥ 0), renumbered, of a decoded matrix: what the reader must match. */
function selectColumns(m: CsrMatrix, map: Int32Array, cols: number): CsrMatrix {
  const indptr = new Int32Array(m.rows + 1);
  const indices: number[] = [];
  const data: number[] = [];
  for (let i = 0; i < m.rows; i++) {
    for (let p = m.indptr[i]!; p < m.indptr[i + 1]!; p++) {
      if (map[m.indices[p]!]! < 0) continue;
      indices.push(map[m.indices[p]!]!);
      data.push(m.data[p]!);
    }
    indptr[i + 1] = indices.length;
  }
  return { rows: m.rows, cols, indptr, indices: Int32Array.from(indices), data: Float64Array.from(data) };
}

function assertSameCsr(got: CsrMatrix, want: CsrMatrix, what: string): void {
  assert.equal(got.rows, want.rows, `${what}: rows`);
  assert.equal(got.cols, want.cols, `${what}: cols`);
  assert.deepEqual(got.indptr, want.indptr, `${what}: indptr`);
  const nnz = want.indptr[want.rows]!;
  assert.deepEqual(got.indices.subarray(0, nnz), want.indices.subarray(0, nnz), `${what}: indices`);
  // Bit for bit: the reader copies values and must not round them.
  assert.deepEqual(
    new Uint8Array(got.data.buffer, got.data.byteOffset, 8 * nnz),
    new Uint8Array(want.data.buffer, want.data.byteOffset, 8 * nnz),
    `${what}: data`,
  );
}

describe('reading rows of features.bin by streaming (csr-rows)', () => {
  const rnd = random(18);
  const dir = tempDir('csr-rows');
  const store = new FileStore(dir);
  const m = randomMatrix(400, 60, rnd);
  const labels = Int32Array.from({ length: m.rows }, () => Math.floor(rnd() * 3));
  const whole = decodeCsr(encodeCsr(m, labels), 'features.bin');
  const ready = store.put('features.bin', encodeCsr(m, labels));

  it('reads the header, row pointers and labels as the whole file decodes them', async () => {
    await ready;
    const layout = await readCsrLayout(store, 'features.bin');
    assert.deepEqual([layout.rows, layout.cols, layout.nnz], [400, 60, m.indptr[400]]);
    assert.deepEqual(layout.indptr, whole.matrix.indptr);
    assert.deepEqual(await readCsrLabels(store, layout), whole.labels);
  });

  it('equals selectRows of the decoded matrix for random subsets, any piece size, rows in any order', async () => {
    await ready;
    const layout = await readCsrLayout(store, 'features.bin');
    // 8 and 24 bytes are smaller than most rows (a row spans many pieces); 1 MB holds the whole file.
    for (const pieceBytes of [8, 24, 200, 4096, 1 << 20]) {
      for (let trial = 0; trial < 6; trial++) {
        const count = Math.floor(rnd() * 300);
        // With repeats and unsorted, as the CV folds' positions map into the split's shuffled rows.
        const rows = Int32Array.from({ length: count }, () => Math.floor(rnd() * m.rows));
        const got = await readCsrRows(store, layout, rows, { pieceBytes });
        assertSameCsr(got, selectRows(whole.matrix, rows), `${count} rows, ${pieceBytes}-byte pieces`);
      }
    }
  });

  it('selects and renumbers columns as it reads', async () => {
    await ready;
    const layout = await readCsrLayout(store, 'features.bin');
    const map = new Int32Array(m.cols).fill(-1);
    let cols = 0;
    for (let j = 0; j < m.cols; j++) if (rnd() < 0.6) map[j] = cols++;
    for (const pieceBytes of [8, 40, 1 << 20]) {
      const rows = Int32Array.from({ length: 250 }, () => Math.floor(rnd() * m.rows));
      const got = await readCsrRows(store, layout, rows, { pieceBytes, select: { map, columns: cols } });
      const want = selectColumns(selectRows(whole.matrix, rows), map, cols);
      assertSameCsr(got, want, `column selection, ${pieceBytes}-byte pieces`);
    }
  });

  it('reads values in single precision when asked: each value rounded once, with or without a selection', async () => {
    await ready;
    const layout = await readCsrLayout(store, 'features.bin');
    const map = new Int32Array(m.cols).fill(-1);
    let cols = 0;
    for (let j = 0; j < m.cols; j++) if (rnd() < 0.5) map[j] = cols++;
    for (const select of [undefined, { map, columns: cols }]) {
      const rows = Int32Array.from({ length: 200 }, () => Math.floor(rnd() * m.rows));
      const got = await readCsrRows(store, layout, rows, {
        pieceBytes: 24,
        values: 'float32',
        ...(select ? { select } : {}),
      });
      const want = await readCsrRows(store, layout, rows, { pieceBytes: 24, ...(select ? { select } : {}) });
      assert.ok(got.data instanceof Float32Array, 'single-precision values');
      assert.deepEqual(
        [got.rows, got.cols, got.indptr, got.indices],
        [want.rows, want.cols, want.indptr, want.indices],
      );
      assert.deepEqual(got.data, Float32Array.from(want.data), select ? 'selected columns' : 'every column');
    }
  });

  it('reads counts in one byte each when asked, and gives up (null) on a value that is not a count of a byte', async () => {
    await ready;
    const counts = { ...m, data: Float64Array.from(m.data, (_, p) => 1 + (p % 255)) };
    const file = 'counts.bin';
    await store.put(file, encodeCsr(counts, labels));
    const layout = await readCsrLayout(store, file);
    const map = new Int32Array(m.cols).fill(-1);
    let cols = 0;
    for (let j = 0; j < m.cols; j++) if (rnd() < 0.5) map[j] = cols++;
    for (const select of [undefined, { map, columns: cols }]) {
      const rows = Int32Array.from({ length: 200 }, () => Math.floor(rnd() * m.rows));
      const sel = select ? { select } : {};
      const got = await readCsrRows(store, layout, rows, { pieceBytes: 24, values: 'count8', ...sel });
      const want = await readCsrRows(store, layout, rows, { pieceBytes: 24, ...sel });
      assert.ok(got !== null && got.data instanceof Uint8Array);
      assert.deepEqual([got.indptr, got.indices], [want.indptr, want.indices]);
      assert.deepEqual(got.data, Uint8Array.from(want.data), select ? 'selected columns' : 'every column');
    }
    const all = Int32Array.from({ length: m.rows }, (_, i) => i);
    // The random matrix holds fractions; a count of 256 does not fit a byte either.
    assert.equal(
      await readCsrRows(store, await readCsrLayout(store, 'features.bin'), all, { values: 'count8' }),
      null,
    );
    const big = { ...counts, data: Float64Array.from(counts.data, (v, p) => (p === 7 ? 256 : v)) };
    await store.put(file, encodeCsr(big, labels));
    assert.equal(await readCsrRows(store, await readCsrLayout(store, file), all, { values: 'count8' }), null);
  });

  it('reads the first and last rows, the whole file in order, and an empty selection', async () => {
    await ready;
    const layout = await readCsrLayout(store, 'features.bin');
    for (const rows of [[0], [m.rows - 1], [m.rows - 1, 0], [0, m.rows - 1, 0], []]) {
      const idx = Int32Array.from(rows);
      const got = await readCsrRows(store, layout, idx, { pieceBytes: 16 });
      assertSameCsr(got, selectRows(whole.matrix, idx), `rows ${JSON.stringify(rows)}`);
    }
    const all = Int32Array.from({ length: m.rows }, (_, i) => i);
    assertSameCsr(await readCsrRows(store, layout, all, { pieceBytes: 64 }), whole.matrix, 'every row');
    await assert.rejects(readCsrRows(store, layout, Int32Array.from([m.rows])), /row 400 at position 0/);
  });

  it('names a truncated or foreign file', async () => {
    await ready;
    const file = path.join(dir, 'cut.bin');
    fs.writeFileSync(file, encodeCsr(m, labels).subarray(0, 300));
    await assert.rejects(readCsrLayout(store, 'cut.bin'), /cut\.bin is truncated/);
    fs.writeFileSync(file, 'not a matrix\n');
    await assert.rejects(readCsrLayout(store, 'cut.bin'), /cut\.bin is not a features matrix/);
    fs.rmSync(dir, { recursive: true });
  });
});
