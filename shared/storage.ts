import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { finished } from 'node:stream/promises';
import { once } from 'node:events';

/**
 * Shared storage: a directory every worker can reach (local disk, NFS, a mounted volume).
 * Every artifact is written under a temporary name in the same directory and renamed into place,
 * so a reader sees either the whole old file or the whole new one, never half of one.
 */
export function runDir(storageDir: string, runId: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(runId))
    throw new RangeError(`run id "${runId}" may hold only letters, digits, "_" and "-"`);
  return path.join(storageDir, 'runs', runId);
}

function tempNameFor(file: string): string {
  return path.join(
    path.dirname(file),
    `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
  );
}

export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  await fsp.mkdir(path.dirname(file), { recursive: true });
  const tmp = tempNameFor(file);
  try {
    await fsp.writeFile(tmp, data);
    await fsp.rename(tmp, file);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
}

export function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  return writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n');
}

export async function readJson<T>(file: string): Promise<T> {
  const text = await fsp.readFile(file, 'utf8').catch((err: unknown) => {
    throw new Error(`cannot read ${file}: run the stage that writes it first`, { cause: err });
  });
  return JSON.parse(text) as T;
}

/** A file written piece by piece, then either committed (renamed into place) or aborted (removed). */
export interface AtomicWriter {
  /** Returns a promise only when it hands a batch to the stream (await it for back-pressure). */
  write(text: string): void | Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

export async function openAtomicWriter(file: string): Promise<AtomicWriter> {
  await fsp.mkdir(path.dirname(file), { recursive: true });
  const tmp = tempNameFor(file);
  const stream = fs.createWriteStream(tmp);
  let pending = '';
  // Batch small writes: one stream write per ~64 KiB keeps per-row overhead out of the hot path.
  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    const ok = stream.write(pending);
    pending = '';
    // events.once removes its listeners when it settles, so waits don't pile up on the stream.
    if (!ok) await once(stream, 'drain');
  };
  return {
    write(text) {
      pending += text;
      if (pending.length >= 65536) return flush();
    },
    async commit() {
      await flush();
      stream.end();
      await finished(stream);
      await fsp.rename(tmp, file);
    },
    async abort() {
      stream.destroy();
      await fsp.rm(tmp, { force: true });
    },
  };
}
