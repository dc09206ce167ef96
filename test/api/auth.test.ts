/**
 * Exposure hardening over real HTTP: the API token (Bearer for the API, Bearer or Basic for Bull Board),
 * the read-only board, the bind address (HOST, default loopback) and the refusal to listen beyond loopback
 * without a token.
 */
import { apiProcessEnvs } from '../helpers/api-processes';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { AddressInfo } from 'node:net';
import { appRoutes } from '@bull-board/api/dist/routes.js';
import { resolveConfig } from '../../shared/core/config/config';
import { BadInputError } from '../../shared/core/errors';
import { QUEUES } from '../../shared/runtime/flow/queue-names';
import { createApp } from '../../producers/api/app';
import { exposureCheck, isLoopbackHost, parseAuthorization, tokenMatches } from '../../producers/api/auth';
import { SampleStack, Stack, startSampleStack, startStack, waitForRun } from '../helpers/stack';
import { quietLog, SAMPLE_DATASET, tempDir } from '../helpers/env';
import { API_MAIN, Proc, spawnNode, waitFor } from '../helpers/processes';

const TOKEN = randomBytes(24).toString('hex');
// Each test sets the token itself; an inherited one (set but empty, the API refuses to start) must not leak in.
delete process.env.TICKETFLOW_API_TOKEN;
const bearer = (token = TOKEN) => ({ authorization: `Bearer ${token}` });
const basic = (password: string, user = 'anyone') => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

