/**
 * Real ticketflow processes for operations tests: the durable Redis (`ticketflow redis start|stop`), API and
 * worker processes, each in its own process group so a test can always end them, and their sandboxed
 * children, by pid. Every deployment has its own ports, folders and queue prefix.
 */
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { PROJECT_ROOT } from '../../shared/core/config/config';
import { freePort } from '../../shared/runtime/redis/local-redis';
import { pidAlive, readPidfile } from '../../shared/runtime/redis/durable-redis';
import { SAMPLE_DATASET, tempDir } from './env';

export const API_MAIN = path.join(PROJECT_ROOT, 'dist', 'producers', 'api', 'main.js');
export const WORKER_MAIN = path.join(PROJECT_ROOT, 'dist', 'workers', 'main.js');
export const CLI_MAIN = path.join(PROJECT_ROOT, 'dist', 'producers', 'cli', 'ticketflow.js');

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Resolves with null after `ms`, without keeping the test process alive (for Promise.race deadlines). */
const expiry = (ms: number) => new Promise<null>((r) => setTimeout(() => r(null), ms).unref());

/** Poll `probe` until it returns a value other than undefined, or throw after `timeoutMs` saying `what`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown = null;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const why = lastError ? `: last error ${(lastError as Error).message}` : '';
      throw new Error(`${what}: not reached within ${timeoutMs} ms${why}`);
    }
    await sleep(everyMs);
  }
}

/** One deployment's environment: free ports, temporary folders, a random prefix, the sample dataset. */
export interface Deployment {
  env: Record<string, string>;
  apiPort: number;
  redisPort: number;
  redisUrl: string;
  baseUrl: string;
  redisDir: string;
  storageDir: string;
  dataDir: string;
  prefix: string;
  /** every temporary folder of the deployment */
  dirs: string[];
}

export const SAMPLE_NAME = path.basename(SAMPLE_DATASET);

export async function newDeployment(label: string): Promise<Deployment> {
  const redisPort = await freePort();
  let apiPort = await freePort();
  while (apiPort === redisPort) apiPort = await freePort();
  const redisDir = tempDir(`${label}-redis`);
  const storageDir = tempDir(`${label}-storage`);
  const dataDir = tempDir(`${label}-data`);
  fs.copyFileSync(SAMPLE_DATASET, path.join(dataDir, SAMPLE_NAME));
  const prefix = `tfops-${randomBytes(4).toString('hex')}`;
  const redisUrl = `redis://127.0.0.1:${redisPort}`;
  return {
    env: {
      PORT: String(apiPort),
      REDIS_URL: redisUrl,
      TICKETFLOW_REDIS_DIR: redisDir,
      TICKETFLOW_STORAGE_DIR: storageDir,
      TICKETFLOW_DATA_DIR: dataDir,
      TICKETFLOW_QUEUE_PREFIX: prefix,
      TICKETFLOW_LOG_LEVEL: 'info',
    },
    apiPort,
    redisPort,
    redisUrl,
    baseUrl: `http://127.0.0.1:${apiPort}`,
    redisDir,
    storageDir,
    dataDir,
    prefix,
    dirs: [redisDir, storageDir, dataDir],
  };
}

/** The parent's environment without what would change a child's behaviour, plus `env`. */
function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base = { ...process.env };
  delete base.TICKETFLOW_FAIL_ONCE;
  delete base.TICKETFLOW_CONCURRENCY;
  // A token in the shell that runs the tests is not the tests' deployment's: each test sets its own.
  delete base.TICKETFLOW_API_TOKEN;
  return { ...base, ...env };
}

export interface Proc {
  label: string;
  pid: number;
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  running(): boolean;
  /** resolves with the exit code (or the signal's name) */
  exited: Promise<number | string>;
  /** Send `signal` to the process (not its group) and wait for it to exit, up to `timeoutMs`. */
  signal(signal: NodeJS.Signals, timeoutMs: number): Promise<number | string>;
  /** End the process and everything in its group: `signal` first, SIGKILL after `graceMs`. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

const spawned = new Set<Proc>();

/** Start `node script args` in a process group of its own (detached), capturing stdout and stderr. */
export function spawnNode(
  label: string,
  script: string,
  args: string[],
  env: Record<string, string>,
  opts: { ipc?: boolean } = {},
): Proc {
  const child = spawn(process.execPath, [script, ...args], {
    env: childEnv(env),
    detached: true,
    stdio: opts.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`${label}: could not spawn ${script}`);
  const pid = child.pid;
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  let done = false;
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => {
      done = true;
      resolve(code ?? signal ?? -1);
    }),
  );
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {
      /* the group is gone */
    }
  };
  const proc: Proc = {
    label,
    pid,
    child,
    stdout: () => out,
    stderr: () => err,
    running: () => !done,
    exited,
    async signal(signal, timeoutMs) {
      if (!done) child.kill(signal);
      const result = await Promise.race([exited, expiry(timeoutMs)]);
      if (result === null)
        throw new Error(`${label} (pid ${pid}) still runs ${timeoutMs} ms after ${signal}`);
      return result;
    },
    async stop(signal = 'SIGTERM', graceMs = 10_000) {
      if (!done) {
        child.kill(signal);
        await Promise.race([exited, expiry(graceMs)]);
      }
      // Sandboxed children (and the process itself, if it did not exit) are in its group.
      killGroup('SIGKILL');
      if (!done) await Promise.race([exited, expiry(2000)]);
      child.stdout?.destroy();
      child.stderr?.destroy();
      spawned.delete(proc);
    },
  };
  spawned.add(proc);
  return proc;
}

