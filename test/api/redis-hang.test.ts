/**
 * Every route that reads Redis against a Redis of this test's own (a redis-server it starts on a free
 * port): hung (CLIENT PAUSE, SIGSTOP) → 503 within 2 s; refusing writes because it cannot persist
 * (MISCONF: save points on, a failed BGSAVE) → 503 naming the cause, and a worker says so once.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import IORedis, { Redis } from 'ioredis';
import { freePort, LocalRedis, startRedisServer } from '../../shared/runtime/redis/local-redis';
import { closeRunsContext, RunsContext } from '../../shared/runtime/runs/context';
import { SAMPLE_DATASET, tempDir, testConfig } from '../helpers/env';
import { serveApi } from '../helpers/stack';
import { Deployment, Proc, sleep, startWorker, stopAll, waitFor } from '../helpers/processes';

const ID_PLACEHOLDER = ':id';

/** Routes that read Redis (`:id` is a waiting run's id). */
const ROUTES: [string, string, string?][] = [
  ['GET', '/runs'],
  ['GET', '/runs/:id'],
  ['GET', '/runs/:id/timeline'],
  ['GET', '/runs/:id/report?live=1'],
  ['GET', '/runs/:id/logs'],
  ['GET', '/readyz'],
  ['GET', '/models'],
  ['POST', '/runs', '{"dataset":"sample.json"}'],
  // Unknown runs: a command Redis holds during a pause still runs when it resumes, and the waiting run must
  // stay as it is for the next test.
  ['POST', '/runs/20990101-000000-abcdef/cancel'],
  ['DELETE', '/runs/20990101-000000-abcdef'],
  ['GET', '/board/api/queues'],
  ['GET', '/board/api/queues/training/nope'],
  ['GET', '/board/api/redis/stats'],
];

