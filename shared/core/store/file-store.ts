import fsp from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { Readable } from 'node:stream';
import { mkdirFor, openAtomicWriter, storageFailure, tempNameFor, writeFileAtomic } from '../storage';
import { logLost } from '../logger';
import { writeAt } from '../piecewise-writes';
import {
  ArtifactEntry,
  ArtifactNotFound,
  ArtifactStat,
  ArtifactStore,
  ArtifactWriter,
  ByteRange,
  PlacedWrites,
  checkKey,
  jsonBytes,
  shortRange,
} from './artifact-store';

const isMissing = (err: unknown): boolean => (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';

/** A folder while removePrefix removes it: `.deleting-<name>-<8 hex digits>` beside where it was. */
const DOOMED_PREFIX = '.deleting-';
const DOOMED_FOLDER = /^\.deleting-([A-Za-z0-9_][A-Za-z0-9_.=-]*)-[0-9a-f]{8}$/;

/**
 * Bytes a file read takes at a time. With Node's 64 KiB default, concatenating CSV parts (the merge of
 * tickets.csv) cost a thread-pool round trip per 64 KiB read and again per write: 1 MiB pieces make that
 * loop ~2× faster. A ranged read allocates no more than its range.
 */
const READ_PIECE_BYTES = 1 << 20;

async function removeFolder(dir: string): Promise<void> {
  await fsp.rm(dir, { recursive: true, force: true }).catch((err: unknown) => {
    throw storageFailure(err, dir);
  });
}

/** Whether `dir` (under `base`) lies in a folder being removed. */
function isUnderDoomed(base: string, dir: string): boolean {
  return path
    .relative(base, dir)
    .split(path.sep)
    .some((s) => s.startsWith(DOOMED_PREFIX));
}

/**
 * Artifacts as files under one folder (local disk, NFS, a mounted volume): a key is a relative path.
 * Writes go to a temporary name beside the file and are renamed into place; temporary names start with
 * "." and no key may (checkKey), so listings never show them.
 */
export class FileStore implements ArtifactStore {
  readonly url: string;

  constructor(readonly root: string) {
    this.url = pathToFileURL(path.resolve(root)).href;
  }

  /** The file behind a key. */
  pathOf(key: string): string {
    return path.join(this.root, ...checkKey(key).split('/'));
  }

  localPath(key: string): string {
    return this.pathOf(key);
  }

  locate(key: string): string {
    return path.join(this.root, ...checkKey(key, 'prefix').split('/'));
  }

  async put(key: string, data: string | Uint8Array): Promise<void> {
    await writeFileAtomic(this.pathOf(key), data);
  }

  putJson(key: string, value: unknown): Promise<void> {
    return this.put(key, jsonBytes(value));
  }

  async get(key: string): Promise<Buffer> {
    return fsp.readFile(this.pathOf(key)).catch((err: unknown) => {
      throw isMissing(err) ? new ArtifactNotFound(this.url, key) : err;
    });
  }

  async getJson<T>(key: string): Promise<T> {
    return JSON.parse((await this.get(key)).toString('utf8')) as T;
  }

  async stat(key: string): Promise<ArtifactStat | undefined> {
    const st = await fsp.stat(this.pathOf(key)).catch((err: unknown) => {
      if (isMissing(err)) return undefined;
      throw err;
    });
    if (st === undefined || !st.isFile()) return undefined;
    return { size: st.size, tag: `${st.ino}-${st.size}-${st.mtimeMs}`, modifiedAt: st.mtime };
  }

  async openRead(key: string, range?: ByteRange): Promise<Readable> {
    const file = this.pathOf(key);
    if (range !== undefined && range.end < range.start) {
      if ((await this.stat(key)) === undefined) throw new ArtifactNotFound(this.url, key);
      return Readable.from([]);
    }
    const handle = await fsp.open(file, 'r').catch((err: unknown) => {
      throw isMissing(err) ? new ArtifactNotFound(this.url, key) : err;
    });
    return handle.createReadStream({ highWaterMark: READ_PIECE_BYTES, start: range?.start, end: range?.end });
  }

  /** Read straight into one buffer: no stream's pieces to gather and copy again. */
  async getRange(key: string, range: ByteRange): Promise<Buffer> {
    const length = Math.max(0, range.end - range.start + 1);
    const handle = await fsp.open(this.pathOf(key), 'r').catch((err: unknown) => {
      throw isMissing(err) ? new ArtifactNotFound(this.url, key) : err;
    });
    try {
      const out = Buffer.allocUnsafe(length);
      let got = 0;
      while (got < length) {
        const { bytesRead } = await handle.read(out, got, length - got, range.start + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      if (got < length) throw shortRange(this.locate(key), range, got);
      return out;
    } finally {
      await handle.close();
    }
  }

  async openWriter(key: string): Promise<ArtifactWriter> {
    return openAtomicWriter(this.pathOf(key));
  }

  /**
   * A temporary file beside the artifact, made its full size at the start (so no write extends it and a
   * write past the end is caught), written with positioned writes by any process that mounts the
   * folder, renamed into place when complete.
   */
  readonly placed: PlacedWrites = {
    minPieceBytes: 0,
    start: async (key, size) => {
      const file = this.pathOf(key);
      await mkdirFor(file);
      const tmp = tempNameFor(file);
      try {
        const handle = await fsp.open(tmp, 'wx');
        try {
          await handle.truncate(size);
        } finally {
          await handle.close();
        }
      } catch (err) {
        await fsp.rm(tmp, { force: true }).catch(logLost(`removing the temporary file ${tmp}`));
        throw storageFailure(err, file);
      }
      return path.basename(tmp);
    },
    write: async (key, upload, { offset }, data) => {
      const tmp = this.uploadPath(key, upload);
      // 'r+': an upload that was completed or aborted is not created again.
      const handle = await fsp.open(tmp, 'r+').catch((err: unknown) => {
        throw isMissing(err)
          ? new Error(`the upload ${tmp} is gone: its stage's try completed or gave up`, { cause: err })
          : storageFailure(err, tmp);
      });
      try {
        const { size } = await handle.stat();
        if (!Number.isSafeInteger(offset) || offset < 0 || offset + data.byteLength > size)
          throw new RangeError(
            `${tmp}: bytes ${offset}–${offset + data.byteLength - 1} are outside its ${size} bytes`,
          );
        await writeAt(handle, data, offset);
      } catch (err) {
        throw storageFailure(err, tmp);
      } finally {
        await handle.close();
      }
      return '';
    },
    complete: async (key, upload) => {
      const tmp = this.uploadPath(key, upload);
      await fsp.rename(tmp, this.pathOf(key)).catch((err: unknown) => {
        throw storageFailure(err, this.pathOf(key));
      });
    },
    abort: async (key, upload) => {
      await fsp.rm(this.uploadPath(key, upload), { force: true });
    },
  };

  /** The temporary file of an upload of `key`, checked to be one placed.start names. */
  private uploadPath(key: string, upload: string): string {
    const file = this.pathOf(key);
    const name = path.basename(file);
    if (!upload.startsWith(`.${name}.`) || !/^\d+\.[0-9a-f]{8}\.tmp$/.test(upload.slice(name.length + 2)))
      throw new RangeError(`"${upload}" is not the name of an upload of ${key}`);
    return path.join(path.dirname(file), upload);
  }

  async list(prefix: string): Promise<ArtifactEntry[]> {
    checkKey(prefix, 'prefix');
    const dir = prefix.endsWith('/') || prefix === '' ? prefix : path.posix.dirname(prefix);
    const base = path.join(this.root, ...dir.split('/').filter((s) => s !== '' && s !== '.'));
    const entries = await fsp
      .readdir(base, { withFileTypes: true, recursive: true })
      .catch((err: unknown) => {
        if (isMissing(err) || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
        throw err;
      });
    const found: ArtifactEntry[] = [];
    for (const e of entries) {
      if (!e.isFile()) continue;
      const key = path.relative(this.root, path.join(e.parentPath, e.name)).split(path.sep).join('/');
      if (!key.startsWith(prefix) || key.split('/').some((s) => s.startsWith('.'))) continue;
      const st = await fsp.stat(path.join(e.parentPath, e.name)).catch(() => undefined);
      if (st !== undefined) found.push({ key, size: st.size });
    }
    return found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async remove(key: string): Promise<void> {
    await fsp.rm(this.pathOf(key), { force: true });
  }

  /**
   * A folder prefix ("…/") is renamed away first (`<parent>/.deleting-<name>-<8 hex digits>`: its files
   * vanish at once, whatever removing them takes), then removed, with any such folder an earlier removal of
   * the same folder left (finishRemovals).
   */
  async removePrefix(prefix: string): Promise<void> {
    checkKey(prefix, 'prefix');
    const segments = prefix.split('/').filter((s) => s !== '');
    if (prefix.endsWith('/') && segments.length > 0) {
      const dir = path.join(this.root, ...segments);
      const doomed = path.join(
        path.dirname(dir),
        `${DOOMED_PREFIX}${path.basename(dir)}-${randomBytes(4).toString('hex')}`,
      );
      await fsp.rename(dir, doomed).catch((err: unknown) => {
        if (!isMissing(err)) throw storageFailure(err, dir);
      });
      await removeFolder(doomed);
      await this.finishRemovals(prefix);
      return;
    }
    for (const { key } of await this.list(prefix)) await this.remove(key);
  }

  /**
   * Names of the folders directly under `parent` (a folder prefix, "" for the root) whose removal was cut
   * short: renamed away by removePrefix and not yet removed.
   */
  async cutShortRemovals(parent: string): Promise<string[]> {
    checkKey(parent, 'prefix');
    const dir = path.join(this.root, ...parent.split('/').filter((s) => s !== ''));
    const names = await fsp.readdir(dir).catch(() => [] as string[]);
    return names.flatMap((n) => {
      const m = DOOMED_FOLDER.exec(n);
      return m ? [m[1]!] : [];
    });
  }

  /**
   * Finishes the removals of folder `prefix` ("…/") that were cut short (the folders removePrefix renamed
   * away); the folder itself, if there, stays.
   */
  async finishRemovals(prefix: string): Promise<void> {
    checkKey(prefix, 'prefix');
    const segments = prefix.split('/').filter((s) => s !== '');
    const name = segments.pop();
    if (name === undefined) return;
    const parent = path.join(this.root, ...segments);
    const names = await fsp.readdir(parent).catch(() => [] as string[]);
    for (const n of names) if (DOOMED_FOLDER.exec(n)?.[1] === name) await removeFolder(path.join(parent, n));
  }

  /** The temporary files of writes cut short under folder `prefix` (see ArtifactStore). */
  async removeAbandonedWrites(prefix: string): Promise<number> {
    checkKey(prefix, 'prefix');
    const base = path.join(this.root, ...prefix.split('/').filter((s) => s !== ''));
    const entries = await fsp.readdir(base, { withFileTypes: true, recursive: true }).catch(() => []);
    const doomed = entries.filter(
      (e) =>
        e.isFile() && e.name.startsWith('.') && e.name.endsWith('.tmp') && !isUnderDoomed(base, e.parentPath),
    );
    await Promise.all(doomed.map((e) => fsp.rm(path.join(e.parentPath, e.name), { force: true })));
    return doomed.length;
  }

  async copy(from: string, to: string): Promise<void> {
    const source = this.pathOf(from);
    const target = this.pathOf(to);
    await fsp.mkdir(path.dirname(target), { recursive: true }).catch((err: unknown) => {
      throw storageFailure(err, target);
    });
    const tmp = path.join(
      path.dirname(target),
      `.${path.basename(target)}.${randomBytes(4).toString('hex')}.tmp`,
    );
    try {
      // A hard link costs no space and no copying; across file systems (EXDEV) or where links are not
      // allowed, a copy.
      await fsp.link(source, tmp).catch(async (err: unknown) => {
        if (isMissing(err)) throw new ArtifactNotFound(this.url, from);
        await fsp.copyFile(source, tmp);
      });
      await fsp.rename(tmp, target);
    } catch (err) {
      await fsp.rm(tmp, { force: true }).catch(logLost(`removing the temporary file ${tmp}`));
      throw err instanceof ArtifactNotFound ? err : storageFailure(err, target);
    }
  }

  /**
   * Appends to the file behind `key` (creating the file, never its folder: ENOENT when the folder is
   * gone). Local only: an append is not atomic, and object stores have none.
   */
  async append(key: string, data: string | Uint8Array): Promise<void> {
    await fsp.appendFile(this.pathOf(key), data);
  }

  async check(): Promise<void> {
    const probe = path.join(this.root, `.probe.${process.pid}.${randomBytes(4).toString('hex')}`);
    try {
      await fsp.mkdir(this.root, { recursive: true });
      await fsp.writeFile(probe, '');
    } catch (err) {
      throw storageFailure(err, this.root);
    } finally {
      await fsp.rm(probe, { force: true }).catch(logLost(`removing the probe file ${probe}`));
    }
  }

  async close(): Promise<void> {}
}