/** Stop every process `spawnNode` started that is still registered (for after() hooks). */
export async function stopAll(): Promise<void> {
  await Promise.all([...spawned].map((p) => p.stop('SIGTERM', 5000)));
}

/** Start the API on the deployment's port and wait until /healthz answers. */
export async function startApi(d: Deployment, label = 'api'): Promise<Proc> {
  const api = spawnNode(label, API_MAIN, [], d.env);
  await waitFor(
    `${label} answering /healthz on port ${d.apiPort}`,
    async () => {
      if (!api.running()) throw new Error(`${label} exited: ${api.stderr()}`);
      const res = await fetch(`${d.baseUrl}/healthz`, { signal: AbortSignal.timeout(1000) });
      return res.status === 200 ? true : undefined;
    },
    20_000,
    50,
  );
  return api;
}

/** Start a worker process and wait for its "ready" message (queues served, sandboxes started). */
export async function startWorker(
  d: Pick<Deployment, 'env'>,
  args: string[] = [],
  label = 'worker',
): Promise<Proc> {
  const worker = spawnNode(label, WORKER_MAIN, args, d.env, { ipc: true });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${label} not ready within 30 s: ${worker.stderr()}`)),
      30_000,
    );
    worker.child.on('message', (m: { type?: string }) => {
      if (m?.type === 'ticketflow-worker-ready') {
        clearTimeout(timer);
        resolve();
      }
    });
    void worker.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited (${code}) while starting: ${worker.stderr()}`));
    });
  });
  return worker;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** `ticketflow redis start|stop|status` with the deployment's REDIS_URL and TICKETFLOW_REDIS_DIR. */
export async function redisCommand(d: Deployment, action: 'start' | 'stop' | 'status'): Promise<CliResult> {
  const started = performance.now();
  const cli = spawnNode(`ticketflow redis ${action}`, CLI_MAIN, ['redis', action], d.env);
  const result = await Promise.race([cli.exited, expiry(30_000)]);
  await cli.stop('SIGKILL', 0);
  if (result === null) throw new Error(`ticketflow redis ${action} did not finish within 30 s`);
  return {
    code: typeof result === 'number' ? result : -1,
    stdout: cli.stdout(),
    stderr: cli.stderr(),
    ms: performance.now() - started,
  };
}

/**
 * Stop the deployment's durable Redis (`ticketflow redis stop`; SIGKILL to the pid in its pidfile if it is
 * still a running redis-server after that) and remove the deployment's folders.
 */
export async function teardownDeployment(d: Deployment): Promise<void> {
  const pidfile = path.join(d.redisDir, `redis-${d.redisPort}.pid`);
  const pid = readPidfile(pidfile);
  await redisCommand(d, 'stop').catch(() => undefined);
  if (pid !== null && pidAlive(pid)) {
    let cmd = '';
    try {
      cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      /* gone */
    }
    if (cmd.includes('redis-server') && cmd.includes(`:${d.redisPort}`)) process.kill(pid, 'SIGKILL');
  }
  for (const dir of d.dirs) fs.rmSync(dir, { recursive: true, force: true });
}

export interface HttpResult {
  status: number;
  body: unknown;
  /** wall time from sending the request to reading the whole body */
  ms: number;
  contentType: string;
}

/** One HTTP request with a JSON body (if any), timed; gives up after `timeoutMs`. */
export async function http(
  baseUrl: string,
  method: 'GET' | 'POST' | 'DELETE',
  urlPath: string,
  body?: unknown,
  timeoutMs = 10_000,
): Promise<HttpResult> {
  const started = performance.now();
  const res = await fetch(`${baseUrl}${urlPath}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  const ms = performance.now() - started;
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON: keep the text */
  }
  return { status: res.status, body: parsed, ms, contentType: res.headers.get('content-type') ?? '' };
}

/**
 * The pids in /proc whose process `holds` is true of (given its pid and a reader of its /proc files);
 * a process that ends while it is looked at is left out.
 */
export function processesWhere(holds: (pid: number, read: (file: string) => string) => boolean): number[] {
  return fs
    .readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map(Number)
    .filter((pid) => {
      try {
        return holds(pid, (file) => fs.readFileSync(`/proc/${pid}/${file}`, 'utf8'));
      } catch {
        return false; // it ended
      }
    });
}
