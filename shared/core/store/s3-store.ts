import { PassThrough, Readable } from 'node:stream';
import { once } from 'node:events';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { StorageError } from '../errors';
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
import type { S3Location } from './store-location';

/** S3's smallest part of a multipart upload, but its last. */
const MIN_PART_BYTES = 5 * 1024 * 1024;
/** Multipart uploads send parts of this size; smaller objects go in one PUT. */
const PART_SIZE = 8 * 1024 * 1024;

/** S3 error names that retrying cannot fix. */
const PERMANENT: Readonly<Record<string, string>> = {
  AccessDenied: 'access denied: check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and the key policy',
  InvalidAccessKeyId: 'unknown access key: check AWS_ACCESS_KEY_ID',
  SignatureDoesNotMatch: 'wrong secret key: check AWS_SECRET_ACCESS_KEY',
  NoSuchBucket: 'no such bucket',
};

export function errorName(err: unknown): string {
  const e = err as { name?: unknown; Code?: unknown; code?: unknown } | null;
  return String(e?.Code ?? e?.name ?? e?.code ?? '');
}

// The SDK sends no Content-Length for an empty body, and then warns of "a Stream of unknown length".
function byteLength(data: string | Uint8Array): number {
  return typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
}

export function httpStatus(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
}

/** A client for the server, region and credentials of `location` (path-style for an explicit endpoint). */
export function createS3Client(location: S3Location): S3Client {
  return new S3Client({
    region: location.region,
    ...(location.endpoint === undefined ? {} : { endpoint: location.endpoint, forcePathStyle: true }),
    ...(location.credentials === undefined ? {} : { credentials: location.credentials }),
    // Checksums only where S3 requires them: S3-compatible servers do not all know the newer ones.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // One quick retry in the client; longer outages are the job's retries (attempts with backoff).
    maxAttempts: 2,
  });
}

/**
 * Artifacts as objects in an S3 bucket (or an S3-compatible server). A PUT and a completed multipart
 * upload are atomic by S3's own rules; an aborted upload is aborted on the server, leaving no parts.
 */
export class S3Store implements ArtifactStore {
  readonly url: string;
  private readonly client: S3Client;

  constructor(readonly location: S3Location) {
    this.url = `s3://${location.bucket}${location.prefix === '' ? '' : `/${location.prefix}`}`;
    this.client = createS3Client(location);
  }

  private objectKey(key: string): string {
    return this.location.prefix === '' ? key : `${this.location.prefix}/${key}`;
  }

  private where(): string {
    return this.location.endpoint === undefined ? this.url : `${this.url} at ${this.location.endpoint}`;
  }

  /** An S3 failure in words naming the store, the endpoint and the key; permanent ones as StorageError. */
  private failure(op: string, key: string, err: unknown): Error {
    const name = errorName(err);
    const words = PERMANENT[name] ?? (httpStatus(err) === 403 ? PERMANENT.AccessDenied : undefined);
    const detail = err instanceof Error && err.message !== '' ? err.message : name;
    const message = `cannot ${op} ${key} in ${this.where()}: ${words ?? detail}`;
    return words !== undefined
      ? new StorageError(message, name || 'AccessDenied', { cause: err })
      : new Error(message, { cause: err });
  }

  /** The answer to `request`, or its failure in words (failure) when S3 refuses it. */
  private sent<T>(request: Promise<T>, op: string, key: string): Promise<T> {
    return request.catch((err: unknown) => {
      throw this.failure(op, key, err);
    });
  }

  /** Drops the multipart upload `uploadId` of object `objectKey` (`key`); no error when it is gone. */
  private async abortUpload(objectKey: string, uploadId: string, key: string): Promise<void> {
    await this.client
      .send(
        new AbortMultipartUploadCommand({ Bucket: this.location.bucket, Key: objectKey, UploadId: uploadId }),
      )
      .catch((err: unknown) => {
        // Completed or aborted meanwhile: nothing is left to drop.
        if (errorName(err) !== 'NoSuchUpload') throw this.failure('abort the upload of', key, err);
      });
  }

  private isMissing(err: unknown): boolean {
    const name = errorName(err);
    return (
      name === 'NoSuchKey' || name === 'NotFound' || (httpStatus(err) === 404 && name !== 'NoSuchBucket')
    );
  }

  async put(key: string, data: string | Uint8Array): Promise<void> {
    const Key = this.objectKey(checkKey(key));
    await this.sent(
      this.client.send(
        new PutObjectCommand({
          Bucket: this.location.bucket,
          Key,
          Body: data,
          ContentLength: byteLength(data),
        }),
      ),
      'write',
      key,
    );
  }

