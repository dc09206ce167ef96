/**
 * Artifacts over HTTP: a completed run's and a classification's objects listed (size, SHA-256, writer) and
 * streamed whole or by range from the store, behind the token; names outside the owner's listing (however
 * spelled) are 404. Once more against an S3 store on s3rver, with objects put into it directly.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { AddressInfo } from 'node:net';
import { SampleStack, startSampleStack, waitForRun } from '../helpers/stack';
import { cleanup, quietLog, testConfig } from '../helpers/env';
import { S3Server } from '../helpers/s3-server';
import { createApp } from '../../producers/api/app';
import { ArtifactStore } from '../../shared/core/store/artifact-store';
import { openStore } from '../../shared/core/store/open-store';
import { createApiConnection } from '../../shared/runtime/flow/connection';
import { closeRunsContext, openRunsContext } from '../../shared/runtime/runs/context';
import { ArtifactListing, contentTypeOf, parseRange } from '../../producers/api/artifacts';

const TOKEN = randomBytes(24).toString('hex');
const AUTH = { authorization: `Bearer ${TOKEN}` };

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  json: any;
}

/** One request with the path sent exactly as written (no client-side "..", "%2F" normalising). */
function get(base: string, route: string, headers: Record<string, string> = AUTH): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${route}`, { method: 'GET', headers, path: route }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({
          status: res.statusCode!,
          headers: res.headers,
          body,
          // the API's own answers (listings, errors), not artifacts that happen to be JSON
          get json(): unknown {
            return JSON.parse(body.toString('utf8'));
          },
        });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function post(base: string, route: string, body: unknown): Promise<any> {
  const res = await fetch(`${base}${route}`, {
    method: 'POST',
    headers: { ...AUTH, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = await res.json();
  assert.equal(res.status, 202, JSON.stringify(json));
  return json;
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** Every file under `dir`, by its "/"-separated path relative to it. */
function filesUnder(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile() || e.name.startsWith('.')) continue;
    const file = path.join(e.parentPath, e.name);
    out.set(path.relative(dir, file).split(path.sep).join('/'), fs.readFileSync(file));
  }
  return out;
}

/** The checks both owners pass: listing against `files`, whole and ranged downloads, 416, 404s, 401. */
async function checkOwner(
  base: string,
  owner: 'runs' | 'classifications',
  id: string,
  files: Map<string, Buffer>,
  expect: { name: string; stage: string; type: string },
): Promise<void> {
  const root = `/${owner}/${id}/artifacts`;
  const listing = await get(base, root);
  assert.equal(listing.status, 200, listing.body.toString());
  const listed = listing.json.artifacts as { name: string; size: number; sha256: string; stage: string }[];
  assert.deepEqual(
    listed.map((a) => a.name),
    [...files.keys()].sort(),
    'every object of the owner, by its name',
  );
  for (const a of listed) {
    const bytes = files.get(a.name)!;
    assert.equal(a.size, bytes.length, `${a.name}'s size`);
    assert.equal(a.sha256, sha256(bytes), `${a.name}'s SHA-256`);
  }
  assert.equal(listed.find((a) => a.name === expect.name)?.stage, expect.stage, `${expect.name}'s writer`);
  // Listed again: the same answer (hashes remembered per content tag).
  assert.deepEqual((await get(base, root)).json, listing.json);

  const bytes = files.get(expect.name)!;
  const whole = await get(base, `${root}/${expect.name}`);
  assert.equal(whole.status, 200);
  assert.ok(whole.body.equals(bytes), 'the whole object');
  assert.equal(whole.headers['content-type'], expect.type);
  assert.equal(whole.headers['content-length'], String(bytes.length));
  assert.equal(whole.headers['accept-ranges'], 'bytes');

  const [a, b] = [3, Math.min(bytes.length - 1, 40)];
  const part = await get(base, `${root}/${expect.name}`, { ...AUTH, range: `bytes=${a}-${b}` });
  assert.equal(part.status, 206);
  assert.equal(part.headers['content-range'], `bytes ${a}-${b}/${bytes.length}`);
  assert.equal(part.headers['content-length'], String(b - a + 1));
  assert.ok(part.body.equals(bytes.subarray(a, b + 1)), 'the range, exactly');
  const tail = await get(base, `${root}/${expect.name}`, { ...AUTH, range: 'bytes=-5' });
  assert.equal(tail.status, 206);
  assert.ok(tail.body.equals(bytes.subarray(bytes.length - 5)), 'the last 5 bytes');

  const beyond = await get(base, `${root}/${expect.name}`, {
    ...AUTH,
    range: `bytes=${bytes.length}-${bytes.length + 10}`,
  });
  assert.equal(beyond.status, 416);
  assert.equal(beyond.headers['content-range'], `bytes */${bytes.length}`);

  for (const name of [
    'no-such.json',
    '..',
    `../${id}/${expect.name}`,
    `..%2F${id}%2F${expect.name}`,
    `%2E%2E%2F${id}%2F${expect.name}`,
    `x/..%2F${expect.name}`,
    `x%2F..%2F${expect.name}`,
    `.%2F${expect.name}`,
  ]) {
    const res = await get(base, `${root}/${name}`);
    assert.equal(res.status, 404, `${name}: ${res.body.toString().slice(0, 200)}`);
  }
  assert.equal((await get(base, `/${owner}/x..y/artifacts`)).status, 404);
  assert.equal((await get(base, `/${owner}/${id}x/artifacts`)).status, 404, 'an owner with no objects');

  assert.equal((await get(base, root, {})).status, 401);
  assert.equal((await get(base, `${root}/${expect.name}`, {})).status, 401);
}

