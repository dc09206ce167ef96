import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import IORedis from 'ioredis';
import { closeRunsContext, RunsContext } from '../../shared/runtime/runs/context';
import { cleanup, testConfig } from '../helpers/env';
import { serveApi } from '../helpers/stack';

describe('the API when Redis accepts connections but does not answer', () => {
  const config = testConfig();
  let runs: RunsContext;
  let server: http.Server;
  let base: string;
  before(async () => {
    ({ runs, server, base } = await serveApi(config));
  });
  after(async () => {
    server.close();
    await closeRunsContext(runs);
    runs.redis.disconnect();
    await cleanup(config);
  });

  it('answers 503 within 2 s on every route that needs Redis, and 200 again once Redis answers', async (t) => {
    assert.equal((await fetch(`${base}/runs`)).status, 200);
    const admin = new IORedis(config.redisUrl);
    try {
      // CLIENT PAUSE holds every client's commands: a Redis that is up but does not answer.
      await admin.call('CLIENT', 'PAUSE', '8000', 'ALL');
      const requests: [string, RequestInit][] = [
        ['/runs', {}],
        ['/readyz', {}],
        [
          '/runs',
          {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: '{"dataset": "complaints-sample.json"}',
          },
        ],
      ];
      for (const [route, init] of requests) {
        const started = performance.now();
        const res = await fetch(`${base}${route}`, init);
        const ms = performance.now() - started;
        t.diagnostic(
          `${init.method ?? 'GET'} ${route} with Redis paused: ${res.status} in ${ms.toFixed(0)} ms`,
        );
        assert.equal(res.status, 503, route);
        assert.ok(ms < 2000, `${route} answered after ${ms} ms`);
        assert.match(((await res.json()) as { error: string }).error, /Redis at .* did not answer in time/);
      }
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
    } finally {
      await admin.call('CLIENT', 'UNPAUSE');
      admin.disconnect();
    }
    assert.equal((await fetch(`${base}/runs`)).status, 200);
  });
});