/** One request; a body is sent as JSON. The answer's body as text, and parsed when it is JSON. */
async function request(
  baseUrl: string,
  method: string,
  route: string,
  opts: { headers?: Record<string, string>; body?: unknown } = {},
): Promise<Answer> {
  const res = await fetch(`${baseUrl}${route}`, {
    method,
    headers: opts.body === undefined ? opts.headers : { 'content-type': 'application/json', ...opts.headers },
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* HTML or empty */
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** The API routes that need the token, and a body for those that take one. */
const API_ROUTES: [string, string, unknown?][] = [
  ['GET', '/runs'],
  ['GET', '/runs/20990101-000000-abcdef'],
  ['POST', '/runs', { dataset: 'sample.json' }],
  ['POST', '/runs/20990101-000000-abcdef/retry'],
  ['POST', '/runs/20990101-000000-abcdef/cancel'],
  ['DELETE', '/runs/20990101-000000-abcdef'],
  ['GET', '/readyz'],
  ['GET', '/'],
  ['GET', '/nowhere'],
];

/** Board write routes named in the issue: they must never run unauthenticated, nor in read-only mode. */
const BOARD_WRITES: [string, string, unknown?][] = [
  ['PUT', '/board/api/queues/training/clean/failed'],
  ['PUT', '/board/api/queues/training/retry/failed'],
  ['PUT', '/board/api/queues/training/pause'],
  ['POST', '/board/api/queues/text-processing/add', { name: 'injected', data: { runId: 'nope' } }],
];

/**
 * A body every write route of the board accepts (its schemas ignore fields they do not know): the board
 * validates bodies before it looks at read-only mode, so an invalid body would answer 400, not 405.
 */
const VALID_BODY = {
  name: 'injected',
  data: { runId: 'nope' },
  jobData: { runId: 'nope' },
  runAt: Date.now() + 86_400_000,
  priority: 1,
  concurrency: 1,
  every: 60_000,
};

/**
 * Every write route (not GET) of the installed @bull-board/api, with its parameters filled in: checked
 * whole, so a board upgrade that adds a write route is caught by these tests.
 */
function allBoardWrites(jobId: string): [string, string, unknown][] {
  const routes: [string, string, unknown][] = [];
  for (const def of appRoutes.api) {
    const methods = Array.isArray(def.method) ? def.method : [def.method];
    const paths = Array.isArray(def.route) ? def.route : [def.route];
    for (const method of methods) {
      if (method.toLowerCase() === 'get') continue;
      for (const p of paths) {
        const route = p
          .replace(':queueName', 'training')
          .replace(':queueStatus', 'failed')
          .replace(':jobId', encodeURIComponent(jobId))
          .replace(':schedulerId', 'no-such-scheduler');
        routes.push([method.toUpperCase(), `/board${route}`, VALID_BODY]);
      }
    }
  }
  return routes;
}

/** Counts of every queue and whether any is paused: what a refused write must leave unchanged. */
async function queueState(stack: Stack): Promise<string> {
  const state: Record<string, unknown> = {};
  for (const [name, queue] of Object.entries(stack.queues)) {
    state[name] = { counts: await queue.getJobCounts(), paused: await queue.isPaused() };
  }
  return JSON.stringify(state);
}

function assertUnauthorized(res: Answer, label: string, scheme: 'Bearer' | 'Basic'): void {
  assert.equal(res.status, 401, `${label}: ${res.text}`);
  assert.match(res.headers.get('www-authenticate') ?? '', new RegExp(`^${scheme} realm="ticketflow"`), label);
  assert.equal(typeof res.json?.error, 'string', `${label}: a JSON error`);
}

describe('auth helpers and configuration', () => {
  it('reads HOST, TICKETFLOW_API_TOKEN, TICKETFLOW_ALLOW_INSECURE, TICKETFLOW_BOARD_READONLY with defaults', () => {
    const c = resolveConfig({});
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.apiToken, null);
    assert.equal(c.allowInsecure, false);
    assert.equal(c.boardReadOnly, false);
    const set = resolveConfig({
      HOST: '[::]',
      TICKETFLOW_API_TOKEN: TOKEN,
      TICKETFLOW_ALLOW_INSECURE: '1',
      TICKETFLOW_BOARD_READONLY: 'true',
    });
    assert.equal(set.host, '::');
    assert.equal(set.apiToken, TOKEN);
    assert.equal(set.allowInsecure, true);
    assert.equal(set.boardReadOnly, true);
    const blank = resolveConfig({ TICKETFLOW_API_TOKEN: '  ' });
    assert.equal(blank.apiToken, null, 'blank is no token');
    assert.equal(blank.apiTokenBlank, true, 'but told apart from unset');
    assert.equal(c.apiTokenBlank, false);
  });

  it('lists every bad new variable in one message, without echoing the token', () => {
    const secret = 'short secret';
    assert.throws(
      () =>
        resolveConfig({
          HOST: 'not a host',
          TICKETFLOW_API_TOKEN: secret,
          TICKETFLOW_ALLOW_INSECURE: 'maybe',
          TICKETFLOW_BOARD_READONLY: '2',
          PORT: 'eighty',
        }),
      (err: Error) =>
        err instanceof BadInputError &&
        /HOST must be an IP address or a host name/.test(err.message) &&
        /TICKETFLOW_API_TOKEN must hold 16 to 4096 visible ASCII characters/.test(err.message) &&
        /TICKETFLOW_ALLOW_INSECURE must be 1 or 0/.test(err.message) &&
        /TICKETFLOW_BOARD_READONLY must be 1 or 0/.test(err.message) &&
        /PORT must be an integer/.test(err.message) &&
        !err.message.includes(secret),
    );
  });

  it('compares tokens, parses credentials and tells loopback from other addresses', () => {
    assert.equal(tokenMatches(TOKEN, TOKEN), true);
    assert.equal(tokenMatches(TOKEN.slice(0, -1), TOKEN), false);
    assert.equal(tokenMatches('', TOKEN), false);
    assert.deepEqual(parseAuthorization(`bearer ${TOKEN}`), { scheme: 'bearer', token: TOKEN });
    assert.deepEqual(parseAuthorization(basic('p:w', 'u').authorization), {
      scheme: 'basic',
      user: 'u',
      password: 'p:w',
    });
    assert.equal(parseAuthorization('Basic !!!'), null);
    assert.equal(parseAuthorization('Digest x'), null);
    assert.equal(parseAuthorization(undefined), null);
    for (const h of ['127.0.0.1', '127.8.9.10', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'localhost'])
      assert.equal(isLoopbackHost(h), true, h);
    for (const h of ['0.0.0.0', '::', '10.1.2.3', '::ffff:10.1.2.3', 'example.com', 'api'])
      assert.equal(isLoopbackHost(h), false, h);
    const base = { port: 3000, apiToken: null, apiTokenBlank: false, allowInsecure: false };
    assert.deepEqual(exposureCheck({ ...base, host: '127.0.0.1' }), { warn: null });
    assert.deepEqual(exposureCheck({ ...base, host: '0.0.0.0', apiToken: TOKEN }), { warn: null });
    assert.match((exposureCheck({ ...base, host: '0.0.0.0' }) as { refuse: string }).refuse, /refusing/);
    assert.match(
      (exposureCheck({ ...base, host: '0.0.0.0', allowInsecure: true }) as { warn: string }).warn,
      /without TICKETFLOW_API_TOKEN/,
    );
  });
});

describe('HTTP API without a token', () => {
  let stack: SampleStack;
  before(async () => {
    stack = await startSampleStack('data', { api: true, env: { TICKETFLOW_BOARD_READONLY: '' } });
  });
  after(async () => {
    await stack?.close();
  });

  it('answers every route as before, with no credentials', async () => {
    const base = stack.baseUrl!;
    assert.equal((await request(base, 'GET', '/healthz')).status, 200);
    assert.equal((await request(base, 'GET', '/runs')).status, 200);
    const created = await request(base, 'POST', '/runs', { body: { dataset: 'sample.json' } });
    assert.equal(created.status, 202, created.text);
    assert.equal((await request(base, 'GET', `/runs/${created.json.id}`)).status, 200);
    const ready = await request(base, 'GET', '/readyz');
    assert.equal(ready.status, 503, 'no worker runs in this stack');
    assert.equal(ready.json.ready, false);
    const board = await request(base, 'GET', '/board');
    assert.equal(board.status, 200);
    assert.match(board.text, /<html/i);
    const queues = await request(base, 'GET', '/board/api/queues');
    assert.equal(queues.status, 200);
    assert.equal(queues.json.queues.length, QUEUES.length);
    assert.ok(queues.json.queues.every((q: { readOnlyMode: boolean }) => q.readOnlyMode === false));
  });
});

describe('HTTP API with TICKETFLOW_API_TOKEN', () => {
  let stack: Stack;
  let dataDir: string;
  let failedJobId: string;
  let readOnly: http.Server | undefined;
  let readOnlyUrl: string;
  before(async () => {
    dataDir = tempDir('data');
    fs.copyFileSync(SAMPLE_DATASET, path.join(dataDir, 'sample.json'));
    fs.writeFileSync(path.join(dataDir, 'broken.json'), '[{"_source": 7}]');
    stack = await startStack({
      workers: 1,
      api: true,
      env: {
        TICKETFLOW_DATA_DIR: dataDir,
        TICKETFLOW_API_TOKEN: TOKEN,
        TICKETFLOW_BOARD_READONLY: '',
        TICKETFLOW_BOARD_WRITABLE: '1',
      },
    });
    // A failed run leaves failed jobs in the queues (its training job too, failed with its child): what a
    // refused clean or retry must leave where it is.
    const res = await request(stack.baseUrl!, 'POST', '/runs', {
      headers: bearer(),
      body: { dataset: 'broken.json' },
    });
    assert.equal(res.status, 202, res.text);
    assert.equal((await waitForRun(stack.runs, res.json.id)).state, 'failed');
    const failed = await waitFor(
      'a failed training job',
      async () => (await stack.queues.training.getJobs(['failed']))[0],
      10_000,
    );
    failedJobId = failed.id!;
    // The same deployment served by a second API in read-only board mode.
    const server = createApp(
      { ...stack.runs, config: { ...stack.config, boardReadOnly: true } },
      quietLog,
    ).listen(0, '127.0.0.1');
    readOnly = server;
    await new Promise<void>((r) => server.once('listening', () => r()));
    readOnlyUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    // Whatever part of before() ran: the stack's worker processes must never outlive the test.
    try {
      const server = readOnly;
      if (server) await new Promise<void>((r) => server.close(() => r()));
    } finally {
      await stack?.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('keeps /healthz open', async () => {
    const res = await request(stack.baseUrl!, 'GET', '/healthz');
    assert.equal(res.status, 200);
    assert.equal(res.json.ok, true);
  });

  it('answers 401 with a Bearer challenge on every API route without the token or with a wrong one', async () => {
    const before = await queueState(stack);
    const runsBefore = (await stack.runs.store.list({ limit: 1000 })).runs.length;
    for (const [method, route, body] of API_ROUTES) {
      for (const [label, headers] of [
        ['no credentials', {}],
        ['wrong token', bearer(`${TOKEN}x`)],
        ['token as Basic', basic(TOKEN)],
        ['empty Bearer', { authorization: 'Bearer ' }],
      ] as [string, Record<string, string>][]) {
        const res = await request(stack.baseUrl!, method, route, { headers, body });
        assertUnauthorized(res, `${method} ${route} (${label})`, 'Bearer');
      }
    }
    const wrong = await request(stack.baseUrl!, 'GET', '/runs', { headers: bearer('x'.repeat(48)) });
    assert.match(wrong.headers.get('www-authenticate')!, /error="invalid_token"/);
    assert.equal(
      (await stack.runs.store.list({ limit: 1000 })).runs.length,
      runsBefore,
      'no run was created',
    );
    assert.equal(await queueState(stack), before, 'no queue changed');
  });

  it('answers with the Bearer token', async () => {
    const base = stack.baseUrl!;
    const list = await request(base, 'GET', '/runs', { headers: bearer() });
    assert.equal(list.status, 200);
    const created = await request(base, 'POST', '/runs', {
      headers: bearer(),
      body: { dataset: 'sample.json', params: { chunkSize: 500 } },
    });
    assert.equal(created.status, 202, created.text);
    const shown = await request(base, 'GET', `/runs/${created.json.id}`, { headers: bearer() });
    assert.equal(shown.status, 200);
    assert.equal(shown.json.id, created.json.id);
    await waitForRun(stack.runs, created.json.id);
    const ready = await waitFor(
      '/readyz 200 with the token',
      async () => {
        const r = await request(base, 'GET', '/readyz', { headers: bearer() });
        return r.status === 200 ? r : undefined;
      },
      15_000,
    );
    assert.equal(ready.json.ready, true);
    assert.equal(
      (await request(base, 'GET', '/runs/20990101-000000-abcdef', { headers: bearer() })).status,
      404,
    );
  });

  it('guards /board and /board/api with a Basic challenge; Bearer and Basic (token as password) log in', async () => {
    const base = stack.baseUrl!;
    for (const route of [
      '/board',
      '/board/',
      '/board/queue/training',
      '/board/api/queues',
      '/BOARD/api/queues',
    ]) {
      for (const [label, headers] of [
        ['no credentials', {}],
        ['wrong Basic password', basic(`${TOKEN}x`)],
        [
          'token as Basic user name',
          { authorization: `Basic ${Buffer.from(`${TOKEN}:`).toString('base64')}` },
        ],
        ['wrong Bearer', bearer('y'.repeat(48))],
      ] as [string, Record<string, string>][]) {
        const res = await request(base, 'GET', route, { headers });
        assertUnauthorized(res, `GET ${route} (${label})`, 'Basic');
        assert.equal(res.headers.get('www-authenticate'), 'Basic realm="ticketflow"');
      }
    }
    for (const headers of [bearer(), basic(TOKEN), basic(TOKEN, ''), basic(TOKEN, 'admin')]) {
      const page = await request(base, 'GET', '/board', { headers });
      assert.equal(page.status, 200, JSON.stringify(headers));
      assert.match(page.text, /<html/i);
      const queues = await request(base, 'GET', '/board/api/queues', { headers });
      assert.equal(queues.status, 200);
      assert.deepEqual(queues.json.queues.map((q: { name: string }) => q.name).sort(), [...QUEUES].sort());
    }
  });

  it("refuses the board's write routes without the token (401) and changes nothing", async () => {
    const before = await queueState(stack);
    const routes = [...BOARD_WRITES, ...allBoardWrites(failedJobId)];
    assert.ok(routes.length > 20, `the board's write routes were found (${routes.length})`);
    for (const [method, route, body] of routes) {
      for (const headers of [{}, basic('wrong-password-0123456789'), bearer(`${TOKEN}0`)]) {
        const res = await request(stack.baseUrl!, method, route, { headers, body });
        assertUnauthorized(res, `${method} ${route}`, 'Basic');
      }
    }
    assert.equal(await queueState(stack), before, 'no queue changed');
    assert.ok(await stack.queues.training.getJob(failedJobId), 'the failed job is still there');
  });

  it('refuses a cross-site board write that carries Basic credentials (a browser sends them by itself)', async () => {
    const before = await queueState(stack);
    const [, route, body] = BOARD_WRITES[3]!;
    for (const extra of [{ 'sec-fetch-site': 'cross-site' }, { origin: 'http://evil.example' }] as Record<
      string,
      string
    >[]) {
      const res = await request(stack.baseUrl!, 'POST', route, {
        headers: { ...basic(TOKEN), ...extra },
        body,
      });
      assert.equal(res.status, 403, JSON.stringify(extra));
    }
    assert.equal(await queueState(stack), before, 'nothing was added');
  });

  it('lets the token pause and resume a queue from the board when it is not read-only', async () => {
    const paused = await request(stack.baseUrl!, 'PUT', '/board/api/queues/training/pause', {
      headers: bearer(),
    });
    assert.equal(paused.status, 200, paused.text);
    assert.equal(await stack.queues.training.isPaused(), true);
    const resumed = await request(stack.baseUrl!, 'PUT', '/board/api/queues/training/resume', {
      headers: basic(TOKEN),
    });
    assert.equal(resumed.status, 200, resumed.text);
    assert.equal(await stack.queues.training.isPaused(), false);
  });

  it('in read-only mode still needs the token, shows the queues, and refuses every write route', async () => {
    assertUnauthorized(await request(readOnlyUrl, 'GET', '/board/api/queues'), 'read-only board', 'Basic');
    for (const [method, route, body] of BOARD_WRITES)
      assertUnauthorized(await request(readOnlyUrl, method, route, { body }), `${method} ${route}`, 'Basic');
    const queues = await request(readOnlyUrl, 'GET', '/board/api/queues', { headers: basic(TOKEN) });
    assert.equal(queues.status, 200);
    assert.ok(queues.json.queues.every((q: { readOnlyMode: boolean }) => q.readOnlyMode === true));
    const job = await request(readOnlyUrl, 'GET', `/board/api/queues/training/${failedJobId}`, {
      headers: bearer(),
    });
    assert.equal(job.status, 200, 'jobs stay readable');

    const before = await queueState(stack);
    assert.match(before, /"failed":[1-9]/);
    // The issue's routes: @bull-board/api answers 405 ERRORS.QUEUE_READ_ONLY, with the token too.
    for (const [method, route, body] of BOARD_WRITES) {
      for (const headers of [bearer(), basic(TOKEN)]) {
        const res = await request(readOnlyUrl, method, route, { headers, body });
        assert.equal(res.status, 405, `${method} ${route}: ${res.text}`);
        assert.deepEqual(res.json, { error: { key: 'ERRORS.QUEUE_READ_ONLY' } });
      }
    }
    assert.ok(await stack.queues.training.getJob(failedJobId), 'the failed job survived clean and retry');
    assert.equal((await stack.queues.training.getJob(failedJobId))!.failedReason !== undefined, true);
    // Every write route of the installed board: queue-scoped ones answer 405; the board-wide pause/resume
    // skip read-only queues (200, nothing paused). Any other write route is new and must be looked at.
    for (const [method, route, body] of allBoardWrites(failedJobId)) {
      const res = await request(readOnlyUrl, method, route, { headers: bearer(), body });
      if (/^\/board\/api\/queues\/(pause|resume)$/.test(route)) assert.equal(res.status, 200, route);
      else {
        assert.ok(route.startsWith('/board/api/queues/training/'), `unexpected board write route ${route}`);
        assert.equal(res.status, 405, `${method} ${route}: ${res.text}`);
      }
    }
    assert.equal(await queueState(stack), before, 'no queue changed: counts and paused state as before');
  });
});

describe('bind address and the refusal to listen beyond loopback without a token', () => {
  const procs: Proc[] = [];
  const apis = apiProcessEnvs('bind');
  after(() => apis.close());

  /** The API process's environment, with HOST and TICKETFLOW_ALLOW_INSECURE unset unless a test sets them. */
  const apiEnv = (extra: Record<string, string>) =>
    apis.env({ HOST: '', TICKETFLOW_ALLOW_INSECURE: '', ...extra });

  async function started(proc: Proc, port: number): Promise<void> {
    await waitFor(
      `${proc.label} answering /healthz on 127.0.0.1:${port}`,
      async () => {
        if (!proc.running()) throw new Error(`${proc.label} exited: ${proc.stderr()}`);
        const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1000) });
        return res.status === 200 ? true : undefined;
      },
      20_000,
      50,
    );
    await waitFor(
      'the "listening on" log line',
      () => (/listening on/.test(proc.stderr()) ? true : undefined),
      5000,
    );
  }

  it('refuses HOST=0.0.0.0 without a token: exit 1 with a message saying what to set', async () => {
    const { env, port } = await apiEnv({ HOST: '0.0.0.0' });
    const api = spawnNode('api 0.0.0.0 without token', API_MAIN, [], env);
    procs.push(api);
    const code = await Promise.race([api.exited, new Promise((r) => setTimeout(() => r('timeout'), 15_000))]);
    assert.equal(code, 1, `exit code; stderr: ${api.stderr()}`);
    assert.match(
      api.stderr(),
      new RegExp(`refusing to listen on 0\\.0\\.0\\.0:${port} without authentication`),
    );
    assert.match(api.stderr(), /TICKETFLOW_API_TOKEN/);
    assert.match(api.stderr(), /TICKETFLOW_ALLOW_INSECURE=1/);
    await api.stop();
  });

  it('starts on HOST=0.0.0.0 without a token when TICKETFLOW_ALLOW_INSECURE=1, and warns', async () => {
    const { env, port } = await apiEnv({ HOST: '0.0.0.0', TICKETFLOW_ALLOW_INSECURE: '1' });
    const api = spawnNode('api 0.0.0.0 insecure', API_MAIN, [], env);
    procs.push(api);
    try {
      await started(api, port);
      assert.match(api.stderr(), /warn.*without TICKETFLOW_API_TOKEN \(TICKETFLOW_ALLOW_INSECURE=1\)/);
      assert.match(
        api.stderr(),
        new RegExp(`listening on http://0\\.0\\.0\\.0:${port} \\(no authentication`),
      );
      assert.equal((await fetch(`http://127.0.0.1:${port}/runs`)).status, 200, 'open, as allowed');
    } finally {
      await api.stop('SIGTERM', 5000);
    }
  });

  it('listens on 127.0.0.1 only by default (HOST unset)', async () => {
    const { env, port } = await apiEnv({});
    const api = spawnNode('api default host', API_MAIN, [], env);
    procs.push(api);
    try {
      await started(api, port);
      assert.match(api.stderr(), new RegExp(`listening on http://127\\.0\\.0\\.1:${port} `));
      const others = Object.values(os.networkInterfaces())
        .flat()
        .filter((a) => a !== undefined && a.family === 'IPv4' && !a.internal)
        .map((a) => a!.address);
      if (others.length > 0) {
        for (const address of others) {
          await assert.rejects(
            fetch(`http://${address}:${port}/healthz`, { signal: AbortSignal.timeout(2000) }),
            `not reachable on ${address}`,
          );
        }
      } else {
        process.stderr.write('auth test: no non-loopback IPv4 address here: checking the socket with ss\n');
      }
      let ss = '';
      try {
        ss = execFileSync('ss', ['-Hltn', `sport = :${port}`], { encoding: 'utf8' });
      } catch {
        /* no ss: the log line and the connection attempts above are the check */
      }
      if (ss.trim() !== '') {
        const locals = ss
          .trim()
          .split('\n')
          .map((l) => l.trim().split(/\s+/)[3]);
        assert.deepEqual(locals, [`127.0.0.1:${port}`], ss);
      } else assert.ok(others.length > 0, 'neither another address nor ss to check the bind address with');
    } finally {
      await api.stop('SIGTERM', 5000);
    }
  });
});
