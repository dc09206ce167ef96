/**
 * What a browser page of another site, or one whose name was rebound to this address, can do to the API
 * (nothing), the security headers on every response (and that the pages still work under their CSPs in
 * a real Chromium), the empty-token refusal and the board's default mode, and the JSON depth limit.
 */
import { apiProcessEnvs } from '../helpers/api-processes';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import { resolveConfig } from '../../shared/core/config/config';
import { BadInputError } from '../../shared/core/errors';
import { freePort } from '../../shared/runtime/redis/local-redis';
import { createApp } from '../../producers/api/app';
import { writableBoardWarning } from '../../producers/api/auth';
import { jsonTooDeepAt, MAX_JSON_DEPTH } from '../../producers/api/json-body';
import { crossOriginReason } from '../../producers/api/auth';
import { hostAllowed, hostNameOf } from '../../producers/api/request-guard';
import { SampleStack, Stack, startSampleStack } from '../helpers/stack';
import { quietLog, tempDir } from '../helpers/env';
import { API_MAIN, spawnNode, waitFor, WORKER_MAIN } from '../helpers/processes';
import { chromiumSkip, launchChromium } from '../helpers/browser';

// Each test sets the token itself.
delete process.env.TICKETFLOW_API_TOKEN;

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: any;
}

/** One request over node:http, which (unlike fetch) sends any `Host` header it is given. */
function send(
  baseUrl: string,
  method: string,
  route: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<Answer> {
  const url = new URL(route, baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method,
        headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
        timeout: 10_000,
        agent: false, // a fresh connection each: a refused request's unread body may close the socket
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          let json: any = null;
          try {
            json = JSON.parse(text);
          } catch {
            /* not JSON */
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`${method} ${route}: no answer`)));
    req.end(body);
  });
}

const nested = (depth: number, leaf = '1') => '{"a":'.repeat(depth) + leaf + '}'.repeat(depth);

/** startStack's connection may still be running its ready check; the API answers 503 until it is done. */
async function connected(stack: Stack): Promise<void> {
  if (stack.connection.status !== 'ready')
    await new Promise<void>((r) => stack.connection.once('ready', () => r()));
}

