import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { hashFile } from '../../shared/core/dataset/hash-file';
import { openDataset } from '../../shared/core/dataset/open-dataset';
import {
  checkChunkDataset,
  checkUnchanged,
  DatasetChangedError,
  planVerified,
} from '../../shared/core/dataset/verify-dataset';
import { SAMPLE_DATASET, tempDir } from '../helpers/env';
import { withOneLetterChanged } from '../helpers/one-letter';

const records = JSON.parse(fs.readFileSync(SAMPLE_DATASET, 'utf8')) as unknown[];

describe('verifying a dataset against its run record', () => {
  const dir = tempDir('verify');
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, recs: unknown[]) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, JSON.stringify(recs));
    return file;
  };
  const changed = (file: string) => (err: unknown) =>
    err instanceof DatasetChangedError &&
    err.message.startsWith(`${file}: the dataset changed since the run was submitted`);

  it('plans and hashes in one pass; another file, or a bad one, is refused as changed', async () => {
    const file = write('a.json', records.slice(0, 300));
    const expected = await hashFile(file);
    const ds = await openDataset(file);
    try {
      const { plan, check } = await planVerified(ds, expected, 100);
      assert.equal(plan.chunks.length, 3);
      assert.deepEqual({ sha256: check.sha256, bytes: check.bytes }, expected);
      assert.equal(check.identity.size, expected.bytes);
    } finally {
      await ds.close();
    }
    // same size, other bytes
    const other = { sha256: 'f'.repeat(64), bytes: expected.bytes };
    await assert.rejects(
      openDataset(file).then((d) => planVerified(d, other, 100).finally(() => d.close())),
      changed(file),
    );
    // another size: refused before hashing
    await assert.rejects(
      openDataset(file).then((d) =>
        planVerified(d, { ...expected, bytes: expected.bytes + 1 }, 100).finally(() => d.close()),
      ),
      changed(file),
    );
    // a file that no longer parses reports the change, not the parse error
    fs.writeFileSync(file, '[{"_source": ');
    await assert.rejects(
      openDataset(file).then((d) =>
        planVerified(d, { sha256: expected.sha256 }, 100).finally(() => d.close()),
      ),
      changed(file),
    );
  });

  it('a chunk accepts the verified file, a touched or copied one with the same bytes; refuses a rewrite', async () => {
    const file = write('b.json', records.slice(0, 200));
    const expected = await hashFile(file);
    const ds = await openDataset(file);
    const { check } = await planVerified(ds, expected, 100).finally(() => ds.close());
    const chunkCheck = async (f: string) => {
      const d = await openDataset(f);
      try {
        const before = await checkChunkDataset(d, check);
        await checkUnchanged(d, check, before);
      } finally {
        await d.close();
      }
    };
    await chunkCheck(file);
    // only the times move: hashed again, same bytes
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(file, later, later);
    await chunkCheck(file);
    // a copy (another inode, as on another machine's disk)
    const copy = path.join(dir, 'b-copy.json');
    fs.copyFileSync(file, copy);
    await chunkCheck(copy);
    // the same size, other bytes
    const text = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, withOneLetterChanged(text));
    await assert.rejects(chunkCheck(file), changed(file));
  });

  it('a write while a chunk reads is caught after the read', async () => {
    const file = write('c.json', records.slice(0, 100));
    const expected = await hashFile(file);
    const ds = await openDataset(file);
    try {
      const { check } = await planVerified(ds, expected, 100);
      const before = await checkChunkDataset(ds, check);
      fs.appendFileSync(file, ' ');
      await assert.rejects(checkUnchanged(ds, check, before), changed(file));
    } finally {
      await ds.close();
    }
  });
});
