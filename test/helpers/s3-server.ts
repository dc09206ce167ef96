import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tempDir } from './env';
import { AtomicFilesystemStore } from './s3rver-atomic-store';
import { serveMultipartUploads } from './s3rver-multipart';

// s3rver ships no types: the part of its API the tests use.
interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  store: unknown;
  context: { store: unknown };
  httpServer?: { closeAllConnections(): void };
  middleware: unknown[];
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance;
const S3rver = require('s3rver') as S3rverClass;

/** s3rver's one account: any other key is refused (InvalidAccessKeyId). */
export const S3RVER_CREDENTIALS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' };

/** The environment that points ticketflow's artifact store at `bucket` (under `prefix`) of an s3rver. */
export function s3rverEnv(endpoint: string, bucket: string, prefix = ''): Record<string, string> {
  return {
    ...S3RVER_CREDENTIALS,
    AWS_REGION: 'us-east-1',
    TICKETFLOW_S3_ENDPOINT: endpoint,
    TICKETFLOW_STORAGE_URL: `s3://${bucket}${prefix === '' ? '' : `/${prefix}`}`,
  };
}

/** Where an S3Server listens and keeps its objects; each defaults as the tests want it. */
export interface S3ServerPlace {
  /** @defaultValue '127.0.0.1' */
  address?: string;
  /** @defaultValue 0: a free port, kept across `stop` and `start` */
  port?: number;
  /** @defaultValue a new temporary folder */
  dir?: string;
}

/**
 * A real S3-protocol server (s3rver, its overwrites made atomic, listing and aborting multipart uploads
 * as S3 does) on 127.0.0.1, its objects in a temporary folder (or where `place` says), with `bucket`
 * created. `stop` and `start` keep the port and the objects, for outage drills.
 */
export class S3Server {
  private server: S3rverInstance | undefined;
  readonly address: string;
  port: number;
  readonly dir: string;

  constructor(
    readonly bucket = 'ticketflow',
    place: S3ServerPlace = {},
  ) {
    this.address = place.address ?? '127.0.0.1';
    this.port = place.port ?? 0;
    this.dir = place.dir ?? tempDir('s3rver');
  }

  get endpoint(): string {
    return `http://${this.address}:${this.port}`;
  }

  /** The environment that points ticketflow at this server. */
  env(prefix = ''): Record<string, string> {
    return s3rverEnv(this.endpoint, this.bucket, prefix);
  }

  async start(): Promise<this> {
    this.server = new S3rver({
      address: this.address,
      port: this.port,
      silent: true,
      directory: this.dir,
      configureBuckets: [{ name: this.bucket }],
    });
    // Objects are replaced atomically, as on S3: see AtomicFilesystemStore.
    this.server.store = this.server.context.store = new AtomicFilesystemStore(this.dir);
    serveMultipartUploads(this.server);
    this.port = (await this.server.run()).port;
    return this;
  }

  /** Stop at once, as a crashed server would: open connections are cut, not drained. */
  async stop(): Promise<void> {
    const closing = this.server?.close();
    this.server?.httpServer?.closeAllConnections();
    await closing;
    this.server = undefined;
  }

  async close(): Promise<void> {
    await this.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
