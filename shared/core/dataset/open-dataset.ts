/**
 * Opening a dataset safely. A dataset must be a regular file: `/dev/zero` never ends, a FIFO blocks its
 * reader (and, opened without O_NONBLOCK, its opener), a directory or a socket cannot be read as one. So
 * every reader opens with O_NONBLOCK (a FIFO's open returns at once), checks `fstat` on the descriptor it
 * got, and then reads from that same descriptor with positioned reads — never by path again — so what was
 * checked is what is read.
 *
 * Workers go further (openDatasetInRoot): a dataset named in job data must resolve inside the worker's own
 * data root, and that is checked on the opened descriptor's real path (/proc/self/fd/N), so a symlink
 * swapped in after the API's check, or an absolute path in a job added by hand, is refused.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { badInput, BadInputError } from '../errors';
import { insideDir, placeInDataRoot } from './data-root';
import { identityOf, type DatasetIdentity } from './dataset-identity';

/** Read-only, non-blocking (a FIFO's open returns at once), never the controlling terminal. */
const OPEN_FLAGS = fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0) | (fs.constants.O_NOCTTY ?? 0);

/**
 * An open dataset: a local file's descriptor (LocalDatasetFile) or an object in a bucket
 * (object-dataset.ts). Read it only with positioned reads, as several readers share it; every read sees
 * the bytes that were opened or fails (a descriptor keeps its inode; an object's reads are pinned to the
 * ETag it had when opened).
 */
export interface DatasetFile {
  /** the path as opened (or the object's s3:// URL), for messages and read stats */
  readonly path: string;
  /** bytes, at open */
  readonly size: number;
  /** Reads up to `length` bytes at `position` into the start of `buf`; resolves the count read (0 at its end). */
  read(buf: Buffer, position: number, length: number): Promise<number>;
  /** The bytes [start, end) (to its end without `end`) in pieces of up to `highWaterMark` bytes. */
  pieces(opts: PieceOptions): AsyncGenerator<Buffer>;
  /**
   * What identifies the contents now, without reading them, and a key naming this file or object with
   * that identity (for memos of verified bytes).
   */
  identify(): Promise<{ identity: DatasetIdentity; key: string }>;
  close(): Promise<void>;
}

export interface PieceOptions {
  start?: number;
  end?: number;
  highWaterMark?: number;
}

/** A dataset opened from the local file system: its descriptor. */
export interface LocalDatasetFile extends DatasetFile {
  readonly fd: number;
}

/** fstat of an open dataset's descriptor: what is read, whatever the path names by now. */
export function statOpen(ds: LocalDatasetFile): Promise<fs.Stats> {
  return new Promise((resolve, reject) => fs.fstat(ds.fd, (err, st) => (err ? reject(err) : resolve(st))));
}

/** What a file is, in words: "a directory", "a FIFO (named pipe)", ... */
export function fileKind(st: fs.Stats): string {
  if (st.isFile()) return 'a regular file';
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'a special file';
}

/** A dataset that cannot be opened as one; `problem` says why in words ("is a directory, not a ..."). */
export class DatasetFileError extends BadInputError {
  constructor(
    readonly file: string,
    readonly problem: string,
    cause?: unknown,
  ) {
    super(`${file}: ${problem}`, cause === undefined ? undefined : { cause });
  }
}

/** What a file is read as, for messages: "a dataset must be a regular file". */
export type FileRole = 'dataset' | 'label map';

function notRegular(file: string, st: fs.Stats, role: FileRole = 'dataset'): DatasetFileError {
  return new DatasetFileError(
    file,
    `is ${fileKind(st)}, not a regular file: a ${role} must be a regular file`,
  );
}

