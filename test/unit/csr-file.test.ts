import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { MAX_NNZ, csrLayout, readCsrFile, writeCsrFile } from '../../shared/core/io/csr-file';
import { readCsrLabels, readCsrLayout } from '../../shared/core/io/csr-rows';
import { csrFromDense } from '../../shared/core/numeric/csr';
import { FileStore } from '../../shared/core/store/file-store';
import { tempDir } from '../helpers/env';

describe('features.bin', () => {
  it('round-trips a CSR matrix and its labels exactly', async () => {
    const dir = tempDir('csr');
    const m = csrFromDense([
      [0, 1.5, 0],
      [0, 0, 0],
      [2 ** -40, 0, -3.25],
      [1 / 3, 0, 0],
    ]);
    const labels = Int32Array.from([2, 0, 1, 2]);
    const store = new FileStore(dir);
    const file = path.join(dir, 'features.bin');
    await writeCsrFile(store, 'features.bin', m, labels);
    const back = await readCsrFile(store, 'features.bin');
    assert.deepEqual(back.labels, labels);
    assert.equal(back.matrix.rows, 4);
    assert.equal(back.matrix.cols, 3);
    assert.deepEqual(back.matrix.indptr, m.indptr);
    assert.deepEqual(back.matrix.indices, m.indices.subarray(0, m.indptr[4]));
    assert.deepEqual(back.matrix.data, m.data.subarray(0, m.indptr[4]));
    fs.truncateSync(file, fs.statSync(file).size - 16);
    await assert.rejects(readCsrFile(store, 'features.bin'), /truncated/);
    fs.writeFileSync(file, 'not a matrix\n');
    await assert.rejects(readCsrFile(store, 'features.bin'), /not a features matrix/);
    await assert.rejects(writeCsrFile(store, 'features.bin', m, Int32Array.from([1])), /1 labels for 4 rows/);
    fs.rmSync(dir, { recursive: true });
  });
});

describe('features.bin past 2 GiB', () => {
  // The 100× category run's matrix: 352,355,300 non-zeros put its data and labels sections past 2^31 bytes.
  const rows = 1_593_000;
  const nnz = 352_355_300;

  it('lays out sections that start where the previous ends, past 2^31 bytes', () => {
    const l = csrLayout(rows, 458_104, nnz);
    // Each section starts at the first multiple of 8 at or after the previous section's end.
    assert.equal(l.indices, l.indptr + 4 * (rows + 1) + 4);
    assert.equal(l.data, l.indices + 4 * nnz);
    assert.equal(l.labels, l.data + 8 * nnz);
    assert.ok(l.labels > 2 ** 31, `labels at ${l.labels}`);
    assert.equal(l.size, l.labels + 4 * rows);
  });

  it('reads the labels of a file whose labels start past 4 GB (a sparse file)', async () => {
    const dir = tempDir('csr-big');
    const store = new FileStore(dir);
    const few = 3;
    const l = csrLayout(few, 7, nnz);
    const file = path.join(dir, 'features.bin');
    const fd = fs.openSync(file, 'w');
    try {
      fs.writeSync(fd, Buffer.from(l.head, 'latin1'), 0, l.head.length, 0);
      fs.writeSync(fd, Buffer.from(Int32Array.from([0, 1, 2, nnz]).buffer), 0, 16, l.indptr);
      fs.writeSync(fd, Buffer.from(Int32Array.from([2, 0, 1]).buffer), 0, 12, l.labels);
      fs.ftruncateSync(fd, l.size);
    } finally {
      fs.closeSync(fd);
    }
    const layout = await readCsrLayout(store, 'features.bin');
    assert.equal(layout.offsets.labels, l.labels);
    assert.deepEqual(await readCsrLabels(store, layout), Int32Array.from([2, 0, 1]));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a matrix its int32 row pointers cannot address, naming what to change', () => {
    assert.throws(() => csrLayout(10, 10, MAX_NNZ + 1), /int32 row pointers.*minDf/);
  });
});