  putJson(key: string, value: unknown): Promise<void> {
    return this.put(key, jsonBytes(value));
  }

  async get(key: string): Promise<Buffer> {
    const stream = await this.openRead(key);
    const parts: Buffer[] = [];
    for await (const part of stream) parts.push(part as Buffer);
    return Buffer.concat(parts);
  }

  async getJson<T>(key: string): Promise<T> {
    return JSON.parse((await this.get(key)).toString('utf8')) as T;
  }

  async stat(key: string): Promise<ArtifactStat | undefined> {
    const Key = this.objectKey(checkKey(key));
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.location.bucket, Key }));
      return {
        size: head.ContentLength ?? 0,
        tag: head.ETag ?? '',
        modifiedAt: head.LastModified ?? new Date(0),
      };
    } catch (err) {
      if (this.isMissing(err)) return undefined;
      throw this.failure('look up', key, err);
    }
  }

  async openRead(key: string, range?: ByteRange): Promise<Readable> {
    const Key = this.objectKey(checkKey(key));
    // An empty range (end before start) has no bytes; S3 would answer 416 rather than nothing.
    if (range !== undefined && range.end < range.start) {
      if ((await this.stat(key)) === undefined) throw new ArtifactNotFound(this.url, key);
      return Readable.from([]);
    }
    try {
      const out = await this.client.send(
        new GetObjectCommand({
          Bucket: this.location.bucket,
          Key,
          ...(range === undefined ? {} : { Range: `bytes=${range.start}-${range.end}` }),
        }),
      );
      return out.Body as Readable;
    } catch (err) {
      if (this.isMissing(err)) throw new ArtifactNotFound(this.url, key);
      throw this.failure('read', key, err);
    }
  }

  async getRange(key: string, range: ByteRange): Promise<Buffer> {
    const pieces: Buffer[] = [];
    for await (const piece of await this.openRead(key, range)) pieces.push(piece as Buffer);
    const out = Buffer.concat(pieces);
    const length = Math.max(0, range.end - range.start + 1);
    if (out.length !== length) throw shortRange(this.locate(key), range, out.length);
    return out;
  }

  async openWriter(key: string): Promise<ArtifactWriter> {
    const Key = this.objectKey(checkKey(key));
    const body = new PassThrough();
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.location.bucket, Key, Body: body },
      partSize: PART_SIZE,
      queueSize: 2,
      leavePartsOnError: false,
    });
    let failure: Error | undefined;
    const done = upload.done().then(
      () => undefined,
      (err: unknown) => {
        failure ??= this.failure('write', key, err);
        body.destroy();
      },
    );
    let aborted = false;
    const write = async (chunk: string | Uint8Array): Promise<void> => {
      if (failure !== undefined) throw failure;
      if (!body.write(chunk)) await Promise.race([once(body, 'drain'), done]);
      if (failure !== undefined) throw failure;
    };
    return {
      write,
      async commit() {
        if (failure !== undefined) throw failure;
        body.end();
        await done;
        if (failure !== undefined) throw failure;
      },
      async abort() {
        if (aborted) return;
        aborted = true;
        failure ??= new Error(`upload of ${key} aborted`);
        // Upload.abort aborts the multipart upload on the server (its parts go); a single PUT not yet
        // sent is never sent.
        await upload.abort().catch(() => undefined);
        body.destroy();
        await done;
      },
    };
  }

  /**
   * A multipart upload whose parts any process uploads: piece i is part i + 1, and completing lists the
   * parts' ETags (the receipts). An upload cut short is left for removeAbandonedWrites, as openWriter's.
   */
  readonly placed: PlacedWrites = {
    minPieceBytes: MIN_PART_BYTES,
    start: async (key) => {
      const out = await this.sent(
        this.client.send(
          new CreateMultipartUploadCommand({
            Bucket: this.location.bucket,
            Key: this.objectKey(checkKey(key)),
          }),
        ),
        'write',
        key,
      );
      if (out.UploadId === undefined)
        throw this.failure('write', key, new Error('no upload id in the answer'));
      return out.UploadId;
    },
    write: async (key, upload, { index }, data) => {
      const out = await this.sent(
        this.client.send(
          new UploadPartCommand({
            Bucket: this.location.bucket,
            Key: this.objectKey(checkKey(key)),
            UploadId: upload,
            PartNumber: index + 1,
            Body: data,
            ContentLength: data.byteLength,
          }),
        ),
        'write',
        key,
      );
      if (out.ETag === undefined)
        throw this.failure('write', key, new Error(`no ETag for part ${index + 1}`));
      return out.ETag;
    },
    complete: async (key, upload, receipts) => {
      await this.sent(
        this.client.send(
          new CompleteMultipartUploadCommand({
            Bucket: this.location.bucket,
            Key: this.objectKey(checkKey(key)),
            UploadId: upload,
            MultipartUpload: { Parts: receipts.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
          }),
        ),
        'write',
        key,
      );
    },
    abort: (key, upload) => this.abortUpload(this.objectKey(checkKey(key)), upload, key),
  };

  async list(prefix: string): Promise<ArtifactEntry[]> {
    checkKey(prefix, 'prefix');
    const base = this.objectKey('');
    const found: ArtifactEntry[] = [];
    let token: string | undefined;
    do {
      const page = await this.sent(
        this.client.send(
          new ListObjectsV2Command({
            Bucket: this.location.bucket,
            Prefix: this.objectKey(prefix),
            ContinuationToken: token,
          }),
        ),
        'list',
        prefix,
      );
      for (const o of page.Contents ?? []) {
        const key = (o.Key ?? '').slice(base.length);
        if (key === '' || key.split('/').some((s) => s.startsWith('.') || s === '')) continue;
        found.push({ key, size: o.Size ?? 0 });
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async remove(key: string): Promise<void> {
    const Key = this.objectKey(checkKey(key));
    await this.client
      .send(new DeleteObjectCommand({ Bucket: this.location.bucket, Key }))
      .catch((err: unknown) => {
        if (!this.isMissing(err)) throw this.failure('remove', key, err);
      });
  }

  async removePrefix(prefix: string): Promise<void> {
    const keys = (await this.list(prefix)).map((e) => e.key);
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      const out = await this.sent(
        this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.location.bucket,
            Delete: { Objects: batch.map((k) => ({ Key: this.objectKey(k) })), Quiet: true },
          }),
        ),
        'remove',
        prefix,
      );
      const failed = out.Errors ?? [];
      if (failed.length > 0)
        throw this.failure('remove', failed[0]!.Key ?? prefix, {
          name: failed[0]!.Code,
          message: failed[0]!.Message,
        });
    }
  }

  async removeAbandonedWrites(prefix: string): Promise<number> {
    const Prefix = this.objectKey(checkKey(prefix, 'prefix'));
    const Bucket = this.location.bucket;
    let aborted = 0;
    let KeyMarker: string | undefined;
    let UploadIdMarker: string | undefined;
    for (;;) {
      const page = await this.sent(
        this.client.send(new ListMultipartUploadsCommand({ Bucket, Prefix, KeyMarker, UploadIdMarker })),
        'list incomplete uploads under',
        prefix,
      );
      for (const upload of page.Uploads ?? []) {
        if (upload.Key === undefined || upload.UploadId === undefined) continue;
        await this.abortUpload(upload.Key, upload.UploadId, upload.Key);
        aborted++;
      }
      if (page.IsTruncated !== true) return aborted;
      KeyMarker = page.NextKeyMarker;
      UploadIdMarker = page.NextUploadIdMarker;
    }
  }

  async copy(from: string, to: string): Promise<void> {
    const source = this.objectKey(checkKey(from));
    const Key = this.objectKey(checkKey(to));
    await this.client
      .send(
        new CopyObjectCommand({
          Bucket: this.location.bucket,
          Key,
          // Keys are letters, digits and "_-.=/" (checkKey): nothing to escape.
          CopySource: `${this.location.bucket}/${source}`,
        }),
      )
      .catch((err: unknown) => {
        if (this.isMissing(err)) throw new ArtifactNotFound(this.url, from);
        throw this.failure('copy', `${from} to ${to}`, err);
      });
  }

  locate(key: string): string {
    return `${this.url}/${checkKey(key, 'prefix')}`;
  }

  async check(): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.location.bucket })).catch((err: unknown) => {
      const e = httpStatus(err) === 404 ? { name: 'NoSuchBucket', message: 'no such bucket' } : err;
      throw this.failure('reach', 'the bucket', e);
    });
    const probe = this.objectKey(`.probe-${process.pid}`);
    await this.sent(
      this.client.send(
        new PutObjectCommand({ Bucket: this.location.bucket, Key: probe, Body: '', ContentLength: 0 }),
      ),
      'write',
      'a probe object',
    );
    await this.sent(
      this.client.send(new DeleteObjectCommand({ Bucket: this.location.bucket, Key: probe })),
      'remove',
      'a probe object',
    );
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
