import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { readCsrFile, writeCsrFile } from '../../shared/core/io/csr-file';
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