/** An open(2) failure in words, naming the file. */
async function openFailure(
  file: string,
  err: NodeJS.ErrnoException,
  role: FileRole = 'dataset',
): Promise<DatasetFileError> {
  switch (err.code) {
    case 'ENOENT': {
      const link = await fsp.lstat(file).catch(() => null);
      return new DatasetFileError(
        file,
        link?.isSymbolicLink() ? 'is a symbolic link to a file that does not exist' : 'no such file',
        err,
      );
    }
    case 'EACCES':
    case 'EPERM':
      return new DatasetFileError(file, 'permission denied: this process may not read the file', err);
    case 'ENXIO':
    case 'EOPNOTSUPP': {
      // open(2) of a socket fails so; name what it is
      const st = await fsp.stat(file).catch(() => null);
      return st
        ? notRegular(file, st, role)
        : new DatasetFileError(file, `cannot be opened (${err.code})`, err);
    }
    case 'ELOOP':
      return new DatasetFileError(file, 'too many levels of symbolic links', err);
    case 'ENOTDIR':
      return new DatasetFileError(file, 'no such file (a part of the path is not a directory)', err);
    default:
      return new DatasetFileError(file, `cannot be opened (${err.code ?? err.message})`, err);
  }
}

/**
 * Open `file` for reading as a dataset: BadInputError naming it when it is missing, unreadable or not a
 * regular file (a FIFO does not block: O_NONBLOCK). The caller closes it.
 */
export async function openDataset(file: string): Promise<LocalDatasetFile> {
  const { handle, st } = await openRegular(file);
  return wrap(file, handle, st);
}

/**
 * Open `file` read-only without blocking (a FIFO's open returns at once) and check with fstat that it is a
 * regular file: BadInputError naming it and what it is otherwise. The caller closes the handle.
 */
