import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { TicketflowConfig } from '../../shared/core/config/config';
import { Queues, queuesWithoutWorkers } from '../../shared/runtime/flow/queues';
import { formatTextLine, levelRank, logLost } from '../../shared/core/logger';
import { runLogKey } from '../../shared/runtime/runs/run-logs';
import { RUN_RECORD_FILE } from '../../shared/core/storage';
import { ArtifactNotFound, ArtifactStore } from '../../shared/core/store/artifact-store';
import { openStore } from '../../shared/core/store/open-store';
import { locationUrl } from '../../shared/core/store/store-location';

export interface SpawnedWorkers {
  count: number;
  /** process ids of the worker processes (their sandboxed children are below them) */
  pids: number[];
  stop(): Promise<void>;
}

const WORKER_MAIN = path.resolve(__dirname, '../../workers/main.js');

/** How long a store without append gathers log lines before it puts a run's whole log again. */
const REWRITE_GATHER_MS = 500;

/**
 * Appends worker log lines to their run's `runs/<id>/logs.jsonl`, in the order they arrive: lines that
 * arrive while a file is being written are appended together next. A run whose folder is gone (deleted)
 * gets nothing: the folder is never created here. A store without appends (S3) gets the whole log put
 * again, while the run's record is there.
 */
class RunLogAppender {
  private readonly queued = new Map<string, string[]>();
  private readonly writing = new Map<string, Promise<void>>();
  /** On a store without append: each log as last written, so a rewrite need not read it back first. */
  private readonly written = new Map<string, Buffer>();

  constructor(private readonly store: ArtifactStore) {}

  add(runId: string, line: string): void {
    let file: string;
    try {
      file = runLogKey(runId);
    } catch {
      return; // not a run id
    }
    const lines = this.queued.get(file);
    if (lines) lines.push(line);
    else this.queued.set(file, [line]);
    if (!this.writing.has(file)) this.writing.set(file, this.write(file));
  }

  private async write(file: string): Promise<void> {
    for (;;) {
      // Without append every write puts the whole log again: gather a moment's lines into one put.
      if (!this.store.append) await new Promise((r) => setTimeout(r, REWRITE_GATHER_MS));
      const lines = this.queued.get(file);
      if (!lines || lines.length === 0) break;
      this.queued.delete(file);
      await this.append(file, lines.join('\n') + '\n').catch(
        logLost(`appending ${lines.length} lines to ${file} in ${this.store.url}`),
      );
    }
    this.writing.delete(file);
  }

  private async append(key: string, text: string): Promise<void> {
    if (this.store.append) return this.store.append(key, text);
    const before =
      this.written.get(key) ??
      (await this.store.get(key).catch((err: unknown) => {
        if (err instanceof ArtifactNotFound) return Buffer.alloc(0);
        throw err;
      }));
    if ((await this.store.stat(key.replace(/[^/]+$/, RUN_RECORD_FILE))) === undefined) {
      this.written.delete(key);
      return; // the run is gone
    }
    const after = Buffer.concat([before, Buffer.from(text, 'utf8')]);
    await this.store.put(key, after);
    this.written.set(key, after);
  }

  async drain(): Promise<void> {
    while (this.writing.size > 0) await Promise.all(this.writing.values());
  }
}

/**
 * Read a worker's stderr line by line: JSON lines that carry a `runId` go to that run's `logs.jsonl`; lines
 * at `echoLevel` or above are shown on our stderr in the readable format; anything that is not a JSON
 * log line (a crash, a Node warning) is shown as it is.
 */