async function listen(app: http.RequestListener): Promise<{ server: http.Server; base: string }> {
  const server = http.createServer(app).listen(0, '127.0.0.1');
  await new Promise<void>((r) => server.once('listening', () => r()));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('Host and Origin checks, headers and JSON depth over HTTP (no token, loopback)', () => {
  let stack: SampleStack;
  let base: string;
  let port: string;
  let allowing: { server: http.Server; base: string };
  const runCount = async () => (await stack.runs.store.list({ limit: 1000 })).runs.length;
  before(async () => {
    stack = await startSampleStack('sec-data', { api: true });
    await connected(stack);
    base = stack.baseUrl!;
    port = new URL(base).port;
    // The same deployment answering to one more name and trusting one more origin.
    const config = {
      ...stack.config,
      allowedHosts: ['tickets.example'],
      allowedOrigins: ['https://ops.example'],
    };
    allowing = await listen(createApp({ ...stack.runs, config }, quietLog));
  });
  after(async () => {
    allowing?.server.close();
    await stack?.close();
  });

  it('refuses a rebound name as Host on every route but /healthz, creating nothing', async () => {
    const evil = { host: `evil.example:${port}` };
    const before = await runCount();
    const created = await send(
      base,
      'POST',
      '/runs',
      { ...evil, origin: `http://evil.example:${port}` },
      '{"dataset":"sample.json"}',
    );
    assert.equal(created.status, 403, created.text);
    assert.match(
      created.json.error,
      /does not answer to the host name "evil\.example".*TICKETFLOW_ALLOWED_HOSTS/,
    );
    // Without Origin too (a rebinding page's request is same-origin for the browser).
    assert.equal((await send(base, 'POST', '/runs', evil, '{"dataset":"sample.json"}')).status, 403);
    for (const route of [
      '/runs',
      '/runs/20990101-000000-abcdef',
      '/runs/20990101-000000-abcdef/timeline',
      '/runs/20990101-000000-abcdef/report?live=1',
      '/ui',
      '/ui/app.js',
      '/board',
      '/board/api/queues',
      '/readyz',
      '/models',
      '/',
    ]) {
      const res = await send(base, 'GET', route, evil);
      assert.equal(res.status, 403, `GET ${route}: ${res.text.slice(0, 200)}`);
    }
    const paused = await send(base, 'PUT', '/board/api/queues/training/pause', evil);
    assert.equal(paused.status, 403);
    assert.equal(await stack.queues.training.isPaused(), false);
    for (const host of ['evil.example.', 'localhost.evil.example', '127.0.0.1.nip.io', 'user@127.0.0.1']) {
      const res = await send(base, 'GET', '/runs', { host });
      assert.equal(res.status, 403, `Host ${JSON.stringify(host)}`);
    }
    assert.equal(await runCount(), before, 'no run was created');
    // Probes address containers by their service name: /healthz answers whatever the Host.
    assert.equal((await send(base, 'GET', '/healthz', { host: 'api:3000' })).status, 200);
  });

  it('answers loopback names and addresses, and names listed in TICKETFLOW_ALLOWED_HOSTS', async () => {
    for (const host of [
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      `LOCALHOST:${port}`,
      `[::1]:${port}`,
      'localhost',
    ]) {
      const res = await send(base, 'GET', '/runs', { host });
      assert.equal(res.status, 200, `Host ${host}: ${res.text}`);
    }
    assert.equal((await send(base, 'GET', '/runs', { host: 'tickets.example' })).status, 403);
    assert.equal((await send(allowing.base, 'GET', '/runs', { host: 'tickets.example:443' })).status, 200);
    assert.equal((await send(allowing.base, 'GET', '/runs', { host: 'evil.example' })).status, 403);
  });

  it('refuses state-changing requests from other origins; same-origin pages, curl and allowed origins pass', async () => {
    const before = await runCount();
    const host = `127.0.0.1:${port}`;
    const body = '{"dataset":"sample.json"}';
    for (const extra of [
      { origin: 'http://evil.example' },
      { origin: `http://localhost:${port}` }, // another origin of the same machine
      { origin: 'null' },
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site', origin: `http://127.0.0.1:8080` },
      { 'sec-fetch-site': 'cross-site', origin: `http://${host}` },
    ] as Record<string, string>[]) {
      const res = await send(base, 'POST', '/runs', { host, ...extra }, body);
      assert.equal(res.status, 403, JSON.stringify(extra));
      assert.match(res.json.error, /cross-origin POST refused .*TICKETFLOW_ALLOWED_ORIGINS/);
    }
    for (const [method, route] of [
      ['DELETE', '/runs/20990101-000000-abcdef'],
      ['POST', '/runs/20990101-000000-abcdef/cancel'],
      ['PUT', '/models/aliases/production'],
      ['PUT', '/board/api/queues/training/pause'],
      ['POST', '/board/api/queues/training/add'],
    ] as const) {
      const res = await send(base, method, route, { host, 'sec-fetch-site': 'cross-site' }, '{}');
      assert.equal(res.status, 403, `${method} ${route}: ${res.text}`);
    }
    assert.equal(await stack.queues.training.isPaused(), false);
    assert.equal((await stack.queues.training.getJobCounts('waiting')).waiting, 0, 'no job added');
    assert.equal(await runCount(), before, 'no run was created');
    // GET from anywhere is harmless: the browser does not let the other page read the answer.
    assert.equal((await send(base, 'GET', '/runs', { host, 'sec-fetch-site': 'cross-site' })).status, 200);

    const ok: Record<string, string>[] = [
      {}, // curl, scripts
      { origin: `http://${host}` },
      { 'sec-fetch-site': 'same-origin', origin: `http://${host}` },
      { 'sec-fetch-site': 'none' },
    ];
    for (const extra of ok) {
      const res = await send(base, 'POST', '/runs', { host, ...extra }, body);
      assert.equal(res.status, 202, `${JSON.stringify(extra)}: ${res.text}`);
    }
    const listed = await send(
      allowing.base,
      'POST',
      '/runs',
      { host, origin: 'https://ops.example', 'sec-fetch-site': 'cross-site' },
      body,
    );
    assert.equal(listed.status, 202, listed.text);
  });

  it('sets nosniff, DENY framing and a CSP on every response; pages get their own policy', async () => {
    const created = await send(base, 'POST', '/runs', {}, '{"dataset":"sample.json"}');
    assert.equal(created.status, 202);
    const id = created.json.id as string;
    const pages: [string, RegExp][] = [
      ['/ui', /script-src 'self'/],
      [`/runs/${id}/report?live=1`, /^default-src 'none'; style-src 'unsafe-inline'/],
      ['/board', /script-src 'self'; style-src 'self' 'unsafe-inline'/],
      ['/board/', /script-src 'self'/],
    ];
    const others = [
      '/healthz',
      '/runs',
      `/runs/${id}`,
      `/runs/${id}/report`, // 404: a waiting run has no report yet
      '/ui/app.js',
      '/board/api/queues',
      '/nowhere',
      '/',
    ];
    const check = (res: Answer, label: string) => {
      assert.equal(res.headers['x-content-type-options'], 'nosniff', label);
      assert.equal(res.headers['x-frame-options'], 'DENY', label);
      assert.match(String(res.headers['content-security-policy']), /frame-ancestors 'none'/, label);
      assert.equal(res.headers['x-powered-by'], undefined, label);
    };
    for (const [route, policy] of pages) {
      const res = await send(base, 'GET', route);
      assert.equal(res.status, 200, route);
      check(res, route);
      assert.match(String(res.headers['content-security-policy']), policy, route);
    }
    for (const route of others) {
      const res = await send(base, 'GET', route);
      check(res, route);
      assert.match(String(res.headers['content-security-policy']), /^default-src 'none'/, route);
    }
    check(await send(base, 'GET', '/runs', { host: 'evil.example' }), 'a refused Host');
    check(await send(base, 'POST', '/runs', {}, '{'), 'bad JSON');
  });

  it('answers 400 naming the limit for JSON nested too deeply, on every route that reads a body', async () => {
    const before = await runCount();
    const deep = nested(5000);
    const bodies: [string, string, string][] = [
      ['POST', '/runs', `{"dataset":"sample.json","params":${deep}}`],
      ['POST', '/runs', `[${'['.repeat(100_000)}${']'.repeat(100_000)}]`],
      ['POST', '/classify', `{"text":"x","model":${deep}}`],
      ['POST', '/classifications', `{"dataset":"sample.json","params":${deep}}`],
      ['PUT', '/models/aliases/production', `{"version":${deep}}`],
      ['POST', '/runs/20990101-000000-abcdef/retry', deep],
    ];
    for (const [method, route, body] of bodies) {
      const res = await send(base, method, route, {}, body);
      assert.equal(res.status, 400, `${method} ${route}: ${res.text.slice(0, 300)}`);
      assert.match(res.json.error, new RegExp(`deeper than ${MAX_JSON_DEPTH} levels`));
    }
    assert.equal(await runCount(), before, 'no run was created');
    // The board's own routes read bodies too (the board is writable without a token).
    const add = await send(
      base,
      'POST',
      '/board/api/queues/text-processing/add',
      {},
      `{"name":"x","data":${deep}}`,
    );
    assert.equal(add.status, 400, add.text.slice(0, 300));
    assert.equal(
      (await stack.queues['text-processing'].getJobs(['waiting'])).filter((j) => j.name === 'x').length,
      0,
    );
    // Brackets inside strings are text; exactly the limit is fine.
    const inString = await send(base, 'POST', '/runs', {}, `{"dataset":"${'['.repeat(5000)}"}`);
    assert.equal(inString.status, 400);
    assert.doesNotMatch(inString.json.error, /deeper than/);
    const atLimit = await send(
      base,
      'POST',
      '/runs',
      {},
      `{"dataset":"sample.json","params":${nested(MAX_JSON_DEPTH - 1)}}`,
    );
    assert.equal(atLimit.status, 400);
    assert.doesNotMatch(atLimit.json.error, /deeper than/, 'refused by the parameter check, not the depth');
  });
});

describe('security helpers and configuration', () => {
  it('counts JSON depth outside strings, iteratively', () => {
    assert.equal(jsonTooDeepAt('{"a":[1,{"b":2}]}', 3), null);
    assert.equal(jsonTooDeepAt('{"a":[1,{"b":2}]}', 2), 8);
    assert.equal(jsonTooDeepAt('{"a":"[[[[\\"[[[["}', 1), null);
    assert.equal(jsonTooDeepAt('"\\\\"[[', 1), 5, 'an escaped backslash ends before the quote');
    assert.equal(jsonTooDeepAt(Buffer.from(nested(1_000_000)), 64), 64 * 5);
  });

  it('reads Host headers and tells allowed hosts and origins apart', () => {
    assert.equal(hostNameOf('LocalHost.:3000'), 'localhost');
    assert.equal(hostNameOf('[::1]:80'), '::1');
    assert.equal(hostNameOf('a b'), null);
    assert.equal(hostNameOf('x/y'), null);
    const config = { host: '127.0.0.1', allowedHosts: ['tickets.example'] };
    for (const name of ['127.0.0.1', '127.1.2.3', 'localhost', 'app.localhost', '::1', 'tickets.example'])
      assert.equal(hostAllowed(name, config), true, name);
    for (const name of ['evil.example', '10.0.0.5', '0.0.0.0', 'tickets.example.evil'])
      assert.equal(hostAllowed(name, config), false, name);
    const wildcard = { host: '0.0.0.0', allowedHosts: [] };
    assert.equal(hostAllowed('10.0.0.5', wildcard), true, 'any address when listening everywhere');
    assert.equal(hostAllowed('api', wildcard), false, 'but no other name');
    assert.equal(hostAllowed('api', { host: 'api', allowedHosts: [] }), true, 'HOST itself');
    const host = '127.0.0.1:3000';
    assert.equal(crossOriginReason({ host }, []), null);
    assert.equal(crossOriginReason({ host, origin: 'http://127.0.0.1:3000' }, []), null);
    assert.match(crossOriginReason({ host, origin: 'http://127.0.0.1:3001' }, [])!, /Origin/);
    assert.equal(
      crossOriginReason({ host, origin: 'https://ops.example', secFetchSite: 'cross-site' }, [
        'https://ops.example',
      ]),
      null,
    );
  });

  it('reads TICKETFLOW_ALLOWED_HOSTS and TICKETFLOW_ALLOWED_ORIGINS, refusing malformed entries', () => {
    const c = resolveConfig({
      TICKETFLOW_ALLOWED_HOSTS: ' Tickets.Example , [fd00::1],api ',
      TICKETFLOW_ALLOWED_ORIGINS: 'https://ops.example/, http://localhost:8080',
    });
    assert.deepEqual(c.allowedHosts, ['tickets.example', 'fd00::1', 'api']);
    assert.deepEqual(c.allowedOrigins, ['https://ops.example', 'http://localhost:8080']);
    assert.deepEqual(resolveConfig({}).allowedHosts, []);
    assert.throws(
      () =>
        resolveConfig({
          TICKETFLOW_ALLOWED_HOSTS: 'ok.example,evil.example:80',
          TICKETFLOW_ALLOWED_ORIGINS: 'ops.example,https://x.example/path,ftp://y.example',
        }),
      (err: Error) =>
        err instanceof BadInputError &&
        /TICKETFLOW_ALLOWED_HOSTS .* got "evil\.example:80"/.test(err.message) &&
        /got "ops\.example"/.test(err.message) &&
        /got "https:\/\/x\.example\/path"/.test(err.message) &&
        /got "ftp:\/\/y\.example"/.test(err.message),
    );
  });

  it('makes the board read-only by default with a token; WRITABLE opts in; READONLY=1 always wins', () => {
    const token = 'x'.repeat(32);
    const mode = (env: Record<string, string>) => resolveConfig(env).boardReadOnly;
    assert.equal(mode({}), false, 'no token (loopback only): writable');
    assert.equal(mode({ TICKETFLOW_BOARD_WRITABLE: '0' }), true);
    assert.equal(mode({ TICKETFLOW_API_TOKEN: token }), true, 'token: read-only');
    assert.equal(
      mode({ TICKETFLOW_API_TOKEN: token, TICKETFLOW_BOARD_READONLY: '0' }),
      true,
      'as compose passes it',
    );
    assert.equal(mode({ TICKETFLOW_API_TOKEN: token, TICKETFLOW_BOARD_WRITABLE: '1' }), false);
    assert.equal(
      mode({ TICKETFLOW_API_TOKEN: token, TICKETFLOW_BOARD_WRITABLE: '1', TICKETFLOW_BOARD_READONLY: '1' }),
      true,
    );
    assert.equal(mode({ TICKETFLOW_BOARD_READONLY: '1' }), true);
    assert.throws(
      () => mode({ TICKETFLOW_BOARD_WRITABLE: 'sure' }),
      /TICKETFLOW_BOARD_WRITABLE must be 1 or 0/,
    );
    assert.match(
      writableBoardWarning({ apiToken: token, boardReadOnly: false })!,
      /pause.*add jobs with arbitrary data/,
    );
    assert.equal(writableBoardWarning({ apiToken: token, boardReadOnly: true }), null);
    assert.equal(writableBoardWarning({ apiToken: null, boardReadOnly: false }), null);
  });
});

describe('the API process: empty token, board mode at start-up', () => {
  const apis = apiProcessEnvs('sec');
  after(() => apis.close());
  const apiEnv = (extra: Record<string, string>) => apis.env(extra);

  it('refuses to start when TICKETFLOW_API_TOKEN is set but empty or blank', async () => {
    for (const value of ['', '   ']) {
      const { env } = await apiEnv({ TICKETFLOW_API_TOKEN: value });
      const api = spawnNode(`api token ${JSON.stringify(value)}`, API_MAIN, [], env);
      const code = await Promise.race([
        api.exited,
        new Promise((r) => setTimeout(() => r('timeout'), 15_000)),
      ]);
      assert.equal(code, 1, `exit code; stderr: ${api.stderr()}`);
      assert.match(
        api.stderr(),
        /TICKETFLOW_API_TOKEN is set but empty: refusing to start without authentication/,
      );
      await api.stop();
    }
  });

  it('a worker asked to serve metrics refuses to start on an empty TICKETFLOW_API_TOKEN', async () => {
    const { env } = await apiEnv({ TICKETFLOW_API_TOKEN: '' });
    const worker = spawnNode(
      'worker empty token',
      WORKER_MAIN,
      ['--metrics-port', String(await freePort())],
      env,
    );
    const code = await Promise.race([
      worker.exited,
      new Promise((r) => setTimeout(() => r('timeout'), 15_000)),
    ]);
    assert.equal(code, 1, `exit code; stderr: ${worker.stderr()}`);
    assert.match(worker.stderr(), /TICKETFLOW_API_TOKEN is set but empty: refusing to serve metrics/);
    await worker.stop();
  });

  it('with a token: read-only board by default; TICKETFLOW_BOARD_WRITABLE=1 warns at start-up', async () => {
    const token = randomBytes(20).toString('hex');
    for (const writable of [false, true]) {
      const { env, port } = await apiEnv({
        TICKETFLOW_API_TOKEN: token,
        ...(writable ? { TICKETFLOW_BOARD_WRITABLE: '1' } : {}),
      });
      const api = spawnNode(`api board ${writable ? 'writable' : 'default'}`, API_MAIN, [], env);
      try {
        await waitFor(
          'the "listening on" log line',
          () => {
            if (!api.running()) throw new Error(`exited: ${api.stderr()}`);
            return /listening on/.test(api.stderr()) ? true : undefined;
          },
          20_000,
        );
        const warned = /warn.*Bull Board is writable.*token can pause.*add jobs with arbitrary data/.test(
          api.stderr(),
        );
        assert.equal(warned, writable, api.stderr());
        const queues = await send(`http://127.0.0.1:${port}`, 'GET', '/board/api/queues', {
          authorization: `Bearer ${token}`,
        });
        assert.equal(queues.status, 200, queues.text);
        assert.ok(queues.json.queues.every((q: { readOnlyMode: boolean }) => q.readOnlyMode === !writable));
      } finally {
        await api.stop('SIGTERM', 5000);
      }
    }
  });
});

describe(
  'the pages under their CSPs in a real headless Chromium',
  { skip: chromiumSkip, timeout: 60_000 },
  () => {
    let stack: Stack;
    let profile: string;
    before(async () => {
      profile = tempDir('sec-chromium');
      stack = await startSampleStack('sec-ui-data', { api: true });
      await connected(stack);
    });
    after(async () => {
      await stack?.close();
      fs.rmSync(profile, { recursive: true, force: true });
    });

    it('renders /ui, a live report and Bull Board with no CSP violation, and cannot be framed', async () => {
      const created = await send(stack.baseUrl!, 'POST', '/runs', {}, '{"dataset":"sample.json"}');
      assert.equal(created.status, 202, created.text);
      const id = created.json.id as string;
      const browser = await launchChromium(profile);
      try {
        const page = browser.pages()[0] ?? (await browser.newPage());
        const violations: string[] = [];
        page.on('console', (m) => {
          if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
        });
        await page.goto(`${stack.baseUrl}/ui`);
        await page.waitForSelector(`tr.run-row[data-run-id="${id}"]`);
        await page.goto(`${stack.baseUrl}/ui#/runs/${id}`);
        await page.waitForSelector(`.run-report[data-run-id="${id}"]`);
        await page.goto(`${stack.baseUrl}/board/`);
        await page.waitForSelector('text=text-processing', { timeout: 20_000 });
        await page.waitForSelector('text=training-search');
        const sheets = await page.evaluate<number>('document.styleSheets.length');
        assert.ok(sheets >= 1, "the board's stylesheet loaded");
        // Google's font stylesheet is allowed; fonts that fail to load (no network here) are not violations.
        assert.deepEqual(violations, [], 'no CSP violation');

        // A page of another origin framing the runs page or the board gets nothing.
        const html = `<iframe src="${stack.baseUrl}/board/"></iframe><iframe src="${stack.baseUrl}/ui"></iframe>`;
        const framer = await listen((_req, res) => res.setHeader('content-type', 'text/html').end(html));
        try {
          violations.length = 0;
          await page.goto(framer.base);
          await page.waitForTimeout(1000);
          assert.equal(page.frames().length, 3);
          for (const frame of page.frames().slice(1)) {
            const text = await frame
              .evaluate<string>('document.body ? document.body.innerText : ""')
              .catch(() => '');
            assert.doesNotMatch(text, /Bull|ticketflow|Runs/, `framed ${frame.url()}`);
          }
          assert.equal(
            violations.filter((v) => /frame-ancestors 'none'/.test(v)).length,
            2,
            `framing refused: ${violations.join('\n')}`,
          );
        } finally {
          framer.server.close();
        }
      } finally {
        await browser.close();
      }
    });
  },
);
