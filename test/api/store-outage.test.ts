/**
 * The API on an S3 store (s3rver) that goes away: /readyz says 503 naming the store and why, POST /runs and
 * POST /classifications answer 503 and create nothing (no index entry, no job, no object, no idempotency
 * claim), also when the store goes between the check and the write; once the server is back, /readyz is 200
 * and runs are accepted. Wrong credentials and a missing
 * bucket: /readyz and POST /runs name the problem.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { S3Server } from '../helpers/s3-server';
import { SampleStack, serveApi, startSampleStack } from '../helpers/stack';
import { cleanup, testConfig } from '../helpers/env';
import { waitFor } from '../helpers/processes';
import { openStore } from '../../shared/core/store/open-store';
import { QUEUES } from '../../shared/runtime/flow/queue-names';
import { closeRunsContext, RunsContext } from '../../shared/runtime/runs/context';

interface Readyz {
  ready: boolean;
  store?: { url: string; endpoint?: string; state: string };
  workers?: Record<string, number>;
  problem?: string;
}

async function request(base: string, method: string, route: string, body?: unknown): Promise<any> {
  const res = await fetch(`${base}${route}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json', 'idempotency-key': 'outage-1' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, json: await res.json() };
}

/** /readyz until it answers `status` (a check's answer is reused for a few seconds). */
async function readyzAnswering(base: string, status: number): Promise<Readyz> {
  let last: unknown;
  try {
    return await waitFor(
      `/readyz answering ${status}`,
      async () => {
        last = await request(base, 'GET', '/readyz');
        const res = last as { status: number; json: Readyz };
        return res.status === status ? res.json : undefined;
      },
      15_000,
      200,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last answer ${JSON.stringify(last)}`);
  }
}

describe('the API when its S3 store is unreachable, refuses the key or has no bucket', () => {
  let s3: S3Server;
  let stack: SampleStack;
  let base: string;

  before(async () => {
    s3 = await new S3Server('outage').start();
    stack = await startSampleStack('store-outage', {
      api: true,
      workers: 1,
      env: s3.env('tf'),
      workerEnv: s3.env('tf'),
    });
    base = stack.baseUrl!;
  });
  after(async () => {
    await stack?.close();
    await s3?.close();
  });

  /** Nothing of a submission: no index entry, no job, no object under runs/ or classifications/. */
  async function assertNothingCreated(): Promise<void> {
    assert.deepEqual((await stack.runs.store.list({ limit: 10 })).runs, [], 'no run in the index');
    for (const q of QUEUES) {
      const counts = await stack.queues[q].getJobCounts();
      assert.equal(
        Object.values(counts).reduce((a, b) => a + b, 0),
        0,
        `no job in ${q}: ${JSON.stringify(counts)}`,
      );
    }
    const keys = await stack.connection.keys(`${stack.config.queuePrefix}:*idem*`);
    assert.deepEqual(keys, [], 'no idempotency claim');
  }

  /** No object under runs/ or classifications/ (the server is up). */
  async function assertNoObjects(): Promise<void> {
    const store = openStore(stack.config.storage);
    try {
      assert.deepEqual(await store.list('runs/'), [], 'no object of a run');
      assert.deepEqual(await store.list('classifications/'), [], 'no object of a classification');
    } finally {
      await store.close();
    }
  }

  it('stopped: /readyz 503 naming the store, POST /runs and /classifications 503 leaving nothing; back: 200 and 202', async () => {
    const up = await readyzAnswering(base, 200);
    assert.deepEqual(up.store, { url: 's3://outage/tf', endpoint: s3.endpoint, state: 'ok' });

    await s3.stop();
    try {
      const down = await readyzAnswering(base, 503);
      assert.equal(down.ready, false);
      assert.deepEqual(down.store, { url: 's3://outage/tf', endpoint: s3.endpoint, state: 'unreachable' });
      assert.match(
        down.problem ?? '',
        /^storage s3:\/\/outage\/tf \(TICKETFLOW_STORAGE_URL\) cannot be used: it does not answer: .*http:\/\/127\.0\.0\.1:\d+.*ECONNREFUSED/,
      );
      assert.doesNotMatch(down.problem ?? '', /no live worker/, 'the worker is alive');

      const started = performance.now();
      const run = await request(base, 'POST', '/runs', { dataset: 'sample.json' });
      assert.ok(performance.now() - started < 2000, 'answered at once');
      assert.equal(run.status, 503, JSON.stringify(run.json));
      assert.match(run.json.error, /storage s3:\/\/outage\/tf .*cannot be used: it does not answer/);
      const cls = await request(base, 'POST', '/classifications', { dataset: 'sample.json' });
      assert.equal(cls.status, 503, JSON.stringify(cls.json));
      assert.match(cls.json.error, /storage s3:\/\/outage\/tf .*cannot be used/);
      const retried = await request(base, 'POST', '/runs/20990101-000000-abcdef/retry');
      assert.equal(retried.status, 503, JSON.stringify(retried.json));
      assert.match(retried.json.error, /storage s3:\/\/outage\/tf .*cannot be used/);
      await assertNothingCreated();
    } finally {
      await s3.start();
    }
    await assertNoObjects();

    // The first 200 after failures is a fresh check, reused for 5 s: a POST at once passes the gate, and
    // finds the store gone only when it writes.
    const back = await readyzAnswering(base, 200);
    assert.equal(back.store?.state, 'ok');
    await s3.stop();
    try {
      const lost = await request(base, 'POST', '/runs', { dataset: 'sample.json' });
      assert.equal(lost.status, 503, JSON.stringify(lost.json));
      assert.match(
        lost.json.error,
        /^storage s3:\/\/outage\/tf \(TICKETFLOW_STORAGE_URL\) cannot be used: it does not answer: cannot write runs\//,
      );
      await assertNothingCreated();
    } finally {
      await s3.start();
    }
    await assertNoObjects();
    await readyzAnswering(base, 200);
    const run = await request(base, 'POST', '/runs', { dataset: 'sample.json' });
    assert.equal(run.status, 202, JSON.stringify(run.json));
    // Not this test's subject: the run is stopped rather than waited for.
    assert.equal((await request(base, 'POST', `/runs/${run.json.id}/cancel`)).status, 200);
  });

  for (const [label, env, state, reason] of [
    [
      'an unknown access key',
      { AWS_ACCESS_KEY_ID: 'WRONG' },
      'access-denied',
      /access denied: check AWS_ACCESS_KEY_ID/,
    ],
    ['a missing bucket', { TICKETFLOW_STORAGE_URL: 's3://no-such-bucket/tf' }, 'no-bucket', /no such bucket/],
  ] as const) {
    it(`${label}: /readyz 503 and POST /runs 503, both saying so`, async () => {
      const config = testConfig({ ...s3.env('tf'), ...env, TICKETFLOW_DATA_DIR: stack.dataDir });
      let api: { runs: RunsContext; server: http.Server; base: string } | undefined;
      try {
        api = await serveApi(config);
        const res = await request(api.base, 'GET', '/readyz');
        assert.equal(res.status, 503, JSON.stringify(res.json));
        const body = res.json as Readyz;
        assert.equal(body.store?.state, state);
        assert.equal(body.store?.url, config.storage.kind === 's3' ? `s3://${config.storage.bucket}/tf` : '');
        assert.match(body.problem ?? '', reason);
        assert.doesNotMatch(JSON.stringify(body), /S3RVER/, 'no credential is shown');
        const run = await request(api.base, 'POST', '/runs', { dataset: 'sample.json' });
        assert.equal(run.status, 503, JSON.stringify(run.json));
        assert.match(run.json.error, reason);
        assert.deepEqual((await api.runs.store.list({ limit: 10 })).runs, []);
      } finally {
        api?.server.close();
        if (api) {
          await closeRunsContext(api.runs);
          api.runs.redis.disconnect();
        }
        await cleanup(config);
      }
    });
  }
});
