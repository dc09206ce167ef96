import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable, Transform } from 'node:stream';

/*
 * s3rver's FilesystemStore writes an object in place and its metadata in separate files afterwards, so a
 * GET racing an overwrite can read a half-written body, and its putObject resolves before the body is on
 * disk. Real S3 (and MinIO) replace an object atomically. This store keeps s3rver's on-disk layout but
 * writes each body to a temporary file, renames it over the old one, and serialises, per key, the rename
 * and metadata writes against the reads of stat, metadata and the opening of the body: a reader sees the
 * old object or the new one, whole. One s3rver is one process, so an in-process lock per key suffices.
 */

interface S3ObjectLike {
  bucket: string;
  key: string;
  content: Buffer | Readable;
  metadata: Record<string, unknown>;
}

interface FilesystemStoreBase {
  rootDirectory: string;
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
  getMetadata(bucket: string, key: string): Promise<Record<string, unknown>>;
  putMetadata(bucket: string, key: string, metadata: Record<string, unknown>, md5?: string): Promise<void>;
  getObject(bucket: string, key: string, options?: { start?: number; end?: number }): Promise<unknown>;
  putObject(object: S3ObjectLike): Promise<{ size: number; md5: string }>;
  copyObject(
    srcBucket: string,
    srcKey: string,
    destBucket: string,
    destKey: string,
    replacementMetadata?: Record<string, unknown>,
  ): Promise<Record<string, unknown>>;
  deleteObject(bucket: string, key: string): Promise<void>;
}
type FilesystemStoreClass = new (rootDirectory: string) => FilesystemStoreBase;

const FilesystemStore = require('s3rver/lib/stores/filesystem') as FilesystemStoreClass;
const base = FilesystemStore.prototype;

export class AtomicFilesystemStore extends FilesystemStore {
  private readonly locks = new Map<string, Promise<unknown>>();

  /** Run `fn` after every earlier holder of `bucket/key`'s lock. */
  private async locked<T>(bucket: string, key: string, fn: () => Promise<T>): Promise<T> {
    const name = `${bucket}/${key}`;
    const before = this.locks.get(name) ?? Promise.resolve();
    const result = before.then(fn, fn);
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    this.locks.set(name, settled);
    void settled.then(() => {
      if (this.locks.get(name) === settled) this.locks.delete(name);
    });
    return result;
  }

  override getMetadata(bucket: string, key: string): Promise<Record<string, unknown>> {
    return this.locked(bucket, key, () => base.getMetadata.call(this, bucket, key));
  }

  // FilesystemStore.getObject reads the metadata, then resolves once the body's file is open: an open file
  // keeps its content across a later rename, so holding the lock until then is enough.
  override getObject(
    bucket: string,
    key: string,
    options?: { start?: number; end?: number },
  ): Promise<unknown> {
    return this.locked(bucket, key, () => {
      const unlockedMetadata = (b: string, k: string) => base.getMetadata.call(this, b, k);
      return base.getObject.call(
        Object.assign(Object.create(this) as object, { getMetadata: unlockedMetadata }),
        bucket,
        key,
        options,
      );
    });
  }

  override async putObject(object: S3ObjectLike): Promise<{ size: number; md5: string }> {
    const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
    await fs.promises.mkdir(path.dirname(objectPath), { recursive: true });
    const temporary = `${objectPath}.upload-${crypto.randomUUID()}`;
    const md5 = crypto.createHash('md5');
    let size = 0;
    const source = Buffer.isBuffer(object.content) ? Readable.from([object.content]) : object.content;
    try {
      await pipeline(
        source,
        new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            md5.update(chunk);
            size += chunk.length;
            callback(null, chunk);
          },
        }),
        fs.createWriteStream(temporary),
      );
    } catch (err) {
      await fs.promises.rm(temporary, { force: true });
      throw err;
    }
    const digest = md5.digest('hex');
    await this.locked(object.bucket, object.key, async () => {
      await fs.promises.rename(temporary, objectPath);
      await base.putMetadata.call(this, object.bucket, object.key, object.metadata, digest);
    });
    return { size, md5: digest };
  }

  override async copyObject(
    srcBucket: string,
    srcKey: string,
    destBucket: string,
    destKey: string,
    replacementMetadata?: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    const srcPath = this.getResourcePath(srcBucket, srcKey, 'object');
    const destPath = this.getResourcePath(destBucket, destKey, 'object');
    if (srcPath === destPath) {
      if (replacementMetadata)
        await this.locked(destBucket, destKey, () =>
          base.putMetadata.call(this, destBucket, destKey, replacementMetadata),
        );
      return this.getMetadata(destBucket, destKey);
    }
    await fs.promises.mkdir(path.dirname(destPath), { recursive: true });
    const temporary = `${destPath}.upload-${crypto.randomUUID()}`;
    const metadata = await this.locked(srcBucket, srcKey, async () => {
      await fs.promises.copyFile(srcPath, temporary);
      return readStoredMetadata(this.getResourcePath(srcBucket, srcKey, 'metadata.json'));
    });
    const digest = await md5Of(temporary);
    await this.locked(destBucket, destKey, async () => {
      await fs.promises.rename(temporary, destPath);
      await base.putMetadata.call(this, destBucket, destKey, replacementMetadata ?? metadata, digest);
    });
    return this.getMetadata(destBucket, destKey);
  }

  override deleteObject(bucket: string, key: string): Promise<void> {
    return this.locked(bucket, key, () => base.deleteObject.call(this, bucket, key));
  }
}

async function readStoredMetadata(file: string): Promise<Record<string, unknown>> {
  try {
    return JSON.parse(await fs.promises.readFile(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
}

async function md5Of(file: string): Promise<string> {
  const hash = crypto.createHash('md5');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
