/**
 * Dataset digests for a long-lived process (the API): a submission of a file that has not changed since
 * it was last hashed reuses the digest, concurrent requests for the same file share one hash in flight,
 * and at most `maxConcurrent` files are hashed at once, whatever the number of requests (each hash holds
 * a 1 MiB read buffer and a core). "Not changed" is the file's identity: its real path, device, inode,
 * size, mtime and ctime (ctime cannot be set back, so a rewrite that restores size and mtime still
 * misses). Stage 1 hashes the file again as it reads it, so a digest reused wrongly would fail the run,
 * never train on other bytes.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { BadInputError } from '../errors';
import { FileDigest, hashFile } from './hash-file';
import { openDataset, statOpen } from './open-dataset';
import { Limiter } from '../io/limiter';

/** Files hashed at once by the API. */
export const HASH_CONCURRENCY = 2;
/** Digests remembered (least recently used dropped first). */
export const HASH_CACHE_ENTRIES = 256;
/** A file that changes under every attempt to hash it is refused after this many. */
const ATTEMPTS = 3;

const identityKey = (real: string, st: fs.Stats) =>
  JSON.stringify([real, st.dev, st.ino, st.size, st.mtimeMs, st.ctimeMs]);

export class HashCache {
  private readonly digests = new Map<string, FileDigest>();
  private readonly inFlight = new Map<string, Promise<FileDigest>>();
  private readonly limiter: Limiter;
  /** files read to the end so far (hits and shared hashes read nothing) */
  hashed = 0;

  constructor(opts: { maxConcurrent?: number; maxEntries?: number } = {}) {
    this.limiter = new Limiter(opts.maxConcurrent ?? HASH_CONCURRENCY);
    this.maxEntries = opts.maxEntries ?? HASH_CACHE_ENTRIES;
  }
  private readonly maxEntries: number;

  /** The most hashes that ran at once. */
  get peakConcurrency(): number {
    return this.limiter.peak;
  }

  /**
   * SHA-256 and size of `file`, reused while its identity is unchanged. A file that cannot be read as a
   * dataset throws openDataset's BadInputError naming it.
   */
  async digest(file: string): Promise<FileDigest> {
    const real = await fsp.realpath(file).catch(() => null);
    const st = real === null ? null : await fsp.stat(real).catch(() => null);
    // Not there, or not a regular file: let openDataset say what is wrong, in its words.
    if (real === null || st === null || !st.isFile()) return hashFile(file);
    return this.digestKeyed(identityKey(real, st), () => this.hash(real));
  }

  /**
   * The digest remembered under `key` (a source's name and identity), or `hash`'s, run within the
   * concurrency limit and shared by concurrent callers; `hash` remembers it (`remember`) under the
   * identity it saw throughout.
   */
  digestKeyed(key: string, hash: () => Promise<FileDigest>): Promise<FileDigest> {
    const known = this.digests.get(key);
    if (known) {
      this.digests.delete(key);
      this.digests.set(key, known);
      return Promise.resolve(known);
    }
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.limiter.run(hash).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return pending;
  }

  /** Hash the file through one descriptor; remember the digest under the identity it had throughout. */
  private async hash(real: string): Promise<FileDigest> {
    for (let attempt = 1; ; attempt++) {
      const ds = await openDataset(real);
      try {
        const before = await statOpen(ds);
        const digest = await hashFile(ds);
        this.hashed++;
        const after = await statOpen(ds);
        if (identityKey(real, before) === identityKey(real, after)) {
          this.remember(identityKey(real, after), digest);
          return digest;
        }
      } finally {
        await ds.close();
      }
      if (attempt >= ATTEMPTS)
        throw new BadInputError(
          `${real}: the file changed each time it was read (${ATTEMPTS} times): submit it once it is written`,
        );
    }
  }

  remember(key: string, digest: FileDigest): void {
    this.digests.set(key, digest);
    while (this.digests.size > this.maxEntries) this.digests.delete(this.digests.keys().next().value!);
  }
}

/** The digests of every dataset source in this process, hashed at most HASH_CONCURRENCY at once. */
export const datasetDigests = new HashCache();
