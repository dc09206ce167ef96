import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { PROJECT_ROOT } from '../../shared/core/config/config';
import { freePort } from '../../shared/runtime/redis/local-redis';
import { ApiTarget, startApiProcess } from './bench-stack';

/** The API a measured run is submitted to, as users submit theirs: its own process, behind a token. */
export interface BenchApi {
  pid: number;
  /** POST /runs of `dataset` (a name in the API's data root) with `params`; resolves with the run id */
  submit(dataset: string, params: Record<string, unknown>): Promise<string>;
  /** SIGTERM, then SIGKILL after 5 s; resolves once the process has exited */
  stop(): Promise<void>;
}

/** Starts this build's API on `target` with `env` added (data root, storage backend), on a free port. */
export async function startBenchApi(target: ApiTarget, env: NodeJS.ProcessEnv): Promise<BenchApi> {
  const token = randomBytes(24).toString('hex');
  const port = await freePort();
  const api = await startApiProcess(PROJECT_ROOT, target, port, { ...env, TICKETFLOW_API_TOKEN: token }, [
    'ignore',
    'ignore',
    'inherit',
  ]);
  return {
    pid: api.pid!,
    submit: async (dataset, params) => {
      const res = await fetch(`http://127.0.0.1:${port}/runs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ dataset, params }),
      });
      const text = await res.text();
      const body = (() => {
        try {
          return JSON.parse(text) as { id?: unknown };
        } catch {
          return {};
        }
      })();
      if (res.status !== 202 || typeof body.id !== 'string')
        throw new Error(`POST /runs answered ${res.status}: ${text.slice(0, 500)}`);
      return body.id;
    },
    stop: () => stopProcess(api),
  };
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}
