import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { openAtomicWriter, runDir, writeJsonAtomic } from '../../shared/core/storage';
import { tempDir } from '../helpers/env';

describe('storage', () => {
  it('writes under a temporary name and renames, leaving nothing half-written', async () => {
    const dir = tempDir('atomic');
    const file = path.join(dir, 'a', 'out.csv');
    const w = await openAtomicWriter(file);
    await w.write('x'.repeat(100_000));
    assert.ok(!fs.existsSync(file), 'nothing at the final name before commit');
    await w.commit();
    assert.equal(fs.readFileSync(file, 'utf8').length, 100_000);
    const aborted = await openAtomicWriter(path.join(dir, 'a', 'gone.csv'));
    await aborted.write('partial');
    await aborted.abort();
    assert.deepEqual(fs.readdirSync(path.join(dir, 'a')), ['out.csv'], 'abort removes the temporary file');
    await writeJsonAtomic(path.join(dir, 'b.json'), { a: 1 });
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'b.json'), 'utf8')), { a: 1 });
    fs.rmSync(dir, { recursive: true });
  });

  it('refuses run ids that could escape the storage folder', () => {
    assert.throws(() => runDir('/s', '../x'), RangeError);
    assert.equal(runDir('/s', 'abc-1'), path.join('/s', 'runs', 'abc-1'));
  });
});
