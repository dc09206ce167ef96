import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { TicketflowConfig } from '../../shared/config/config';
import { Queues, queuesWithoutWorkers } from '../../shared/flow/queues';

export interface SpawnedWorkers {
  count: number;
  /** process ids of the worker processes (their sandboxed children are below them) */
  pids: number[];
  stop(): Promise<void>;
}

const WORKER_MAIN = path.resolve(__dirname, '../../workers/main.js');

/**
 * Start `count` worker processes against `redisUrl` for the duration of a CLI run and wait until every
 * queue has a worker. Their stdout goes to our stderr: the CLI's stdout carries only its report.
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
  for (let i = 0; i < count; i++) {
    children.push(
      spawn(process.execPath, [WORKER_MAIN], {
        env: {
          ...process.env,
          REDIS_URL: redisUrl,
          TICKETFLOW_QUEUE_PREFIX: config.queuePrefix,
          TICKETFLOW_STORAGE_DIR: config.storageDir,
          TICKETFLOW_DATA_DIR: config.dataDir,
          TICKETFLOW_LOG_LEVEL: logLevel,
          ...extraEnv,
        },
        stdio: ['ignore', process.stderr, 'inherit', 'ipc'],
        // Their own process group: a terminal's Ctrl-C reaches only the CLI, which cancels the run (the
        // workers stop its jobs) and then stops the workers.
        detached: true,
      }),
    );
  }
  const exited = children.map((c) => new Promise<void>((resolve) => c.once('exit', () => resolve())));
  const stop = async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    await Promise.race([Promise.all(exited), new Promise((r) => setTimeout(r, 15000).unref())]);
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
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
