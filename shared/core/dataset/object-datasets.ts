/**
 * Datasets as objects under a prefix of an S3 bucket (TICKETFLOW_DATA_URL=s3://bucket/prefix). A dataset
 * name is a key relative to the prefix; it can never leave it (checkObjectName). An open object
 * (ObjectDatasetFile) is what a descriptor is for a file: its size and ETag are taken once, by HEAD, and
 * every read is a ranged GET pinned to that ETag (If-Match, and the answer's own ETag checked, as not every
 * S3-compatible server honours If-Match), so the bytes read are the object opened or the read fails. Only
 * `Range: bytes=start-end` is used, which every S3-protocol server supports.
 */
import type { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { BadInputError, DataUnavailableError } from '../errors';
import { createS3Client, errorName, httpStatus } from '../store/s3-store';
import { locationUrl, type S3Location } from '../store/store-location';
import type { ObjectIdentity } from './dataset-identity';
import type { DatasetSource, ResolvedDataset } from './dataset-source';
import { hashFile, type FileDigest } from './hash-file';
import { datasetDigests } from './hash-cache';
import { DatasetFileError, type DatasetFile, type PieceOptions } from './open-dataset';

/** The longest key S3 takes, in UTF-8 bytes. */
const MAX_KEY_BYTES = 1024;
/** A dataset replaced under every attempt to hash it is refused after this many. */
const HASH_ATTEMPTS = 3;

/**
 * Why `name` cannot name an object under the prefix, or null: it must be "/"-separated segments, none
 * empty, "." or "..", without a leading "/", backslashes or control characters.
 */
function nameProblem(name: string, prefix: string): string | null {
  if (name.startsWith('/')) return 'is an absolute name: name the object relative to the prefix';
  if (name.includes('\\')) return 'holds a backslash: segments are separated by "/"';
  if ([...name].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f))
    return 'holds a control character';
  const segments = name.split('/');
  if (segments.some((s) => s === '..' || s === '.'))
    return 'has a "." or ".." segment: it would leave the prefix';
  if (segments.some((s) => s === '')) return 'has an empty segment ("//", or a "/" at its end)';
  if (Buffer.byteLength(prefix === '' ? name : `${prefix}/${name}`) > MAX_KEY_BYTES)
    return `makes a key longer than S3's ${MAX_KEY_BYTES} bytes`;
  return null;
}

/** A dataset read while it was replaced: bad input, as the bytes opened are gone. */
export class ObjectChangedError extends DatasetFileError {}

export class ObjectDatasets implements DatasetSource {
  readonly url: string;
  private readonly client: S3Client;

  constructor(readonly location: S3Location) {
    this.url = locationUrl({ kind: 's3', ...location });
    this.client = createS3Client(location);
  }

  /** `name` checked to lie under the prefix; BadInputError naming it otherwise. */
  checkName(name: unknown): string {
    if (typeof name !== 'string' || name.trim() === '')
      throw new BadInputError(`"dataset" must name an object under ${this.url}, e.g. "complaints.json"`);
    const problem = nameProblem(name, this.location.prefix);
    if (problem !== null)
      throw new BadInputError(
        `"dataset" ${JSON.stringify(name)} ${problem}; datasets are objects under ${this.url}`,
      );
    return name;
  }

  objectUrl(name: string): string {
    return `${this.url}/${name}`;
  }

  private key(name: string): string {
    return this.location.prefix === '' ? name : `${this.location.prefix}/${name}`;
  }

  private where(): string {
    return this.location.endpoint === undefined ? this.url : `${this.url} at ${this.location.endpoint}`;
  }

  /** A failure of the server (not of the dataset) in words naming the object and the endpoint: retried. */
  failure(op: string, name: string, err: unknown): Error {
    const detail = err instanceof Error && err.message !== '' ? err.message : errorName(err);
    return new DataUnavailableError(`cannot ${op} the dataset ${name} in ${this.where()}: ${detail}`, {
      cause: err,
    });
  }

  /** The object's identity by HEAD, or undefined when there is none. */
  async head(name: string): Promise<ObjectIdentity | undefined> {
    try {
      const out = await this.client.send(
        new HeadObjectCommand({ Bucket: this.location.bucket, Key: this.key(name) }),
      );
      return {
        size: out.ContentLength ?? 0,
        etag: out.ETag ?? '',
        modifiedMs: (out.LastModified ?? new Date(0)).getTime(),
      };
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw this.failure('look up', name, err);
    }
  }

  /** A ranged GET of bytes [start, end] (inclusive), pinned to `etag`. */
  async get(name: string, etag: string, start: number, end: number): Promise<Readable> {
    const url = this.objectUrl(name);
    let out;
    try {
      out = await this.client.send(
        new GetObjectCommand({
          Bucket: this.location.bucket,
          Key: this.key(name),
          Range: `bytes=${start}-${end}`,
          ...(etag === '' ? {} : { IfMatch: etag }),
        }),
      );
    } catch (err) {
      if (isMissing(err))
        throw new ObjectChangedError(url, 'no such object: it was removed while it was read', err);
      if (
        httpStatus(err) === 412 ||
        errorName(err) === 'PreconditionFailed' ||
        errorName(err) === 'InvalidRange'
      )
        throw new ObjectChangedError(
          url,
          `the dataset changed while it was read: it is no longer ETag ${etag}`,
          err,
        );
      throw this.failure('read', name, err);
    }
    const body = out.Body as Readable;
    if (etag !== '' && out.ETag !== undefined && out.ETag !== etag) {
      body.destroy();
      throw new ObjectChangedError(url, `the dataset changed while it was read: ETag ${etag} → ${out.ETag}`);
    }
    return body;
  }

