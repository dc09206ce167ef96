import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import { FileStore } from '../../shared/core/store/file-store';
import { WRITE_PIECE_BYTES } from '../../shared/core/piecewise-writes';
import { tempDir } from '../helpers/env';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Runs `body` with every write system call of this process's fs and FileHandle writes recorded (their lengths). */
async function recordingWrites<T>(body: () => Promise<T>): Promise<{ result: T; lengths: number[] }> {
  const lengths: number[] = [];
  const write = fs.write;
  const writev = fs.writev;
  const probe = await fsp.open(__filename, 'r');
  const proto = Object.getPrototypeOf(probe) as { write: (...args: unknown[]) => Promise<unknown> };
  await probe.close();
  const handleWrite = proto.write;
  (fs as { write: unknown }).write = (...args: unknown[]) => {
    lengths.push(args[3] as number);
    return (write as (...a: unknown[]) => unknown)(...args);
  };
  (fs as { writev: unknown }).writev = (...args: unknown[]) => {
    lengths.push((args[1] as Uint8Array[]).reduce((s, b) => s + b.byteLength, 0));
    return (writev as (...a: unknown[]) => unknown)(...args);
  };
  proto.write = function (this: unknown, ...args: unknown[]) {
    lengths.push(args[2] as number);
    return handleWrite.apply(this, args);
  };
  try {
    return { result: await body(), lengths };
  } finally {
    (fs as { write: unknown }).write = write;
    (fs as { writev: unknown }).writev = writev;
    proto.write = handleWrite;
  }
}

describe('file store: large writes go to the kernel in pieces', () => {
  it('a writer given large chunks, some without waiting, writes them whole and in order', async () => {
    const root = tempDir('piecewise');
    try {
      const store = new FileStore(root);
      const big = randomBytes(3 * WRITE_PIECE_BYTES + 12345);
      const small = Array.from({ length: 6 }, () => randomBytes(WRITE_PIECE_BYTES - 1000));
      const { lengths } = await recordingWrites(async () => {
        const w = await store.openWriter('runs/r/big.bin');
        await w.write('head,');
        await w.write(big);
        // Not awaited: the stream gathers them, and writes what it gathered at once (writev).
        const pending = small.map((b) => w.write(b));
        await Promise.all(pending);
        await w.write('tail');
        await w.commit();
      });
      const expected = Buffer.concat([Buffer.from('head,'), big, ...small, Buffer.from('tail')]);
      assert.equal(sha(await store.get('runs/r/big.bin')), sha(expected));
      assert.ok(lengths.length > 0, 'writes were seen');
      assert.ok(
        lengths.every((n) => n <= WRITE_PIECE_BYTES),
        `every write at most ${WRITE_PIECE_BYTES} bytes: ${lengths.join(', ')}`,
      );
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('a piece of a placed write larger than a write lands whole at its offset', async () => {
    const root = tempDir('piecewise-placed');
    try {
      const store = new FileStore(root);
      const whole = randomBytes(5 * WRITE_PIECE_BYTES + 7);
      const cut = 2 * WRITE_PIECE_BYTES + 3;
      const { lengths } = await recordingWrites(async () => {
        const upload = await store.placed.start('runs/r/t.csv', whole.length);
        await store.placed.write('runs/r/t.csv', upload, { index: 1, offset: cut }, whole.subarray(cut));
        await store.placed.write('runs/r/t.csv', upload, { index: 0, offset: 0 }, whole.subarray(0, cut));
        await store.placed.complete('runs/r/t.csv', upload, ['', '']);
      });
      assert.equal(sha(await store.get('runs/r/t.csv')), sha(whole));
      assert.ok(
        lengths.every((n) => n <= WRITE_PIECE_BYTES),
        `every write at most ${WRITE_PIECE_BYTES} bytes: ${lengths.join(', ')}`,
      );
      assert.ok(lengths.length >= 6, `${lengths.length} writes`);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
