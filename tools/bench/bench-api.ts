import { randomBytes } from 'node:crypto';
import { PROJECT_ROOT } from '../../shared/core/config/config';
import { stopChild } from '../../shared/core/stop-child';
import { freePort } from '../../shared/runtime/redis/local-redis';
import { ApiTarget, startApiProcess } from './bench-stack';

/** The API a measured run is submitted to, as users submit theirs: its own process, behind a token. */
export interface BenchApi {
  pid: number;
  /** POST /runs of `dataset` (a name in the API's data root) with `params`; resolves with the run id */
  submit(dataset: string, params: Record<string, unknown>): Promise<string>;
  /** SIGTERM, then SIGKILL after 5 s (stopChild) */
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
    stop: () => stopChild(api, 5_000),
  };
}