  async resolve(dataset: unknown): Promise<ResolvedDataset> {
    const name = this.checkName(dataset);
    if ((await this.head(name)) === undefined)
      throw new BadInputError(
        `"dataset" ${JSON.stringify(name)} does not exist: there is no object ${this.objectUrl(name)}`,
      );
    return { name, location: this.objectUrl(name) };
  }

  locate(name: string): string {
    return this.objectUrl(name);
  }

  /** The name of one of this source's locations (an object URL under the prefix). */
  private nameOf(location: string): string {
    if (!location.startsWith(`${this.url}/`))
      throw new BadInputError(`${location}: not an object under the data prefix ${this.url}`);
    return this.checkName(location.slice(this.url.length + 1));
  }

  async digest(location: string): Promise<FileDigest> {
    const name = this.nameOf(location);
    const now = await this.head(name);
    if (now === undefined) throw new DatasetFileError(location, 'no such object');
    return datasetDigests.digestKeyed(memoKey(location, now), () => this.hash(name));
  }

  /** Hash the object through one pinned open; remember the digest under the identity it had throughout. */
  private async hash(name: string): Promise<FileDigest> {
    for (let attempt = 1; ; attempt++) {
      const ds = await this.open(name);
      try {
        const digest = await hashFile(ds);
        datasetDigests.hashed++;
        const after = await ds.identify();
        if (after.key === memoKey(ds.path, ds.opened)) {
          datasetDigests.remember(after.key, digest);
          return digest;
        }
      } catch (err) {
        if (!(err instanceof ObjectChangedError)) throw err;
      }
      if (attempt >= HASH_ATTEMPTS)
        throw new BadInputError(
          `${this.objectUrl(name)}: the object changed each time it was read (${HASH_ATTEMPTS} times): submit it once it is written`,
        );
    }
  }

  async problem(location: string): Promise<string | null> {
    return (await this.head(this.nameOf(location))) === undefined ? 'no such object' : null;
  }

  async open(name: string): Promise<ObjectDatasetFile> {
    if (typeof name !== 'string' || name === '')
      throw new BadInputError(`the job names no dataset: "dataset" must name an object under ${this.url}`);
    this.checkName(name);
    const opened = await this.head(name);
    if (opened === undefined) throw new DatasetFileError(this.objectUrl(name), 'no such object');
    return new ObjectDatasetFile(this, name, opened);
  }
}

const memoKey = (url: string, id: ObjectIdentity) => JSON.stringify([url, id.etag, id.size, id.modifiedMs]);

function isMissing(err: unknown): boolean {
  const name = errorName(err);
  return name === 'NoSuchKey' || name === 'NotFound' || (httpStatus(err) === 404 && name !== 'NoSuchBucket');
}

/** An object opened as a dataset: reads pinned to the ETag it had when opened. */
export class ObjectDatasetFile implements DatasetFile {
  readonly path: string;
  readonly size: number;

  constructor(
    private readonly source: ObjectDatasets,
    private readonly name: string,
    /** the identity at open, which every read is pinned to */
    readonly opened: ObjectIdentity,
  ) {
    this.path = source.objectUrl(name);
    this.size = opened.size;
  }

  async read(buf: Buffer, position: number, length: number): Promise<number> {
    const end = Math.min(position + length, this.size);
    if (end <= position) return 0;
    let n = 0;
    for await (const piece of this.pieces({ start: position, end })) n += piece.copy(buf, n);
    return n;
  }

  async *pieces(opts: PieceOptions): AsyncGenerator<Buffer> {
    const start = opts.start ?? 0;
    const end = Math.min(opts.end ?? Infinity, this.size);
    const most = opts.highWaterMark ?? 1 << 20;
    if (end <= start) return;
    const body = await this.source.get(this.name, this.opened.etag, start, end - 1);
    // Only the bytes asked for, whatever the server sends (s3rver answers `bytes=0-0` with the whole object).
    let left = end - start;
    try {
      for await (const part of body) {
        const piece = (part as Buffer).subarray(0, left);
        left -= piece.length;
        for (let at = 0; at < piece.length; at += most)
          yield at === 0 && piece.length <= most ? piece : piece.subarray(at, at + most);
        if (left === 0) return;
      }
    } finally {
      body.destroy();
    }
    throw this.source.failure('read', this.name, new Error(`the answer ended ${left} bytes short`));
  }

  async identify(): Promise<{ identity: ObjectIdentity; key: string }> {
    const now = await this.source.head(this.name);
    if (now === undefined) throw new ObjectChangedError(this.path, 'no such object: it was removed');
    return { identity: now, key: memoKey(this.path, now) };
  }

  async close(): Promise<void> {}
}
