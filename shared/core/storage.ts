import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { finished } from 'node:stream/promises';
import { once } from 'node:events';
import { StorageError } from './errors';
import { logLost } from './logger';
import { PIECEWISE_FS } from './piecewise-writes';

/**
 * What a run id may be: it names a folder (runDir) and a Redis key, so no separators, dots or spaces, and
 * a bounded length. Every check of a run id given from outside uses this.
 */
export const RUN_ID_PATTERN = /^[A-Za-z0-9_-]{1,80}$/;

/** A run's record, in its run directory (`runs/<id>/run.json`). */
export const RUN_RECORD_FILE = 'run.json';

/**
 * Shared storage: a directory every worker can reach (local disk, NFS, a mounted volume).
 * Every artifact is written under a temporary name in the same directory and renamed into place,
 * so a reader sees either the whole old file or the whole new one, never half of one.
 */
export function runDir(storageDir: string, runId: string): string {
  if (!RUN_ID_PATTERN.test(runId))
    throw new RangeError(`run id "${runId}" may hold only letters, digits, "_" and "-" (1 to 80 of them)`);
  return path.join(storageDir, 'runs', runId);
}

/** The store prefix of a run's artifacts: `runs/<runId>/` (the keys under it mirror runDir's files). */
export function runPrefix(runId: string): string {
  if (!RUN_ID_PATTERN.test(runId))
    throw new RangeError(`run id "${runId}" may hold only letters, digits, "_" and "-" (1 to 80 of them)`);
  return `runs/${runId}/`;
}

/** The store key of one of a run's artifacts: `runs/<runId>/<name>` (`name` may hold "/"). */
export function runKey(runId: string, name: string): string {
  return runPrefix(runId) + name;
}

/** A temporary name beside `file`: `.<name>.<pid>.<8 hex digits>.tmp` (removeAbandonedWrites finds it). */
export function tempNameFor(file: string): string {
  return path.join(
    path.dirname(file),
    `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
  );
}

/** Write failures that retrying cannot fix, in words. */
const PERMANENT_WRITE_FAILURES: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
};

/**
 * A write error as StorageError (a BadInputError: the job fails on its first attempt) when retrying cannot
 * fix it: no space, quota, read-only file system, permission denied. Other errors are returned unchanged.
 */
export function storageFailure(err: unknown, file: string): unknown {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  const words = typeof code === 'string' ? PERMANENT_WRITE_FAILURES[code] : undefined;
  if (words === undefined || err instanceof StorageError) return err;
  return new StorageError(
    `cannot write ${file}: ${words} (${code}); fix the storage folder (TICKETFLOW_STORAGE_DIR), then retry the run`,
    code!,
    { cause: err },
  );
}

/** Makes the file's folder; returns the first folder it had to create (undefined: all were there). */
export async function mkdirFor(file: string): Promise<string | undefined> {
  const dir = path.dirname(file);
  try {
    return await fsp.mkdir(dir, { recursive: true });
  } catch (err) {
    throw storageFailure(await mkdirCause(dir, err), dir);
  }
}

/**
 * Removes the folders mkdirFor created for `file` (from `first` down to the file's folder), deepest first,
 * each only while empty: a failed write leaves no empty folder behind (e.g. a run folder of a run that was
 * refused), and never takes a folder that another writer has put a file into meanwhile.
 */
async function removeCreatedFolders(file: string, first: string | undefined): Promise<void> {
  if (first === undefined) return;
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    const removed = await fsp.rmdir(dir).then(
      () => true,
      () => false,
    );
    if (!removed || dir === first || path.dirname(dir) === dir) return;
  }
}

/**
 * Node's recursive mkdir reports ENOENT when mkdir(2) failed otherwise (EROFS, EACCES, ...): ask mkdir(2)
 * itself for the first folder missing.
 */
async function mkdirCause(dir: string, err: unknown): Promise<unknown> {
  if ((err as NodeJS.ErrnoException | null)?.code !== 'ENOENT') return err;
  let missing = dir;
  for (;;) {
    const parent = path.dirname(missing);
    if (parent === missing) return err;
    const parentExists = await fsp.stat(parent).then(
      () => true,
      () => false,
    );
    if (parentExists) break;
    missing = parent;
  }
  return fsp.mkdir(missing).then(
    () => err,
    (cause: unknown) => cause,
  );
}

/** Removes a temporary file, if it exists and can be removed (on a read-only file system it cannot exist). */
async function removeTemp(tmp: string): Promise<void> {
  await fsp.rm(tmp, { force: true }).catch(logLost(`removing the temporary file ${tmp}`));
}

export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const created = await mkdirFor(file);
  const tmp = tempNameFor(file);
  try {
    await fsp.writeFile(tmp, data);
    await fsp.rename(tmp, file);
  } catch (err) {
    await removeTemp(tmp);
    await removeCreatedFolders(file, created);
    throw storageFailure(err, file);
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
  write(chunk: string | Uint8Array): void | Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/**
 * A write error (no space, a read-only file system, permission denied, ... at open, write, close or rename)
 * rejects the write, commit or flush that meets it, with the temporary file removed; the four that retrying
 * cannot fix as StorageError (storageFailure).
 */
export async function openAtomicWriter(file: string): Promise<AtomicWriter> {
  await mkdirFor(file);
  const tmp = tempNameFor(file);
  // Large chunks go to the kernel in pieces (piecewise-writes.ts).
  const stream = fs.createWriteStream(tmp, { fs: PIECEWISE_FS });
  // The stream reports open and write errors as events: keep the first, never let one go unhandled.
  let failure: unknown = null;
  stream.on('error', (err) => {
    failure ??= err;
  });
  // Remove the temporary file only once the stream has closed it: a stream destroyed while still opening
  // creates the file after a removal that did not wait.
  const discard = async (): Promise<void> => {
    if (!stream.closed) {
      const closed = new Promise<void>((resolve) => stream.once('close', () => resolve()));
      stream.destroy();
      await closed;
    }
    await removeTemp(tmp);
  };
  const fail = async (err: unknown): Promise<never> => {
    await discard();
    throw storageFailure(err, file);
  };
  let pending = '';
  // Batch small writes: one stream write per ~64 KiB keeps per-row overhead out of the hot path.
  const flush = async (): Promise<void> => {
    if (failure !== null) return fail(failure);
    if (pending.length === 0) return;
    const ok = stream.write(pending);
    pending = '';
    // events.once removes its listeners when it settles, so waits don't pile up on the stream.
    if (!ok) await once(stream, 'drain').catch(fail);
  };
  const writeBytes = async (bytes: Uint8Array): Promise<void> => {
    if (failure !== null) return fail(failure);
    if (!stream.write(bytes)) await once(stream, 'drain').catch(fail);
  };
  return {
    write(chunk) {
      if (typeof chunk !== 'string') return flush().then(() => writeBytes(chunk));
      pending += chunk;
      if (pending.length >= 65536 || failure !== null) return flush();
    },
    async commit() {
      await flush();
      stream.end();
      await finished(stream).catch(fail);
      if (failure !== null) await fail(failure);
      await fsp.rename(tmp, file).catch(fail);
    },
    abort: discard,
  };
}