export async function openRegular(
  file: string,
  role: FileRole = 'dataset',
): Promise<{ handle: fsp.FileHandle; st: fs.Stats }> {
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(file, OPEN_FLAGS);
  } catch (err) {
    throw await openFailure(file, err as NodeJS.ErrnoException, role);
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw notRegular(file, st, role);
    return { handle, st };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

function wrap(file: string, handle: fsp.FileHandle, st: fs.Stats): LocalDatasetFile {
  let closed: Promise<void> | null = null;
  const fd = handle.fd;
  const read = (buf: Buffer, position: number, length: number) => readFd(fd, buf, position, length);
  return {
    path: file,
    fd,
    size: st.size,
    read,
    pieces: (opts) => positionedPieces(read, opts),
    identify: async () => {
      const now = await fstat(fd);
      return {
        identity: identityOf(now),
        key: `${now.dev}:${now.ino}:${now.size}:${now.mtimeMs}:${now.ctimeMs}`,
      };
    },
    close: () => (closed ??= handle.close()),
  };
}

function readFd(fd: number, buf: Buffer, position: number, length: number): Promise<number> {
  return new Promise((resolve, reject) =>
    fs.read(fd, buf, 0, length, position, (err, bytesRead) => (err ? reject(err) : resolve(bytesRead))),
  );
}

function fstat(fd: number): Promise<fs.Stats> {
  return new Promise((resolve, reject) => fs.fstat(fd, (err, st) => (err ? reject(err) : resolve(st))));
}

/** Reads up to `length` (default `buf.length`) bytes at `position` of the open dataset; resolves the count read (0 at its end). */
export function readAt(ds: DatasetFile, buf: Buffer, position: number, length = buf.length): Promise<number> {
  return ds.read(buf, position, length);
}

/**
 * The bytes [start, end) of an open dataset (to its end when `end` is omitted) in pieces of up to
 * `highWaterMark` bytes. Each piece is a fresh buffer the caller may keep.
 */
export function readPieces(ds: DatasetFile, opts: PieceOptions = {}): AsyncGenerator<Buffer> {
  return ds.pieces(opts);
}

/**
 * Pieces by positioned reads. (Not fs.createReadStream with `fd`: destroying such a stream — as leaving a
 * for-await loop early does — closes the descriptor even with autoClose false, and the descriptor is
 * shared.)
 */
async function* positionedPieces(
  read: (buf: Buffer, position: number, length: number) => Promise<number>,
  opts: PieceOptions,
): AsyncGenerator<Buffer> {
  const size = opts.highWaterMark ?? 1 << 20;
  const end = opts.end ?? Infinity;
  let pos = opts.start ?? 0;
  while (pos < end) {
    const want = Math.min(size, end - pos);
    const buf = Buffer.allocUnsafe(want);
    const n = await read(buf, pos, want);
    if (n === 0) return;
    pos += n;
    yield n < want ? buf.subarray(0, n) : buf;
  }
}

/** Throws DatasetFileError unless `file` can be opened as a dataset (a regular, readable file). */
export async function checkDatasetFile(file: string): Promise<void> {
  await (await openDataset(file)).close();
}

/** Why `file` cannot be opened as a dataset, in words ("is a FIFO (named pipe), not a regular file: ..."), or null. */
export async function datasetFileProblem(file: string): Promise<string | null> {
  try {
    await checkDatasetFile(file);
    return null;
  } catch (err) {
    if (err instanceof DatasetFileError) return err.problem;
    throw err;
  }
}

/** Runs `body` on `source`, opening (and then closing) it first when it is a path. */
export async function withDataset<T>(
  source: string | DatasetFile,
  body: (ds: DatasetFile) => Promise<T>,
): Promise<T> {
  if (typeof source !== 'string') return body(source);
  const ds = await openDataset(source);
  try {
    return await body(ds);
  } finally {
    await ds.close();
  }
}

/**
 * Open a dataset named in job data inside `root`, this process's own data root: a relative name resolves
 * in the root, an absolute one must lie in it. The file must be a regular file whose real path — of the
 * descriptor actually opened, so a symlink swapped in meanwhile changes nothing — is inside the real root.
 * BadInputError ("outside the data root") otherwise. A missing root is this worker's configuration
 * problem, not bad input: a plain Error.
 */
export async function openDatasetInRoot(root: string, dataset: string): Promise<LocalDatasetFile> {
  if (typeof dataset !== 'string' || dataset === '' || dataset.includes('\0'))
    throw new BadInputError('the job names no dataset: "dataset" must be a path in the data root');
  const outside = () =>
    badInput(
      { file: dataset },
      `resolves outside the data root ${root}: this worker reads only datasets in it`,
    );
  // Refuse a link out of the root before opening what it points at (a device's open may act on it) ...
  const place = await placeInDataRoot(root, dataset);
  if (place.kind === 'no-root')
    throw new Error(
      `this worker's data root ${root} does not exist: set TICKETFLOW_DATA_DIR to the folder holding the datasets`,
      { cause: place.cause },
    );
  if (place.kind === 'outside') throw outside();
  if (place.kind === 'unresolved') throw await openFailure(place.file, place.cause);
  const { realRoot, file, real } = place;
  const { handle, st } = await openRegular(real);
  try {
    // ... and check what was opened, in case the path changed in between.
    const opened = await fdRealPath(handle, real, st);
    if (opened === null || !insideDir(realRoot, opened)) throw outside();
  } catch (err) {
    await handle.close();
    throw err;
  }
  return wrap(file, handle, st);
}

/**
 * The real path of an open descriptor: /proc/self/fd/N's target on Linux; elsewhere the realpath of the
 * name it was opened by, when that is still the same file (device and inode), else null.
 */
async function fdRealPath(handle: fsp.FileHandle, file: string, st: fs.Stats): Promise<string | null> {
  const target = await fsp.readlink(`/proc/self/fd/${handle.fd}`).catch(() => null);
  if (target !== null && path.isAbsolute(target)) return target.replace(/ \(deleted\)$/, '');
  const real = await fsp.realpath(file).catch(() => null);
  if (real === null) return null;
  const now = await fsp.stat(real).catch(() => null);
  return now !== null && now.dev === st.dev && now.ino === st.ino ? real : null;
}
