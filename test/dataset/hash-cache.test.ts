import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { BadInputError } from '../../shared/core/errors';
import { HashCache } from '../../shared/core/dataset/hash-cache';
import { hashFile } from '../../shared/core/dataset/hash-file';
import { SAMPLE_DATASET, tempDir } from '../helpers/env';

describe('the API hash cache', () => {
  const dir = tempDir('hash-cache');
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('hashes an unchanged file once, however many ask at once or later', async () => {
    const file = path.join(dir, 'same.json');
    fs.copyFileSync(SAMPLE_DATASET, file);
    const cache = new HashCache();
    const expected = await hashFile(file);
    const digests = await Promise.all(Array.from({ length: 20 }, () => cache.digest(file)));
    for (const d of digests) assert.deepEqual(d, expected);
    assert.deepEqual(await cache.digest(file), expected);
    // another path to the same file is the same file
    assert.deepEqual(await cache.digest(path.join(dir, '.', 'same.json')), expected);
    assert.equal(cache.hashed, 1);
  });

  it('hashes again after a rewrite (new size or times), and after a touch', async () => {
    const file = path.join(dir, 'changing.json');
    fs.writeFileSync(file, '[]');
    const cache = new HashCache();
    assert.deepEqual(await cache.digest(file), await hashFile(file));
    fs.writeFileSync(file, '[ ]');
    assert.deepEqual(await cache.digest(file), await hashFile(file));
    assert.equal(cache.hashed, 2);
    // same size and bytes, new mtime: hashed again (only the identity is known without reading)
    const later = new Date(Date.now() + 10_000);
    fs.utimesSync(file, later, later);
    assert.deepEqual(await cache.digest(file), await hashFile(file));
    assert.equal(cache.hashed, 3);
    // same size, other bytes, mtime set back: ctime still moves
    const st = fs.statSync(file);
    fs.writeFileSync(file, '[\n]');
    fs.utimesSync(file, st.atime, st.mtime);
    assert.deepEqual(await cache.digest(file), await hashFile(file));
    assert.equal(cache.hashed, 4);
  });

  it('hashes at most maxConcurrent files at once', async () => {
    const files = Array.from({ length: 6 }, (_, i) => {
      const f = path.join(dir, `many-${i}.json`);
      fs.writeFileSync(f, Buffer.alloc((2 << 20) + i, 0x20));
      return f;
    });
    const cache = new HashCache({ maxConcurrent: 2 });
    const digests = await Promise.all(files.map((f) => cache.digest(f)));
    assert.equal(cache.hashed, 6);
    assert.equal(cache.peakConcurrency, 2);
    for (const [i, f] of files.entries()) assert.deepEqual(digests[i], await hashFile(f));
  });

  it('names a file it cannot read as a dataset', async () => {
    const cache = new HashCache();
    const missing = path.join(dir, 'missing.json');
    await assert.rejects(
      cache.digest(missing),
      (err) => err instanceof BadInputError && err.message.includes(missing),
    );
    await assert.rejects(
      cache.digest(dir),
      (err) => err instanceof BadInputError && /directory/.test(err.message),
    );
  });
});
