import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { freePort } from '../../shared/runtime/redis/local-redis';
import { s3rverEnv } from '../../test/helpers/s3-server';
import { cpuSecondsOf } from './process-cpu';

const BUCKET = 'bench';
const SERVER = path.resolve(__dirname, '..', 'demo', 's3-server.js');

export interface S3ServerProcess {
  endpoint: string;
  pid: number;
  /** The environment that points ticketflow at the server's bucket, under `prefix`. */
  env(prefix: string): Record<string, string>;
  /** CPU seconds the server has used (user + system, from /proc), or null where /proc is not there. */
  cpuSeconds(): number | null;
  close(): Promise<void>;
}

/**
 * The demo's S3 server (s3rver) in a process of its own on 127.0.0.1, its objects in `dir`, with bucket
 * "bench": a server that shares no event loop with the process that measures, as a real one would not.
 */
export async function startS3Server(dir: string): Promise<S3ServerProcess> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [SERVER, '--address', '127.0.0.1', '--port', String(port), '--dir', dir, '--bucket', BUCKET],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).once('line', () => resolve());
    child.once('exit', (code) => reject(new Error(`the S3 server exited (${code}) before it listened`)));
  });
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    pid: child.pid!,
    env: (prefix) => s3rverEnv(endpoint, BUCKET, prefix),
    cpuSeconds: () => cpuSecondsOf(child.pid!),
    async close() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