describe('the API and a worker against a Redis that hangs or refuses writes', { timeout: 120_000 }, () => {
  let redis: LocalRedis;
  let redisDir: string;
  let dataDir: string;
  let admin: Redis;
  let runs: RunsContext;
  let server: http.Server;
  let base: string;
  let runId: string;
  const config = () => runs.config;

  before(async () => {
    redisDir = tempDir('hang-redis');
    dataDir = tempDir('hang-data');
    fs.copyFileSync(SAMPLE_DATASET, path.join(dataDir, 'sample.json'));
    redis = await startRedisServer(await freePort(), redisDir);
    admin = new IORedis(redis.url, { maxRetriesPerRequest: null });
    const cfg = testConfig({ REDIS_URL: redis.url, TICKETFLOW_DATA_DIR: dataDir });
    ({ runs, server, base } = await serveApi(cfg));
    const created = await fetch(`${base}/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"dataset":"sample.json"}',
    });
    assert.equal(created.status, 202);
    runId = ((await created.json()) as { id: string }).id;
  });
  after(async () => {
    await stopAll(); // the worker, also when a test failed before stopping it
    server?.close();
    if (runs) {
      await closeRunsContext(runs).catch(() => undefined);
      runs.redis.disconnect();
    }
    admin?.disconnect();
    await redis?.stop();
    for (const d of [redisDir, dataDir, config()?.storageDir])
      if (d) fs.rmSync(d, { recursive: true, force: true });
  });

  /** Every route at once; each answer's status, error and time. */
  async function probeAll(): Promise<{ route: string; status: number; error: string; ms: number }[]> {
    return Promise.all(
      ROUTES.map(async ([method, template, body]) => {
        const route = template.replace(ID_PLACEHOLDER, runId);
        const started = performance.now();
        const res = await fetch(`${base}${route}`, {
          method,
          headers: body ? { 'content-type': 'application/json' } : {},
          body,
          signal: AbortSignal.timeout(10_000),
        });
        const text = await res.text();
        const ms = performance.now() - started;
        let error = text;
        try {
          const json = JSON.parse(text) as { error?: unknown; problem?: unknown };
          error = String(json.error ?? json.problem ?? text);
        } catch {
          /* not JSON */
        }
        return { route: `${method} ${route}`, status: res.status, error, ms };
      }),
    );
  }

  it('answers 503 within 2 s on every route that reads Redis while Redis is paused (CLIENT PAUSE)', async (t) => {
    const runsBefore = (await runs.store.list({ limit: 1000 })).runs.length;
    await admin.call('CLIENT', 'PAUSE', '8000', 'ALL');
    let answers;
    try {
      answers = await probeAll();
      const health = await fetch(`${base}/healthz`);
      assert.equal(health.status, 200, '/healthz needs no Redis');
    } finally {
      await admin.call('CLIENT', 'UNPAUSE');
    }
    for (const a of answers) {
      t.diagnostic(`${a.route}: ${a.status} in ${a.ms.toFixed(0)} ms`);
      assert.equal(a.status, 503, `${a.route}: ${a.error}`);
      assert.ok(a.ms < 2000, `${a.route} answered after ${a.ms.toFixed(0)} ms`);
      assert.match(a.error, /Redis at .* did not answer in time/, a.route);
    }
    await sleep(500); // commands held by the pause complete
    assert.equal((await runs.store.list({ limit: 1000 })).runs.length, runsBefore, 'no run was created');
    assert.equal((await fetch(`${base}/runs/${runId}/timeline`)).status, 200, 'served again');
  });

  it('answers 503 within 2 s while the redis-server process is stopped (SIGSTOP)', async (t) => {
    const pid = Number(/process_id:(\d+)/.exec(await admin.info('server'))![1]);
    process.kill(pid, 'SIGSTOP');
    let answers;
    try {
      answers = await probeAll();
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    for (const a of answers) {
      t.diagnostic(`${a.route}: ${a.status} in ${a.ms.toFixed(0)} ms`);
      assert.equal(a.status, 503, `${a.route}: ${a.error}`);
      assert.ok(a.ms < 2000, `${a.route} answered after ${a.ms.toFixed(0)} ms`);
    }
    await waitFor(
      'the API serving again',
      async () => ((await fetch(`${base}/runs/${runId}`)).status === 200 ? true : undefined),
      10_000,
    );
  });

  it('answers 503 naming the cause while Redis cannot persist (MISCONF); a worker says so once, and once when it clears', async (t) => {
    // A worker of the same deployment, idle: its fetch loops are what would log every failed attempt.
    const worker: Proc = await startWorker(
      {
        env: {
          REDIS_URL: redis.url,
          TICKETFLOW_QUEUE_PREFIX: config().queuePrefix,
          TICKETFLOW_STORAGE_DIR: config().storageDir,
          TICKETFLOW_DATA_DIR: dataDir,
          TICKETFLOW_LOG_LEVEL: 'info',
        },
      } as unknown as Deployment,
      // Queues the waiting run never reaches (text processing is not served): the worker stays idle.
      ['--queues', 'classification,classification-chunks,training-search'],
      'misconf-worker',
    );
    const runsBefore = (await runs.store.list({ limit: 1000 })).runs.length;
    try {
      // Save points on, and a BGSAVE that cannot write (its folder is gone): Redis refuses writes.
      await admin.config('SET', 'save', '3600 1');
      fs.rmSync(redisDir, { recursive: true, force: true });
      await admin.bgsave();
      await waitFor(
        'the failed BGSAVE',
        async () => (/rdb_last_bgsave_status:err/.test(await admin.info('persistence')) ? true : undefined),
        10_000,
      );
      const refused = await admin.set('probe', '1').then(
        () => null,
        (err: Error) => err.message,
      );
      assert.match(String(refused), /^MISCONF/, 'Redis refuses writes');

      const answers = new Map((await probeAll()).map((a) => [a.route, a]));
      for (const route of ['POST /runs', `GET /runs/${runId}`, 'GET /readyz']) {
        const a = answers.get(route)!;
        t.diagnostic(`${route}: ${a.status} ${a.error}`);
        assert.equal(a.status, 503, `${route}: ${a.error}`);
        assert.match(a.error, /Redis at .* cannot persist its data and refuses writes \(MISCONF/, route);
      }
      for (const a of answers.values()) assert.notEqual(a.status, 500, `${a.route}: ${a.error}`);
      assert.equal((await runs.store.list({ limit: 1000 })).runs.length, runsBefore, 'no run was created');
      await sleep(3000); // the worker's fetch loops keep failing meanwhile
    } finally {
      await admin.config('SET', 'save', '');
    }
    await waitFor(
      'the worker saying Redis accepts writes again',
      () => (/Redis at .* accepts writes again: serving again/.test(worker.stderr()) ? true : undefined),
      10_000,
    );
    await worker.stop('SIGTERM', 10_000);
    const lines = worker.stderr().split('\n');
    const about = lines.filter((l) => /MISCONF|persist|accepts writes again: serving/.test(l));
    t.diagnostic(`the worker wrote ${lines.length} lines, ${about.length} about the refusal`);
    assert.equal(about.length, 2, about.join('\n'));
    assert.match(about[0]!, /warn.*Redis at .* cannot persist its data and refuses writes \(MISCONF/);
    assert.match(about[1]!, /info.*Redis at .* accepts writes again/);
    assert.ok(lines.length < 10, `the worker wrote ${lines.length} lines:\n${worker.stderr()}`);
    assert.equal((await fetch(`${base}/runs/${runId}`)).status, 200, 'served again');
  });
});