function followWorkerLog(
  stream: NodeJS.ReadableStream,
  echoLevel: string,
  appender: RunLogAppender,
): Promise<void> {
  const lines = readline.createInterface({ input: stream, crlfDelay: Infinity });
  const echo = levelRank(echoLevel);
  lines.on('line', (line) => {
    let entry: Record<string, unknown> | null = null;
    try {
      const parsed: unknown = JSON.parse(line);
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
        entry = parsed as Record<string, unknown>;
    } catch {
      // not JSON: nothing is lost, the line is echoed as it is below
    }
    if (entry === null || typeof entry.level !== 'string' || entry.message === undefined) {
      if (line.trim() !== '') process.stderr.write(line + '\n');
      return;
    }
    if (typeof entry.runId === 'string') appender.add(entry.runId, line);
    if (levelRank(entry.level) <= echo) process.stderr.write(formatTextLine(entry) + '\n');
  });
  return new Promise((resolve) => lines.once('close', () => resolve()));
}

/**
 * Start `count` worker processes against `redisUrl` for the duration of a CLI run and wait until every
 * queue has a worker. Their stdout goes to our stderr: the CLI's stdout carries only its report.
 *
 * They log in JSON at level info (debug when `logLevel` is debug) to a pipe we read: every line of a run's
 * jobs is appended to `runs/<id>/logs.jsonl`, and only lines at `logLevel` or above (the CLI passes warn)
 * reach our stderr, readable. `extraEnv` may override TICKETFLOW_LOG_FORMAT / TICKETFLOW_LOG_LEVEL.
 */
export async function spawnWorkers(
  config: TicketflowConfig,
  queues: Queues,
  redisUrl: string,
  count: number,
  logLevel: string,
  extraEnv: Record<string, string> = {},
): Promise<SpawnedWorkers> {
  const children: ChildProcess[] = [];
  const store = openStore(config.storage);
  const appender = new RunLogAppender(store);
  const logsRead: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const child = spawn(process.execPath, [WORKER_MAIN], {
      env: {
        ...process.env,
        REDIS_URL: redisUrl,
        TICKETFLOW_QUEUE_PREFIX: config.queuePrefix,
        TICKETFLOW_STORAGE_DIR: config.storageDir,
        TICKETFLOW_DATA_DIR: config.dataDir,
        // The datasets of `config`, not of this environment: an S3 prefix, or (empty) the data root above.
        TICKETFLOW_DATA_URL: config.data.kind === 's3' ? locationUrl(config.data) : '',
        TICKETFLOW_LOG_LEVEL: logLevel === 'debug' ? 'debug' : 'info',
        TICKETFLOW_LOG_FORMAT: 'json',
        ...extraEnv,
      },
      stdio: ['ignore', process.stderr, 'pipe', 'ipc'],
      // Their own process group: a terminal's Ctrl-C reaches only the CLI, which cancels the run (the
      // workers stop its jobs) and then stops the workers.
      detached: true,
    });
    logsRead.push(followWorkerLog(child.stderr!, logLevel, appender));
    children.push(child);
  }
  const exited = children.map((c) => new Promise<void>((resolve) => c.once('exit', () => resolve())));
  const stop = async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    await Promise.race([Promise.all(exited), new Promise((r) => setTimeout(r, 15000).unref())]);
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    // Their last lines: read to the end of each pipe (a sandboxed child may still hold one a moment), then
    // written to the runs' files.
    await Promise.race([Promise.all(logsRead), new Promise((r) => setTimeout(r, 2000).unref())]);
    await appender.drain();
    await store.close();
  };
  // Each worker process says when its queues are served and its sandboxes are started.
  let ready = 0;
  for (const c of children)
    c.on('message', (m: { type?: string }) => m?.type === 'ticketflow-worker-ready' && ready++);
  const deadline = Date.now() + 60000;
  while (ready < count) {
    const dead = children.find((c) => c.exitCode !== null);
    if (dead || Date.now() > deadline) {
      await stop();
      throw new Error(
        dead
          ? `a worker process exited with code ${dead.exitCode} while starting: see its messages above`
          : 'worker processes did not start within 60 s',
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  if ((await queuesWithoutWorkers(queues)).length > 0) {
    await stop();
    throw new Error(
      'worker processes started but Redis shows queues without workers: check REDIS_URL and TICKETFLOW_QUEUE_PREFIX',
    );
  }
  return { count, pids: children.map((c) => c.pid!).filter((p) => p !== undefined), stop };
}
