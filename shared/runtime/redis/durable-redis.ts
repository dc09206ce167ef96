/**
 * The durable Redis: a daemonized redis-server that ticketflow starts on REDIS_URL's port (serve, worker,
 * `ticketflow redis start`). It belongs to no process of ours: it keeps running when the process that started
 * it exits, and keeps its data in an append-only file (fsync every second) under TICKETFLOW_REDIS_DIR, so
 * queues and job state survive restarts of ticketflow and of Redis itself. `durableRedisStop` shuts it
 * down cleanly (SHUTDOWN fsyncs the AOF); `durableRedisStatus` reports on it.
 *
 * Files in `dir`, for a server on port P: `redis-P.pid` (written by Redis once it listens, removed on clean
 * shutdown), `redis-P.log`, `appendonlydir-P/` (the AOF), and `redis-P.start.lock` while a process starts it.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import IORedis, { Redis } from 'ioredis';
import { logLost } from '../../core/logger';

/** Hosts of a REDIS_URL that name this machine: only there does ticketflow start a Redis itself. */
export const LOCAL_REDIS_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** How long `durableRedisStop` waits for the port to stop answering after SHUTDOWN. */
const STOP_TIMEOUT_MS = 10_000;
/** How long `durableRedisStart` waits for a server to answer (a server loading a big AOF may take longer). */
const START_TIMEOUT_MS = 10_000;
const LOADING_TIMEOUT_MS = 120_000;
/** A start lock older than this is stale even when its holder still runs (that start gave up long ago). */
const LOCK_STALE_MS = 3 * 60_000;

export const NO_REDIS_SERVER =
  'no Redis is reachable and redis-server is not installed: run `npm run setup` as root (it installs it with apt), ' +
  'install it yourself (apt-get install redis-server), or point REDIS_URL at a running Redis';

export function redisServerBinary(): string | null {
  for (const dir of (process.env.PATH ?? '')
    .split(path.delimiter)
    .concat(['/usr/bin', '/usr/sbin', '/usr/local/bin'])) {
    if (!dir) continue;
    const candidate = path.join(dir, 'redis-server');
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      /* not there or not executable: the answer for this folder, try the next */
    }
  }
  return null;
}

/** The server's address and its files in `dir`. */
export interface DurableRedisTarget {
  /** REDIS_URL with any password replaced by `***` (for messages) */
  url: string;
  host: string;
  port: number;
  /** TICKETFLOW_REDIS_DIR, absolute */
  redisDir: string;
  pidfile: string;
  logfile: string;
  /** the append-only files' folder, inside `redisDir` */
  aofDir: string;
  local: boolean;
}

function durableRedisTarget(url: string, dir: string): DurableRedisTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`REDIS_URL must look like redis://host:port[/db], got "${url}"`);
  }
  const port = Number(parsed.port || 6379);
  const redisDir = path.resolve(dir);
  const shown = new URL(url);
  if (shown.password) shown.password = '***';
  return {
    url: shown.toString(),
    host: parsed.hostname,
    port,
    redisDir,
    pidfile: path.join(redisDir, `redis-${port}.pid`),
    logfile: path.join(redisDir, `redis-${port}.log`),
    aofDir: path.join(redisDir, aofDirName(port)),
    local: LOCAL_REDIS_HOSTS.has(parsed.hostname),
  };
}

/** One AOF folder per port, so servers on two ports may share TICKETFLOW_REDIS_DIR. */
function aofDirName(port: number): string {
  return `appendonlydir-${port}`;
}

function requireLocal(t: DurableRedisTarget, action: 'start' | 'stop'): void {
  if (t.local) return;
  throw new Error(
    `REDIS_URL ${t.url} names host "${t.host}", not this machine: ticketflow can only ${action} a Redis on a ` +
      `local address (127.0.0.1, localhost, ::1). ${action === 'start' ? 'Start' : 'Stop'} that Redis where ` +
      `it runs, or set REDIS_URL to redis://127.0.0.1:<port>`,
  );
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** 'down': nothing accepts a Redis connection; 'loading': a Redis answers but is still loading its data. */
type Probe = 'down' | 'loading' | 'up';

function client(url: string, timeoutMs: number): Redis {
  const c = new IORedis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    enableReadyCheck: false,
  });
  // Nothing is lost: a failed connect or command rejects, and the probe reads that as the answer.
  c.on('error', () => undefined);
  return c;
}

