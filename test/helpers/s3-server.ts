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

/**
 * A real S3-protocol server (s3rver, its overwrites made atomic, listing and aborting multipart uploads
 * as S3 does) on 127.0.0.1, its objects in a temporary
 * folder, with `bucket` created. `stop` and `start` keep the port and the objects, for outage drills.
 */
export class S3Server {
  private server: S3rverInstance | undefined;
  port = 0;
  readonly dir = tempDir('s3rver');

  constructor(readonly bucket = 'ticketflow') {}

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The environment that points ticketflow at this server. */
  env(prefix = ''): Record<string, string> {
    return {
      ...S3RVER_CREDENTIALS,
      AWS_REGION: 'us-east-1',
      TICKETFLOW_S3_ENDPOINT: this.endpoint,
      TICKETFLOW_STORAGE_URL: `s3://${this.bucket}${prefix === '' ? '' : `/${prefix}`}`,
    };
  }

  async start(): Promise<this> {
    this.server = new S3rver({
      address: '127.0.0.1',
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
