/**
 * Operations, against real processes: the durable Redis (`ticketflow redis start|stop`, append-only file),
 * the API (`node dist/producers/api/main.js`) and worker processes (`node dist/workers/main.js`), each
 * deployment with its own ports, folders and queue prefix.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { QUEUES } from '../../shared/runtime/flow/queue-names';
import {
  Deployment,
  http,
  HttpResult,
  newDeployment,
  Proc,
  redisCommand,
  SAMPLE_NAME,
  sleep,
  startApi,
  startWorker,
  stopAll,
  teardownDeployment,
  waitFor,
} from '../helpers/processes';

interface RunBody {
  id: string;
  state: string;
  metrics: { test: { accuracy: number } } | null;
  error: unknown;
  warnings?: string[];
}

interface ListBody {
  runs: { id: string; state: string }[];
}

/** Everything a failing assertion should show: each process's stderr. */
function logsOf(...procs: (Proc | null | undefined)[]): string {
  return procs
    .filter((p): p is Proc => !!p)
    .map((p) => `--- ${p.label} (pid ${p.pid}) stderr ---\n${p.stderr()}`)
    .join('\n');
}

async function waitForState(
  d: Deployment,
  runId: string,
  states: string[],
  timeoutMs: number,
  logs: () => string,
): Promise<RunBody> {
  let last: HttpResult | null = null;
  try {
    return await waitFor(
      `run ${runId} in state ${states.join('|')}`,
      async () => {
        last = await http(d.baseUrl, 'GET', `/runs/${runId}`, undefined, 3000);
        const body = last.body as RunBody;
        return last.status === 200 && states.includes(body.state) ? body : undefined;
      },
      timeoutMs,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}\nlast answer: ${JSON.stringify(last)}\n${logs()}`);
  }
}

async function startRedis(d: Deployment): Promise<void> {
  const r = await redisCommand(d, 'start');
  assert.equal(r.code, 0, `ticketflow redis start: ${r.stderr}`);
  assert.match(r.stdout, /started redis-server/);
}

describe('operations: API restart, Redis outage, readiness (real processes)', () => {
  const deployments: Deployment[] = [];
  const deployment = async (label: string) => {
    const d = await newDeployment(label);
    deployments.push(d);
    return d;
  };

  after(async () => {
    await stopAll();
    for (const d of deployments) await teardownDeployment(d);
  });

  it('an API restart during a run keeps its history: the run completes and is listed', async (t) => {
    const d = await deployment('ops-restart');
    await startRedis(d);
    const [api, w1, w2] = await Promise.all([
      startApi(d, 'api-1'),
      startWorker(d, [], 'worker-1'),
      startWorker(d, [], 'worker-2'),
    ]);
    const logs = () => logsOf(api, w1, w2);

    const post = await http(d.baseUrl, 'POST', '/runs', { dataset: SAMPLE_NAME, params: { chunkSize: 200 } });
    assert.equal(post.status, 202, JSON.stringify(post.body));
    const runId = (post.body as { id: string }).id;
    assert.match(runId, /^[A-Za-z0-9_-]+$/);

    // Restart while the run is under way: as soon as a worker has taken it.
    const seen = await waitForState(d, runId, ['active', 'completed'], 20_000, logs);
    const exit = await api.signal('SIGTERM', 10_000);
    assert.equal(exit, 0, `the API exits 0 on SIGTERM\n${logs()}`);
    assert.match(api.stderr(), /SIGTERM: closing/);
    const api2 = await startApi(d, 'api-2');
    t.diagnostic(`run state when the API was stopped: ${seen.state}`);

    const list = await http(d.baseUrl, 'GET', '/runs');
    assert.equal(list.status, 200, JSON.stringify(list.body));
    assert.ok(
      (list.body as ListBody).runs.some((r) => r.id === runId),
      `GET /runs on the new API lists run ${runId}: ${JSON.stringify(list.body)}`,
    );

    const done = await waitForState(d, runId, ['completed', 'failed', 'cancelled'], 45_000, () =>
      logsOf(api, api2, w1, w2),
    );
    assert.equal(done.state, 'completed', `${JSON.stringify(done.error)}\n${logsOf(api, api2, w1, w2)}`);
    assert.ok(done.metrics, 'a completed run has metrics');
    assert.equal(typeof done.metrics.test.accuracy, 'number');

    const relisted = (await http(d.baseUrl, 'GET', '/runs')).body as ListBody;
    assert.equal(relisted.runs.find((r) => r.id === runId)?.state, 'completed');

    const runDir = path.join(d.storageDir, 'runs', runId);
    const record = JSON.parse(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8')) as RunBody;
    assert.equal(record.id, runId);
    assert.equal(record.state, 'completed');
    assert.ok(record.metrics, 'run.json holds the metrics');
    assert.equal(
      fs.existsSync(path.join(runDir, 'chunks')),
      false,
      `no chunk files are left in ${runDir}: ${fs.readdirSync(runDir).join(', ')}`,
    );
  });

  it('Redis stopped: 503 within 2 s, /healthz 200, /readyz 503; back: history kept, runs complete', async (t) => {
    const d = await deployment('ops-outage');
    await startRedis(d);
    const [api, worker] = await Promise.all([startApi(d), startWorker(d)]);
    const logs = () => logsOf(api, worker);

    const first = await http(d.baseUrl, 'POST', '/runs', {
      dataset: SAMPLE_NAME,
      params: { chunkSize: 600 },
    });
    assert.equal(first.status, 202, JSON.stringify(first.body));
    const runId = (first.body as { id: string }).id;
    const done = await waitForState(d, runId, ['completed', 'failed', 'cancelled'], 45_000, logs);
    assert.equal(done.state, 'completed', `${JSON.stringify(done.error)}\n${logs()}`);

    const workerLogFrom = worker.stderr().length;
    const apiLogFrom = api.stderr().length;
    const stop = await redisCommand(d, 'stop');
    assert.equal(stop.code, 0, `ticketflow redis stop: ${stop.stderr}`);
    const outageStarted = Date.now();

    const latencies: Record<string, number> = {};
    const expect503 = async (method: 'GET' | 'POST', route: string, body?: unknown) => {
      const res = await http(d.baseUrl, method, route, body, 10_000);
      const label = `${method} ${route}`;
      latencies[label] = Math.max(latencies[label] ?? 0, Math.round(res.ms));
      assert.equal(res.status, 503, `${label} while Redis is down: ${JSON.stringify(res.body)}`);
      assert.match(res.contentType, /application\/json/, label);
      const error = (res.body as { error?: unknown }).error;
      assert.equal(typeof error, 'string', `${label} answers {"error": "…"}: ${JSON.stringify(res.body)}`);
      assert.match(error as string, /Redis/, label);
      assert.ok(res.ms < 2000, `${label} answered in ${res.ms.toFixed(0)} ms, not < 2000 ms`);
      return res;
    };
    await expect503('GET', '/runs');
    await expect503('GET', `/runs/${runId}`);
    await expect503('POST', '/runs', { dataset: SAMPLE_NAME, params: { chunkSize: 600 } });
    await expect503('GET', '/readyz');
    const health = await http(d.baseUrl, 'GET', '/healthz', undefined, 2000);
    assert.equal(health.status, 200, JSON.stringify(health.body));
    assert.equal((health.body as { ok: boolean }).ok, true);
    latencies['GET /healthz'] = Math.round(health.ms);

    // Keep Redis away long enough for many reconnection attempts (the worker must still say it once),
    // asking again meanwhile: every answer stays a quick 503.
    while (Date.now() - outageStarted < 3000) {
      await expect503('GET', `/runs/${runId}`);
      await sleep(250);
    }
    t.diagnostic(`slowest answer per request while Redis is down (ms): ${JSON.stringify(latencies)}`);

    await startRedis(d);
    const back = Date.now();
    const listed = await waitFor(
      'GET /runs answering 200 after Redis is back',
      async () => {
        const res = await http(d.baseUrl, 'GET', '/runs', undefined, 3000);
        return res.status === 200 ? (res.body as ListBody) : undefined;
      },
      10_000,
    );
    t.diagnostic(`GET /runs answered 200 ${Date.now() - back} ms after ticketflow redis start returned`);
    assert.deepEqual(
      listed.runs.map((r) => [r.id, r.state]),
      [[runId, 'completed']],
      'the append-only file kept the run; the POST refused during the outage left no run',
    );

    // A new run (nothing from the cache: every stage computed) completes on the same worker.
    const again = await http(d.baseUrl, 'POST', '/runs', {
      dataset: SAMPLE_NAME,
      params: { chunkSize: 600, cache: false },
    });
    assert.equal(again.status, 202, JSON.stringify(again.body));
    const againId = (again.body as { id: string }).id;
    const againDone = await waitForState(d, againId, ['completed', 'failed', 'cancelled'], 45_000, logs);
    assert.equal(againDone.state, 'completed', `${JSON.stringify(againDone.error)}\n${logs()}`);
    assert.ok(againDone.metrics);

    const outageLog = worker.stderr().slice(workerLogFrom);
    const redisLines = outageLog.split('\n').filter((l) => /ECONNREFUSED|unreachable|is back/.test(l));
    t.diagnostic(
      `worker lines about the outage: ${redisLines.length}: ${JSON.stringify(redisLines.slice(0, 4))}`,
    );
    const apiLines = api
      .stderr()
      .slice(apiLogFrom)
      .split('\n')
      .filter((l) => /ECONNREFUSED|unreachable|is back/.test(l));
    t.diagnostic(`API lines about the outage (not asserted): ${apiLines.length}`);
    assert.ok(
      redisLines.length <= 2,
      `the worker says at most 2 lines about the outage, said ${redisLines.length}:\n${outageLog}`,
    );
    assert.ok(worker.running(), `the worker is still up\n${logs()}`);
  });

  it('/readyz: 503 naming the queues without a live worker, 200 once every queue has one', async () => {
    const d = await deployment('ops-ready');
    await startRedis(d);
    const api = await startApi(d);
    type Readyz = HttpResult & {
      body: { ready: boolean; workers: Record<string, number>; problem?: string; error?: string };
    };
    /** /readyz once it answers `status` (a heartbeat lands a moment after a worker says it is ready). */
    const readyz = async (
      status: number,
      why: string,
      also: (r: Readyz) => boolean = () => true,
    ): Promise<Readyz> => {
      let last: Readyz | null = null;
      try {
        return await waitFor(
          `/readyz answering ${status} ${why}`,
          async () => {
            last = (await http(d.baseUrl, 'GET', '/readyz', undefined, 3000)) as Readyz;
            return last.status === status && also(last) ? last : undefined;
          },
          5000,
          50,
        );
      } catch (err) {
        throw new Error(`${(err as Error).message}: last answer ${JSON.stringify(last)}`);
      }
    };

    const none = await readyz(503, 'with no worker');
    assert.equal(none.status, 503, JSON.stringify(none.body));
    assert.equal(none.body.ready, false);
    for (const q of QUEUES) assert.ok(none.body.problem?.includes(q), `${q} named: ${none.body.problem}`);

    const partial = await startWorker(d, ['--queues', 'text-processing'], 'worker-text-processing');
    const idle = QUEUES.filter((q) => q !== 'text-processing');
    const some = await readyz(
      503,
      'with a text-processing worker only',
      (r) => r.body.workers?.['text-processing'] === 1,
    );
    assert.equal(some.status, 503, JSON.stringify(some.body));
    assert.equal(some.body.ready, false);
    assert.equal(some.body.workers['text-processing'], 1);
    for (const q of idle) {
      assert.equal(some.body.workers[q], 0, q);
      assert.ok(some.body.problem?.includes(q), `${q} named: ${some.body.problem}`);
    }
    assert.ok(
      !/\btext-processing\b/.test(some.body.problem ?? ''),
      `text-processing is served: ${some.body.problem}`,
    );

    const post = await http(d.baseUrl, 'POST', '/runs', { dataset: SAMPLE_NAME });
    assert.equal(post.status, 202, JSON.stringify(post.body));
    const accepted = post.body as { id: string; warnings: string[] };
    assert.ok(Array.isArray(accepted.warnings) && accepted.warnings.length > 0, JSON.stringify(post.body));
    assert.match(accepted.warnings.join('\n'), /no live worker serves .*training/);

    const full = await startWorker(d, [], 'worker-all');
    const ready = await readyz(200, 'with a worker on every queue');
    assert.equal(ready.status, 200, JSON.stringify(ready.body));
    assert.equal(ready.body.ready, true);
    for (const q of QUEUES)
      assert.ok((ready.body.workers[q] ?? 0) >= 1, `${q}: ${JSON.stringify(ready.body)}`);

    // The run accepted with warnings went on once every queue had a worker.
    const done = await waitForState(d, accepted.id, ['completed', 'failed', 'cancelled'], 45_000, () =>
      logsOf(api, partial, full),
    );
    assert.equal(done.state, 'completed', JSON.stringify(done.error));

    // A worker that leaves gracefully takes its heartbeat with it: not ready again at once.
    assert.equal(await full.signal('SIGTERM', 15_000), 0, logsOf(full));
    const left = await readyz(503, 'after the full worker left', (r) => r.body.workers?.training === 0);
    assert.equal(left.status, 503, JSON.stringify(left.body));
    for (const q of idle) assert.ok(left.body.problem?.includes(q), `${q} named: ${left.body.problem}`);
  });
});