describe('artifacts over HTTP (file store)', () => {
  let stack: SampleStack;
  let base: string;
  before(async () => {
    stack = await startSampleStack('artifacts', {
      workers: 1,
      api: true,
      env: { TICKETFLOW_API_TOKEN: TOKEN },
    });
    base = stack.baseUrl!;
  });
  after(async () => {
    await stack.close();
  });

  let runId: string;
  it("lists a completed run's artifacts and streams them whole and by range", async () => {
    runId = (await post(base, '/runs', { dataset: 'sample.json', params: { topics: 3 } })).id;
    const record = await waitForRun(stack.runs, runId);
    assert.equal(record.state, 'completed', JSON.stringify(record.error));
    const dir = path.join(stack.config.storageDir, 'runs', runId);
    // The report is written just after the run turns completed: list once every file is in place.
    for (let i = 0; i < 200 && !fs.existsSync(path.join(dir, 'report.html')); i++)
      await new Promise((r) => setTimeout(r, 50));
    const files = filesUnder(dir);
    assert.ok(files.has('model.json') && files.has('run.json') && files.has('report.html'));
    await checkOwner(base, 'runs', runId, files, {
      name: 'metrics.json',
      stage: 'training',
      type: 'application/json; charset=utf-8',
    });
    const listed = (await get(base, `/runs/${runId}/artifacts`)).json.artifacts as {
      name: string;
      stage: string;
    }[];
    const writer = Object.fromEntries(listed.map((a) => [a.name, a.stage]));
    assert.equal(writer['run.json'], 'run');
    assert.equal(writer['tickets.csv'], 'text-processing');
    assert.equal(writer['features.bin'], 'transform-split');
    const bin = await get(base, `/runs/${runId}/artifacts/features.bin`);
    assert.equal(bin.headers['content-type'], 'application/octet-stream');
  });

  it("lists a classification's outputs and streams them", async () => {
    const { id } = await post(base, '/classifications', { dataset: 'sample.json', model: runId });
    const deadline = Date.now() + 120_000;
    for (;;) {
      const status = (await get(base, `/classifications/${id}`)).json;
      if (status.state === 'completed') break;
      assert.notEqual(status.state, 'failed', status.error);
      assert.ok(Date.now() < deadline, `classification still ${status.state}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const files = filesUnder(path.join(stack.config.storageDir, 'classifications', id));
    assert.deepEqual([...files.keys()].sort(), ['classification.json', 'predictions.csv', 'summary.json']);
    await checkOwner(base, 'classifications', id, files, {
      name: 'predictions.csv',
      stage: 'merge',
      type: 'text/csv; charset=utf-8',
    });
  });
});

describe('artifacts over HTTP (S3 store on s3rver)', () => {
  let s3: S3Server;
  let store: ArtifactStore;
  let server: http.Server;
  let base: string;
  let close: () => Promise<void>;
  const runFiles = new Map<string, Buffer>([
    ['run.json', Buffer.from('{"id": "s3-run"}\n')],
    ['model.json', randomBytes(5000)],
    ['search/cv-1-0.json', Buffer.from('{"fold": 0}\n')],
    ['report.html', Buffer.from('<!doctype html><p>report</p>\n')],
  ]);
  const clsFiles = new Map<string, Buffer>([
    ['classification.json', Buffer.from('{"id": "cls-s3"}\n')],
    ['predictions.csv', Buffer.from('ticket_id,label\n1,a\n2,b\n3,a\n4,needs_review\n')],
  ]);
  before(async () => {
    s3 = await new S3Server('artifacts').start();
    const config = testConfig({ ...s3.env('tf'), TICKETFLOW_API_TOKEN: TOKEN });
    assert.equal(config.storage.kind, 's3');
    store = openStore(config.storage);
    for (const [name, bytes] of runFiles) await store.put(`runs/s3-run/${name}`, bytes);
    for (const [name, bytes] of clsFiles) await store.put(`classifications/cls-s3/${name}`, bytes);
    await store.put('runs/s3-run2/model.json', 'another run');
    const connection = createApiConnection(config.redisUrl);
    await new Promise<void>((r) => connection.once('ready', () => r()));
    const runs = openRunsContext(config, connection);
    server = createApp(runs, quietLog, store).listen(0, '127.0.0.1');
    await new Promise<void>((r) => server.once('listening', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = async () => {
      await new Promise<void>((r) => server.close(() => r()));
      await closeRunsContext(runs);
      connection.disconnect();
      await store.close();
      await s3.close();
      await cleanup(config);
    };
  });
  after(async () => {
    await close();
  });

  it("lists and streams a run's and a classification's objects from the bucket", async () => {
    await checkOwner(base, 'runs', 's3-run', runFiles, {
      name: 'model.json',
      stage: 'training',
      type: 'application/json; charset=utf-8',
    });
    const listed = (await get(base, '/runs/s3-run/artifacts')).json.artifacts as {
      name: string;
      stage: string;
    }[];
    assert.equal(listed.find((a) => a.name === 'search/cv-1-0.json')?.stage, 'training');
    assert.equal(listed.find((a) => a.name === 'report.html')?.stage, 'run');
    const nested = await get(base, '/runs/s3-run/artifacts/search/cv-1-0.json');
    assert.equal(nested.status, 200);
    assert.ok(nested.body.equals(runFiles.get('search/cv-1-0.json')!));
    assert.equal((await get(base, '/runs/s3-run/artifacts/search%2Fcv-1-0.json')).status, 404);
    // A rewritten object is hashed anew: remembered hashes are per content, not per name.
    const rewritten = randomBytes(3000);
    await store.put('runs/s3-run/model.json', rewritten);
    const again = (await get(base, '/runs/s3-run/artifacts')).json.artifacts as ArtifactListing[];
    const model = again.find((a) => a.name === 'model.json')!;
    assert.deepEqual([model.size, model.sha256], [rewritten.length, sha256(rewritten)]);
    await checkOwner(base, 'classifications', 'cls-s3', clsFiles, {
      name: 'predictions.csv',
      stage: 'merge',
      type: 'text/csv; charset=utf-8',
    });
  });
});

describe('artifact content types and ranges', () => {
  it('names a type by extension and reads Range headers as RFC 9110 says', () => {
    assert.equal(contentTypeOf('report.html'), 'text/html; charset=utf-8');
    assert.equal(contentTypeOf('features.bin'), 'application/octet-stream');
    assert.equal(contentTypeOf('Makefile'), 'application/octet-stream');
    assert.deepEqual(parseRange('bytes=0-9', 100), { start: 0, end: 9 });
    assert.deepEqual(parseRange('bytes=90-200', 100), { start: 90, end: 99 });
    assert.deepEqual(parseRange('bytes=95-', 100), { start: 95, end: 99 });
    assert.deepEqual(parseRange('bytes=-10', 100), { start: 90, end: 99 });
    assert.equal(parseRange('bytes=100-', 100), 'unsatisfiable');
    assert.equal(parseRange('bytes=0-0', 0), 'unsatisfiable');
    assert.equal(parseRange('bytes=5-1', 100), undefined);
    assert.equal(parseRange('bytes=0-1,5-6', 100), undefined);
    assert.equal(parseRange('items=0-1', 100), undefined);
    assert.equal(parseRange(undefined, 100), undefined);
  });
});
