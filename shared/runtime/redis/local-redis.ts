import { spawn, ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { stopChild } from '../../core/stop-child';
import { redisReachable } from '../flow/connection';
import { durableRedisStart, LOCAL_REDIS_HOSTS, NO_REDIS_SERVER, redisServerBinary } from './durable-redis';

export { durableRedisStart, durableRedisStatus, durableRedisStop } from './durable-redis';
export type { DurableRedisStartResult, DurableRedisStatus, DurableRedisStopResult } from './durable-redis';

export interface LocalRedis {
  url: string;
  /** true when this call started the server */
  started: boolean;
  /**
   * true when this call started the durable server (mode 'at-url'): it belongs to no process, keeps its data
   * in an append-only file, and `stop` leaves it running (`ticketflow redis stop` stops it).
   * false for a private server (stopped by `stop`) and for a Redis that already answered.
   */
  durable: boolean;
  /** Stops a private server this call started; a no-op otherwise. */
  stop(): Promise<void>;
}

export interface EnsureRedisOptions {
  /** the configured REDIS_URL */
  url: string;
  /** folder for a started server's log and files (TICKETFLOW_REDIS_DIR) */
  dir: string;
  /**
   * 'private': start a non-persistent redis-server on a free port, as a child of this process, stopped by
   * `stop` (the CLI's self-contained mode and the tests: nobody else needs to find it);
   * 'at-url': start the durable server on the configured URL's port (serve, worker): daemonized, with an
   * append-only file in `dir`, outliving this process, so other processes using the same URL find it.
   */
  mode: 'private' | 'at-url';
}

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

/**
 * Start a private redis-server on `port` in the foreground of a child process (no persistence); resolves once
 * it answers PING. `stop` ends it.
 */
export async function startRedisServer(port: number, dir: string): Promise<LocalRedis> {
  const binary = redisServerBinary();
  if (!binary) {
    throw new Error(NO_REDIS_SERVER);
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
    // Its own process group: a terminal's Ctrl-C goes to the command that started it, which still needs
    // Redis to cancel its run, and stops the server itself afterwards.
    { stdio: 'ignore', detached: true },
  );
  let exited = false;
  child.on('exit', () => (exited = true));
  for (let i = 0; i < 100 && !exited; i++) {
    if (await redisReachable(url, 200)) {
      return {
        url,
        started: true,
        durable: false,
        stop: () => stopChild(child, 5000),
      };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server did not start on port ${port}: see ${path.join(dir, `redis-${port}.log`)}`);
}

/**
 * Use the Redis at `url` when it answers; otherwise, when the URL is on this machine, start one: a private
 * one on a free port (mode 'private') or the durable one on the URL's port (mode 'at-url').
 * A Redis URL on another host that does not answer is an error: we cannot start that one.
 */
export async function ensureRedis(opts: EnsureRedisOptions): Promise<LocalRedis> {
  const existing: LocalRedis = { url: opts.url, started: false, durable: false, stop: async () => undefined };
  if (await redisReachable(opts.url)) return existing;
  const parsed = new URL(opts.url);
  if (!LOCAL_REDIS_HOSTS.has(parsed.hostname)) {
    throw new Error(
      `Redis at ${opts.url} does not answer: start it, or fix REDIS_URL ` +
        `(ticketflow starts a Redis itself only on a local address: 127.0.0.1, localhost, ::1)`,
    );
  }
  if (opts.mode === 'private') return startRedisServer(await freePort(), opts.dir);
  // Concurrent starters (other processes too) end up with one server; a Redis that another process started
  // meanwhile is used as it is.
  const durable = await durableRedisStart(opts.url, opts.dir);
  return { url: opts.url, started: durable.started, durable: durable.started, stop: async () => undefined };
}
