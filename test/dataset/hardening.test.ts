/**
 * Dataset hardening, unit by unit: opening (regular files only, never blocking; inside a data root by the
 * real path of the opened descriptor), budgets (record, chunk, planning time), UTF-8 and JSON errors
 * without quoting the input, and storage writers on a full or read-only file system (a tmpfs mounted for
 * the test when this process may mount; skipped otherwise).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BadInputError, StorageError } from '../../shared/core/errors';
import { hashFile } from '../../shared/core/dataset/hash-file';
import { describeJsonError, locateJsonError } from '../../shared/core/dataset/json-error';
import { MAX_CHUNK_BYTES } from '../../shared/core/dataset/limits';
import { openDataset, openDatasetInRoot } from '../../shared/core/dataset/open-dataset';
import { planChunks } from '../../shared/core/dataset/plan-chunks';
import { readTickets, TicketRecord } from '../../shared/core/dataset/read-tickets';
import { firstInvalidUtf8, isUtf8, Utf8Checker } from '../../shared/core/dataset/utf8';
import { runTextProcessing } from '../../shared/pipeline/stages/text-processing';
import { openAtomicWriter, writeFileAtomic } from '../../shared/core/storage';
import { SAMPLE_DATASET, stageContext, tempDir, testConfig } from '../helpers/env';

const dir = tempDir('hardening');
const root = path.join(dir, 'root');
fs.mkdirSync(root);
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const hit = (i: number, narrative: string) => ({
  _id: `h${i}`,
  _source: { complaint_what_happened: narrative, product: 'Credit card', sub_product: null },
});
const write = (name: string, content: string | Buffer) => {
  const file = path.join(root, name);
  fs.writeFileSync(file, content);
  return file;
};

async function badInput(p: Promise<unknown>, ...patterns: RegExp[]): Promise<BadInputError> {
  let caught: unknown;
  await p.then(
    () => assert.fail('expected a BadInputError'),
    (err: unknown) => (caught = err),
  );
  assert.ok(caught instanceof BadInputError, `not a BadInputError: ${String(caught)}`);
  for (const re of patterns) assert.match(caught.message, re);
  return caught;
}

async function readAll(source: Parameters<typeof readTickets>[0], opts?: Parameters<typeof readTickets>[2]) {
  const recs: TicketRecord[] = [];
  const stats = await readTickets(source, (r) => void recs.push(r), opts);
  return { recs, stats };
}

describe('opening a dataset', () => {
  it('refuses what is not a regular file, without blocking on a FIFO', async () => {
    const fifo = path.join(dir, 'pipe.json');
    execFileSync('mkfifo', [fifo]);
    const t0 = performance.now();
    await badInput(openDataset(fifo), /pipe\.json: is a FIFO \(named pipe\), not a regular file/);
    await badInput(hashFile(fifo), /is a FIFO/);
    await badInput(planChunks(fifo, 10), /is a FIFO/);
    await badInput(readAll(fifo), /is a FIFO/);
    assert.ok(performance.now() - t0 < 1000, 'nothing waited for a writer');
    await badInput(openDataset('/dev/zero'), /\/dev\/zero: is a character device, not a regular file/);
    await badInput(hashFile('/dev/zero'), /character device/);
    await badInput(planChunks('/dev/zero', 10), /character device/);
    await badInput(openDataset(dir), /is a directory/);
    await badInput(openDataset(path.join(dir, 'nope.json')), /nope\.json: no such file/);
    fs.symlinkSync(path.join(dir, 'gone.json'), path.join(dir, 'dangling.json'));
    await badInput(
      openDataset(path.join(dir, 'dangling.json')),
      /a symbolic link to a file that does not exist/,
    );
  });

  it('inside a data root: relative names, absolute paths inside it; nothing outside, by link or ..', async () => {
    const file = write('ok.json', JSON.stringify([hit(0, 'The bank charged a fee.')]));
    for (const name of ['ok.json', file, './sub/../ok.json']) {
      const ds = await openDatasetInRoot(root, name);
      assert.equal(ds.size, fs.statSync(file).size);
      await ds.close();
    }
    fs.writeFileSync(path.join(dir, 'outside.json'), '[]');
    fs.symlinkSync(path.join(dir, 'outside.json'), path.join(root, 'link-out.json'));
    fs.symlinkSync('ok.json', path.join(root, 'link-in.json'));
    await (await openDatasetInRoot(root, 'link-in.json')).close();
    for (const name of ['/etc/passwd', path.join(dir, 'outside.json'), '../outside.json', 'link-out.json'])
      await badInput(openDatasetInRoot(root, name), /outside the data root/);
    await badInput(openDatasetInRoot(root, ''), /names no dataset/);
    await assert.rejects(
      openDatasetInRoot(path.join(dir, 'no-root'), 'ok.json'),
      /data root .* does not exist/,
    );
  });

  it('reads what it opened: a file swapped for a symlink after opening changes nothing', async () => {
    const narrative = 'The lender lost my payment twice.';
    const file = write('swap.json', JSON.stringify([hit(0, narrative)]));
    const ds = await openDatasetInRoot(root, 'swap.json');
    try {
      fs.rmSync(file);
      fs.symlinkSync('/etc/passwd', file);
      const plan = await planChunks(ds, 10);
      const { recs } = await readAll(ds, { format: plan.format, range: plan.chunks[0]! });
      assert.deepEqual(
        recs.map((r) => r.narrative),
        [narrative],
      );
    } finally {
      await ds.close();
    }
    await badInput(openDatasetInRoot(root, 'swap.json'), /outside the data root/);
  });
});

describe('budgets', () => {
  const hits = Array.from({ length: 12 }, (_, i) => hit(i, `Complaint number ${i} about a fee. `.repeat(20)));
  const file = write('budget.json', JSON.stringify(hits));

  it('a record over the record budget, in every format, names record and byte offset', async () => {
    await badInput(
      planChunks(file, 5, { maxRecordBytes: 300 }),
      /budget\.json, record 0: the record starting at byte 1 is larger than the 300 bytes a record may take/,
    );
    const lines = write('budget.jsonl', hits.map((h) => JSON.stringify(h)).join('\n'));
    await badInput(
      planChunks(lines, 5, { maxRecordBytes: 300, highWaterMark: 64 }),
      /record 0: the record starting at byte 0 is longer than the 300 bytes/,
    );
    const csv = write(
      'budget.csv',
      'Product,Sub-product,Consumer complaint narrative\nP,,short\nP,,"' + 'x'.repeat(400) + '"\n',
    );
    await badInput(
      planChunks(csv, 5, { maxRecordBytes: 300, highWaterMark: 64 }),
      /record 1: the record starting at byte 58 is longer than the 300 bytes .*an opening quote at byte 61 is never closed/,
    );
  });

  it('a chunk holds at most chunkSize records and the chunk byte budget', async () => {
    const size = fs.statSync(file).size;
    const byRecords = await planChunks(file, 5);
    assert.equal(byRecords.chunks.length, 3);
    const byBytes = await planChunks(file, 5, { maxChunkBytes: 2000 });
    assert.ok(byBytes.chunks.length > 3, `${byBytes.chunks.length} chunks`);
    for (const c of byBytes.chunks) assert.ok(c.end - c.start <= 2000, `${c.end - c.start} bytes`);
    // the same records, in order, whatever the cut
    const read = async (plan: typeof byBytes) => {
      const out: number[] = [];
      for (const range of plan.chunks) out.push(...(await readAll(file, { range })).recs.map((r) => r.index));
      return out;
    };
    assert.deepEqual(await read(byBytes), await read(byRecords));
    // A large file's chunks grow past chunkSize records, each to at least 1/maxChunks of its bytes
    // (MAX_CHUNKS by default: ~0.05 % of this file, so chunkSize decides above).
    const fewer = await planChunks(file, 1, { maxChunks: 2 });
    assert.equal(fewer.chunks.length, 2, `${fewer.chunks.length} chunks`);
    assert.ok(fewer.chunks[0]!.end - fewer.chunks[0]!.start >= size / 2, 'the first holds half the bytes');
    assert.deepEqual(await read(fewer), await read(byRecords));
    assert.equal((await planChunks(file, 1, { maxChunks: 1 })).chunks.length, 1);
    await assert.rejects(
      planChunks(file, 1, { maxChunks: 0 }),
      /maxChunks must be a whole number ≥ 1, got 0/,
    );
    // a range from job data beyond the budgets or the file is refused before reading
    await badInput(
      readAll(file, { format: 'json', range: { start: 1, end: 1 + MAX_CHUNK_BYTES + 1, firstRecord: 0 } }),
      /record 0: the chunk from byte 1 to \d+ is larger than the 64 MiB a chunk may read \(MAX_CHUNK_BYTES\)/,
    );
    await badInput(
      readAll(file, { format: 'json', range: { start: 1, end: size + 10, firstRecord: 0 } }),
      /past the end of the file/,
    );
    await badInput(
      readAll(file, { format: 'json', range: { start: 5, end: 2, firstRecord: 0 } }),
      /no valid byte range/,
    );
    await badInput(
      readAll(file, { format: 'csv', range: { start: 1, end: 10, firstRecord: 0, headerEnd: 1e12 } }),
      /no valid byte range/,
    );
  });

  it('planning stops at its time limit', async () => {
    await badInput(
      planChunks(file, 5, { timeLimitMs: -1 }),
      /planning chunks stopped after -0\.001 s \(PLAN_TIME_LIMIT_MS\) at byte 0 of \d+/,
    );
  });
});

describe('UTF-8', () => {
  it('firstInvalidUtf8 agrees with isUtf8 on random and tricky bytes', () => {
    const tricky = [
      [0xc0, 0x80],
      [0xe0, 0x80, 0x80],
      [0xed, 0xa0, 0x80],
      [0xf4, 0x90, 0x80, 0x80],
      [0xf8],
      [0xe2, 0x82],
      [0xe2, 0x82, 0xac],
      [0xf0, 0x9f, 0x98, 0x80],
    ].map((b) => Buffer.from(b));
    let x = 12345;
    const random = Array.from({ length: 2000 }, () => {
      const b = Buffer.alloc(1 + (x % 9));
      for (let i = 0; i < b.length; i++) {
        x = (x * 1103515245 + 12345) >>> 0;
        b[i] = x % 3 === 0 ? 0x61 : 0x80 + ((x >>> 8) % 0x78);
      }
      return b;
    });
    for (const b of [...tricky, ...random])
      assert.equal(firstInvalidUtf8(b) < 0, isUtf8(b), b.toString('hex'));
  });

  it('a character cut by a piece boundary is whole; a bad byte has its file offset', () => {
    const text = Buffer.from('aé€😀b');
    for (let size = 1; size <= 4; size++) {
      const u = new Utf8Checker();
      const out: Buffer[] = [];
      for (let i = 0; i < text.length; i += size) {
        const r = u.push(text.subarray(i, i + size), i);
        assert.equal(r.invalidAt, -1);
        out.push(r.bytes);
      }
      assert.equal(u.end(text.length), -1);
      assert.equal(Buffer.concat(out).toString(), 'aé€😀b');
    }
    const bad = Buffer.concat([Buffer.from('abc€'), Buffer.from([0xff]), Buffer.from('z')]);
    const u = new Utf8Checker();
    const found = [0, 2, 4, 6].map((i) => u.push(bad.subarray(i, i + 2), i).invalidAt).filter((v) => v >= 0);
    assert.equal(found[0], 6);
    assert.equal(new Utf8Checker().end(3), -1);
    const cut = new Utf8Checker();
    cut.push(Buffer.from([0x61, 0xe2, 0x82]), 0);
    assert.equal(cut.end(3), 1, 'a character cut by the end of the file');
  });

  it('readers and planner name the record and byte offset of invalid UTF-8, for any piece size', async () => {
    const ok = JSON.stringify(hit(0, 'Fine — café.'));
    const badHit = Buffer.concat([
      Buffer.from('{"_source": {"complaint_what_happened": "caf'),
      Buffer.from([0xe9]),
      Buffer.from('", "product": "P"}}'),
    ]);
    const arr = Buffer.concat([Buffer.from(`[${ok},\n`), badHit, Buffer.from(']')]);
    const lines = Buffer.concat([Buffer.from(`${ok}\n\n`), badHit, Buffer.from('\n')]);
    const csvHead = 'Product,Sub-product,Consumer complaint narrative\n';
    const csv = Buffer.concat([
      Buffer.from(`${csvHead}P,,fine\nP,,caf`),
      Buffer.from([0xe9]),
      Buffer.from('\n'),
    ]);
    const cases: [string, Buffer, RegExp][] = [
      ['utf8.json', arr, new RegExp(`record 1: not valid UTF-8 at byte ${arr.indexOf(0xe9)}`)],
      ['utf8.jsonl', lines, new RegExp(`record 2: not valid UTF-8 at byte ${lines.indexOf(0xe9)}`)],
      ['utf8.csv', csv, new RegExp(`record 1: not valid UTF-8 at byte ${csv.indexOf(0xe9)}`)],
    ];
    for (const [name, bytes, re] of cases) {
      const file = write(name, bytes);
      for (const highWaterMark of [1, 3, 7, 1 << 20]) {
        await badInput(planChunks(file, 10, { highWaterMark }), re);
        await badInput(readAll(file, { highWaterMark }), re);
      }
    }
    // a chunk job reading only its range finds it too
    const file = path.join(root, 'utf8.json');
    const range = { start: arr.indexOf('{"_source": {"complaint_what_happened": "caf'), end: arr.length - 1 };
    await badInput(
      readAll(file, { format: 'json', range: { ...range, firstRecord: 1 } }),
      new RegExp(`record 1: not valid UTF-8 at byte ${arr.indexOf(0xe9)}`),
    );
  });

  it('a byte order mark is fine, UTF-16 is named as such', async () => {
    const bom = write(
      'bom.jsonl',
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(hit(0, 'x')))]),
    );
    assert.equal((await readAll(bom)).stats.kept, 1);
    assert.equal((await planChunks(bom, 10)).records, 1);
    const utf16 = write(
      'utf16.csv',
      Buffer.from('\ufeffProduct,Sub-product,Consumer complaint narrative\n', 'utf16le'),
    );
    await badInput(planChunks(utf16, 10), /utf16\.csv: is UTF-16/);
    await badInput(readAll(utf16), /is UTF-16/);
  });
});

describe('JSON errors never quote the input', () => {
  const SECRET = 'hunter2-secret';
  const bad = [
    `{"a": ${SECRET}}`,
    `{"${SECRET}" 1}`,
    `[1, 2, ${SECRET}]`,
    `{"a": "${SECRET}`,
    `{"a": "\\q${SECRET}"}`,
    `{"a": 1} ${SECRET}`,
    `{${SECRET}: 1}`,
    `{"a": -${SECRET}}`,
    `{"a": tru${SECRET}}`,
    `{"a": "\u0001${SECRET}"}`,
    `[${'['.repeat(100000)}${SECRET}`,
  ];
  it('says what and where, by byte offset', () => {
    for (const text of bad) {
      let err: unknown;
      try {
        JSON.parse(text);
      } catch (e) {
        err = e;
      }
      const { reason, byte } = describeJsonError(err, text);
      assert.ok(!reason.includes(SECRET) && !reason.includes('hunter'), reason);
      assert.ok(byte >= 0 && byte <= Buffer.byteLength(text), `${byte}`);
      const v8 = / at position (\d+)/.exec((err as Error).message);
      if (v8) assert.equal(byte, Buffer.byteLength(text.slice(0, Number(v8[1]))), text.slice(0, 40));
    }
    for (const good of ['{}', '[]', '"x"', '1.5e3', '{"a": [1, {"b": null}], "c": "\\u00e9"}', ' true '])
      assert.equal(locateJsonError(good), -1, good);
    assert.equal(locateJsonError('{"a": tru}'), 6);
    assert.equal(locateJsonError('[1, 2,]'), 6);
  });

  it('reading a file of such records gives messages without the secret', async () => {
    for (const [i, text] of bad.entries()) {
      const file = write(`secret-${i}.jsonl`, `${JSON.stringify(hit(0, 'fine'))}\n${text}\n`);
      const err = await badInput(
        readAll(file),
        /record 1: not JSON at byte \d+ \(the record starts at byte \d+\)/,
      );
      assert.ok(!err.message.includes(SECRET), err.message);
    }
  });
});

describe('storage on a full or read-only file system', () => {
  const mnt = path.join(dir, 'mnt');
  let mounted = false;
  let cannot = '';
  before(() => {
    fs.mkdirSync(mnt);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt], { stdio: 'pipe' });
      mounted = true;
    } catch (err) {
      cannot = `cannot mount a tmpfs here (${(err as Error).message.split('\n')[0]})`;
    }
  });
  after(() => {
    if (mounted) execFileSync('umount', [mnt]);
  });

  it('ENOSPC: StorageError naming the path and the cause, temporary file removed', async (t) => {
    if (!mounted) return t.skip(cannot);
    const big = 'x'.repeat(200_000);
    const target = path.join(mnt, 'out', 'big.txt');
    const err = await badInput(
      writeFileAtomic(target, big),
      /cannot write .*big\.txt: no space left on device \(ENOSPC\)/,
    );
    assert.ok(err instanceof StorageError && err.code === 'ENOSPC');
    // The write created `out/`: a refused write leaves neither its temporary file nor that folder.
    assert.equal(fs.existsSync(path.dirname(target)), false, 'no temporary file or created folder left');
    const w = await openAtomicWriter(path.join(mnt, 'out', 'stream.csv'));
    await badInput(
      (async () => {
        for (let i = 0; i < 20; i++) await w.write(big);
        await w.commit();
      })(),
      /stream\.csv: no space left on device \(ENOSPC\)/,
    );
    assert.deepEqual(fs.readdirSync(path.join(mnt, 'out')), [], 'no temporary file left');
    // a whole text-processing stage on a full disk fails as bad input (first attempt), leaving nothing
    const config = testConfig();
    fs.rmSync(config.storageDir, { recursive: true, force: true });
    const ctx = stageContext(
      { ...config, storageDir: mnt, storage: { kind: 'file', root: mnt } },
      'full-disk',
    );
    await badInput(runTextProcessing(ctx, SAMPLE_DATASET), /no space left on device/);
    const left = fs.readdirSync(path.join(mnt, 'runs', 'full-disk'), { recursive: true }) as string[];
    assert.deepEqual(
      left.filter((f) => f.endsWith('.tmp')),
      [],
    );
  });

  it('EROFS: StorageError naming the path and the cause', async (t) => {
    if (!mounted) return t.skip(cannot);
    fs.rmSync(path.join(mnt, 'out'), { recursive: true, force: true });
    fs.rmSync(path.join(mnt, 'runs'), { recursive: true, force: true });
    fs.mkdirSync(path.join(mnt, 'ro'));
    execFileSync('mount', ['-o', 'remount,ro', mnt]);
    try {
      await badInput(
        writeFileAtomic(path.join(mnt, 'ro', 'a.json'), '{}'),
        /cannot write .*a\.json: read-only file system \(EROFS\)/,
      );
      await badInput(
        writeFileAtomic(path.join(mnt, 'new-dir', 'a.json'), '{}'),
        /cannot write .*new-dir: read-only file system \(EROFS\)/,
      );
      const w = await openAtomicWriter(path.join(mnt, 'ro', 'b.csv'));
      await badInput(
        (async () => {
          await w.write('a,b\n');
          await w.commit();
        })(),
        /b\.csv: read-only file system \(EROFS\)/,
      );
    } finally {
      execFileSync('mount', ['-o', 'remount,rw', mnt]);
    }
  });

  it('EACCES: StorageError (only when not root: root writes anyway)', async (t) => {
    if (process.getuid?.() === 0)
      return t.skip('running as root: a read-only folder mode does not stop root');
    const locked = path.join(dir, 'locked');
    fs.mkdirSync(locked, { mode: 0o500 });
    await badInput(writeFileAtomic(path.join(locked, 'a.json'), '{}'), /permission denied \(EACCES\)/);
  });
});
