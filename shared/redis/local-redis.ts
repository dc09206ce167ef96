import { spawn, ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { redisReachable } from '../flow/connection';

export interface LocalRedis {
  url: string;
  /** true when this process started the server (and `stop` shuts it down) */
  started: boolean;
  stop(): Promise<void>;
}

export interface EnsureRedisOptions {
  /** the configured REDIS_URL */
  url: string;
  /** folder for a started server's log and files */
  dir: string;
  /**
   * 'private': start on a free port (the CLI and the tests: nobody else needs to find it);
   * 'at-url': start on the configured URL's port, so other processes using the same URL find it.
   */
  mode: 'private' | 'at-url';
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function redisServerBinary(): string | null {
  for (const dir of (process.env.PATH ?? '')
    .split(path.delimiter)
    .concat(['/usr/bin', '/usr/sbin', '/usr/local/bin'])) {
    const candidate = path.join(dir, 'redis-server');
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      /* try the next folder */
    }
  }
  return null;
}

/** Start redis-server on `port` in the foreground of a child process; resolves once it answers PING. */
export async function startRedisServer(port: number, dir: string): Promise<LocalRedis> {
  const binary = redisServerBinary();
  if (!binary) {
    throw new Error(
      'no Redis is reachable and redis-server is not installed: run `npm run setup` as root (it installs it with apt), ' +
        'install it yourself (apt-get install redis-server), or point REDIS_URL at a running Redis',
    );
  }
  fs.mkdirSync(dir, { recursive: true });
  const url = `redis://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    binary,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
      // BullMQ needs every key kept: eviction would silently drop jobs.
      '--maxmemory-policy',
      'noeviction',
      '--logfile',
      path.join(dir, `redis-${port}.log`),
    ],
    { stdio: 'ignore' },
  );
  let exited = false;
  child.on('exit', () => (exited = true));
  for (let i = 0; i < 100 && !exited; i++) {
    if (await redisReachable(url, 200)) {
      return {
        url,
        started: true,
        stop: async () => {
          if (exited) return;
          const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
          child.kill('SIGTERM');
          await Promise.race([done, new Promise((r) => setTimeout(r, 5000).unref())]);
          if (!exited) child.kill('SIGKILL');
        },
      };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server did not start on port ${port}: see ${path.join(dir, `redis-${port}.log`)}`);
}

/**
 * Use the Redis at `url` when it answers; otherwise, when the URL is on this machine, start one.
 * A Redis URL on another host that does not answer is an error: we cannot start that one.
 */
export async function ensureRedis(opts: EnsureRedisOptions): Promise<LocalRedis> {
  if (await redisReachable(opts.url)) return { url: opts.url, started: false, stop: async () => undefined };
  const parsed = new URL(opts.url);
  if (!LOOPBACK.has(parsed.hostname)) {
    throw new Error(`Redis at ${opts.url} does not answer: start it, or fix REDIS_URL`);
  }
  if (opts.mode === 'private') return startRedisServer(await freePort(), opts.dir);
  const port = Number(parsed.port || 6379);
  try {
    return await startRedisServer(port, opts.dir);
  } catch (err) {
    // Another process may have started it at the same moment.
    if (await redisReachable(opts.url)) return { url: opts.url, started: false, stop: async () => undefined };
    throw err;
  }
}