async function probe(url: string, timeoutMs = 1000): Promise<Probe> {
  const c = client(url, timeoutMs);
  try {
    await c.connect();
  } catch {
    return 'down';
  }
  try {
    return (await c.ping()) === 'PONG' ? 'up' : 'down';
  } catch (err) {
    const message = (err as Error).message;
    if (/^LOADING/.test(message)) return 'loading';
    // A Redis error reply (auth, ...) still means a Redis answers on the port.
    return (err as Error).name === 'ReplyError' ? 'up' : 'down';
  } finally {
    c.disconnect();
  }
}

/** Wait until a Redis is up at `url`: true, or false when none answered by `deadline`. */
async function waitUntilUp(url: string, deadline: number): Promise<boolean> {
  let loadingDeadline = deadline;
  for (;;) {
    const state = await probe(url, 500);
    if (state === 'up') return true;
    if (state === 'loading') loadingDeadline = Math.max(loadingDeadline, Date.now() + LOADING_TIMEOUT_MS);
    if (Date.now() > (state === 'loading' ? loadingDeadline : deadline)) return false;
    await sleep(50);
  }
}

/** True when `pid` is a running process (a zombie, waiting for a parent that will not reap it, is not). */
export function pidAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && fs.existsSync('/proc/self/stat')) return false;
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid written in `pidfile`, or null when there is none (or it is not a number). */
export function readPidfile(pidfile: string): number | null {
  try {
    const pid = Number(fs.readFileSync(pidfile, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function logTail(logfile: string, lines = 5): string {
  try {
    const text = fs.readFileSync(logfile, 'utf8').trimEnd().split('\n');
    return text.slice(-lines).join('\n');
  } catch {
    return '';
  }
}

function parseInfo(info: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of info.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return out;
}

async function configGet(c: Redis, name: string): Promise<string | null> {
  try {
    const reply = (await c.call('CONFIG', 'GET', name)) as unknown;
    if (Array.isArray(reply) && reply.length >= 2) return String(reply[1]);
    return null;
  } catch {
    return null;
  }
}

async function serverPid(url: string): Promise<number | null> {
  const c = client(url, 1000);
  try {
    await c.connect();
    const pid = Number(parseInfo(await c.info('server')).process_id);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  } finally {
    c.disconnect();
  }
}

// ---------------------------------------------------------------------------------------------------------
// start

export interface DurableRedisStartResult {
  url: string;
  port: number;
  redisDir: string;
  pidfile: string;
  logfile: string;
  aofDir: string;
  /** true when this call started the server; false when a Redis already answered at the URL */
  started: boolean;
  /** the server's process id (from the pidfile, else as the server reports it), when known */
  pid: number | null;
}

/** Take the start lock (`wx`: one holder across processes); false when a live process holds it. */
function tryLock(lock: string): boolean {
  try {
    fs.writeFileSync(lock, `${process.pid}\n`, { flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const holder = readPidfile(lock);
  let age = 0;
  try {
    age = Date.now() - fs.statSync(lock).mtimeMs;
  } catch {
    return false; // released meanwhile: try again on the next round
  }
  if (holder !== null && holder !== process.pid && pidAlive(holder) && age < LOCK_STALE_MS) return false;
  fs.rmSync(lock, { force: true }); // stale: its holder is gone
  return false;
}

function releaseLock(lock: string): void {
  if (readPidfile(lock) === process.pid) fs.rmSync(lock, { force: true });
}

function launch(binary: string, args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    // redis-server forks the daemon (which calls setsid and leaves our session) and exits.
    const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stderr }));
  });
}

function daemonArgs(t: DurableRedisTarget): string[] {
  const bind = t.host === '::1' || t.host === '[::1]' ? ['127.0.0.1', '::1'] : ['127.0.0.1'];
  return [
    '--port',
    String(t.port),
    '--bind',
    ...bind,
    '--daemonize',
    'yes',
    '--pidfile',
    t.pidfile,
    '--logfile',
    t.logfile,
    '--dir',
    t.redisDir,
    '--appendonly',
    'yes',
    '--appendfsync',
    'everysec',
    '--appenddirname',
    aofDirName(t.port),
    '--save',
    '',
    // BullMQ needs every key kept: eviction would silently drop jobs.
    '--maxmemory-policy',
    'noeviction',
  ];
}

/**
 * Start the durable Redis on `url`'s port (a local address only), unless one already answers there.
 * Concurrent callers (other processes too) end up with one server: a lock file in `dir` lets one of them
 * start it while the others wait for it to answer.
 */
export async function durableRedisStart(url: string, dir: string): Promise<DurableRedisStartResult> {
  const t = durableRedisTarget(url, dir);
  requireLocal(t, 'start');
  const result = async (started: boolean): Promise<DurableRedisStartResult> => ({
    url: t.url,
    port: t.port,
    redisDir: t.redisDir,
    pidfile: t.pidfile,
    logfile: t.logfile,
    aofDir: t.aofDir,
    started,
    pid: (await serverPid(url)) ?? readPidfile(t.pidfile),
  });
  const deadline = Date.now() + START_TIMEOUT_MS;
  fs.mkdirSync(t.redisDir, { recursive: true });
  const lock = path.join(t.redisDir, `redis-${t.port}.start.lock`);
  for (;;) {
    const state = await probe(url);
    if (state !== 'down') {
      if (await waitUntilUp(url, deadline)) return result(false);
      throw new Error(`a Redis at ${t.url} answers but did not become ready: see ${t.logfile}`);
    }
    if (tryLock(lock)) {
      try {
        // Another process may have started it between our probe and our lock.
        if ((await probe(url)) !== 'down') continue;
        await spawnDaemon(t, url, deadline);
        return await result(true);
      } catch (err) {
        // A process with another TICKETFLOW_REDIS_DIR (another lock) may have started one at the same moment.
        if (await waitUntilUp(url, Date.now() + 1000)) return await result(false);
        throw err;
      } finally {
        releaseLock(lock);
      }
    }
    if (Date.now() > deadline) {
      throw new Error(
        `no Redis answers at ${t.url} and another process has been starting one for ${START_TIMEOUT_MS / 1000} s ` +
          `(${lock}); see ${t.logfile}`,
      );
    }
    await sleep(100);
  }
}

async function spawnDaemon(t: DurableRedisTarget, url: string, deadline: number): Promise<void> {
  const binary = redisServerBinary();
  if (!binary) throw new Error(NO_REDIS_SERVER);
  const { code, stderr } = await launch(binary, daemonArgs(t));
  if (code !== 0) {
    throw new Error(
      `redis-server could not start on port ${t.port} (exit status ${code}): ` +
        `${(stderr.trim() || logTail(t.logfile)).replace(/\s+/g, ' ')}`,
    );
  }
  if (!(await waitUntilUp(url, deadline))) {
    throw new Error(
      `redis-server did not answer on port ${t.port} within ${START_TIMEOUT_MS / 1000} s: see ${t.logfile}` +
        (logTail(t.logfile, 3) ? `\n${logTail(t.logfile, 3)}` : ''),
    );
  }
}

// ---------------------------------------------------------------------------------------------------------
// stop

export interface DurableRedisStopResult {
  url: string;
  port: number;
  redisDir: string;
  pidfile: string;
  /** false when no Redis answered at the URL to begin with (nothing was stopped) */
  wasRunning: boolean;
  /** true when this call shut the server down */
  stopped: boolean;
  pid: number | null;
  seconds: number;
  message: string;
}

/**
 * Shut down the durable Redis at `url` with SHUTDOWN (Redis fsyncs its AOF first) and wait until its port
 * no longer answers (at most STOP_TIMEOUT_MS). Only a server tied to the pidfile in `dir` is stopped: one
 * that reports another process id (another Redis on that port) is left alone, with an error.
 */
export async function durableRedisStop(url: string, dir: string): Promise<DurableRedisStopResult> {
  const t = durableRedisTarget(url, dir);
  requireLocal(t, 'stop');
  const started = performance.now();
  const filePid = readPidfile(t.pidfile);
  const base = { url: t.url, port: t.port, redisDir: t.redisDir, pidfile: t.pidfile };
  const seconds = () => Math.round(performance.now() - started) / 1000;
  if ((await probe(url)) === 'down') {
    const lingering = filePid !== null && pidAlive(filePid);
    return {
      ...base,
      wasRunning: false,
      stopped: false,
      pid: lingering ? filePid : null,
      seconds: seconds(),
      message:
        `no Redis answers at ${t.url}: nothing to stop` +
        (lingering ? ` (but ${t.pidfile} names pid ${filePid}, which still runs: see ${t.logfile})` : ''),
    };
  }
  const pid = await serverPid(url);
  if (pid === null || pid !== filePid) {
    throw new Error(
      `the Redis at ${t.url} (${pid === null ? 'process id unknown' : `pid ${pid}`}) was not started by ticketflow ` +
        `with TICKETFLOW_REDIS_DIR=${t.redisDir} (${filePid === null ? 'no pidfile there' : `its pidfile names pid ${filePid}`}): ` +
        `not stopping it. Stop it the way it was started, or set TICKETFLOW_REDIS_DIR to the folder it was started with`,
    );
  }
  const c = client(url, 2000);
  let refused: string | null = null;
  try {
    await c.connect();
    await c.call('SHUTDOWN');
  } catch (err) {
    // The server closes the connection as it exits: that is the expected "error". A reply is a refusal.
    if ((err as Error).name === 'ReplyError') refused = (err as Error).message;
  } finally {
    c.disconnect();
  }
  if (refused !== null) {
    // SHUTDOWN renamed or refused: SIGTERM makes Redis run the same clean shutdown. The pid is tied above.
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      /* ESRCH: it exited meanwhile, which is all SIGTERM was for */
    }
  }
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while ((await probe(url, 500)) !== 'down') {
    if (Date.now() > deadline) {
      throw new Error(
        `the Redis at ${t.url} (pid ${pid}) still answers ${STOP_TIMEOUT_MS / 1000} s after SHUTDOWN` +
          `${refused ? ` (${refused})` : ''}: see ${t.logfile}`,
      );
    }
    await sleep(50);
  }
  // The port closes last in Redis's shutdown (after the AOF fsync); give the process a moment to exit.
  while (pidAlive(pid) && Date.now() < deadline) await sleep(20);
  return {
    ...base,
    wasRunning: true,
    stopped: true,
    pid,
    seconds: seconds(),
    message: `stopped the Redis at ${t.url} (pid ${pid}); its data stays in ${t.aofDir}`,
  };
}

// ---------------------------------------------------------------------------------------------------------
// status

export interface DurableRedisStatus {
  url: string;
  host: string;
  port: number;
  /** REDIS_URL names this machine (ticketflow can start and stop a Redis there) */
  local: boolean;
  /** TICKETFLOW_REDIS_DIR: where ticketflow keeps a durable server's pidfile, log and AOF */
  redisDir: string;
  pidfile: string;
  logfile: string;
  /** a Redis answers at the URL */
  reachable: boolean;
  /** it answers but is still loading its data */
  loading: boolean;
  /** the pid in the pidfile, when that process runs */
  pid: number | null;
  /** the process id the answering server reports (INFO server) */
  serverPid: number | null;
  /** the answering server is the one whose pidfile is in redisDir */
  startedByTicketflow: boolean;
  version: string | null;
  /** persistence, as the server reports it (CONFIG GET) */
  appendonly: string | null;
  appendfsync: string | null;
  /** the server's working folder (CONFIG GET dir): its AOF is under it */
  dir: string | null;
  usedMemoryBytes: number | null;
  usedMemoryHuman: string | null;
  /** DBSIZE of the URL's database */
  keys: number | null;
  uptimeSeconds: number | null;
}

/** Report on the Redis at `url` and on ticketflow's files for it in `dir`. Read-only; any host. */
export async function durableRedisStatus(url: string, dir: string): Promise<DurableRedisStatus> {
  const t = durableRedisTarget(url, dir);
  const filePid = readPidfile(t.pidfile);
  const status: DurableRedisStatus = {
    url: t.url,
    host: t.host,
    port: t.port,
    local: t.local,
    redisDir: t.redisDir,
    pidfile: t.pidfile,
    logfile: t.logfile,
    reachable: false,
    loading: false,
    pid: filePid !== null && t.local && pidAlive(filePid) ? filePid : null,
    serverPid: null,
    startedByTicketflow: false,
    version: null,
    appendonly: null,
    appendfsync: null,
    dir: null,
    usedMemoryBytes: null,
    usedMemoryHuman: null,
    keys: null,
    uptimeSeconds: null,
  };
  const state = await probe(url);
  if (state === 'down') return status;
  status.reachable = true;
  status.loading = state === 'loading';
  const c = client(url, 2000);
  try {
    await c.connect();
    let info: Record<string, string> = {};
    try {
      info = parseInfo(await c.info());
    } catch (err) {
      // INFO refused (ACL, renamed): report what else we can
      logLost(`INFO of the Redis at ${url}`)(err);
    }
    const num = (v: string | undefined) =>
      v === undefined || v === '' || isNaN(Number(v)) ? null : Number(v);
    status.serverPid = num(info.process_id);
    status.startedByTicketflow = status.serverPid !== null && status.serverPid === filePid;
    status.version = info.redis_version ?? null;
    status.uptimeSeconds = num(info.uptime_in_seconds);
    status.usedMemoryBytes = num(info.used_memory);
    status.usedMemoryHuman = info.used_memory_human ?? null;
    status.appendonly = await configGet(c, 'appendonly');
    status.appendfsync = await configGet(c, 'appendfsync');
    status.dir = await configGet(c, 'dir');
    try {
      status.keys = await c.dbsize();
    } catch (err) {
      logLost(`DBSIZE of the Redis at ${url} (loading, or refused)`)(err);
    }
  } catch (err) {
    // it went away meanwhile: reachable stays as probed
    logLost(`the status of the Redis at ${url}`)(err);
  } finally {
    c.disconnect();
  }
  return status;
}
