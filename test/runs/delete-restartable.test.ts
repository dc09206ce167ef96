/**
 * DELETE /runs/:id is restartable: an API process killed (SIGKILL) in the middle of a delete leaves the run
 * listed as `deleting` (never as completed with its record gone), and a repeated DELETE, or the start-up
 * sweep of the next API process, finishes the removal. Real API processes, real Redis, real files.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { resolveConfig } from '../../shared/core/config/config';
import { createConnection } from '../../shared/runtime/flow/connection';
import { closeRunsContext, openRunsContext, RunsContext } from '../../shared/runtime/runs/context';
import { sweepDeletes } from '../../shared/runtime/runs/control';
import { LOCK_TTL_MS } from '../../shared/runtime/runs/run-lock';
import { runDir } from '../../shared/core/storage';
import { createApp } from '../../producers/api/app';
import { quietLog } from '../helpers/env';
import {
  Deployment,
  http as request,
  newDeployment,
  Proc,
  startApi,
  stopAll,
  teardownDeployment,
  waitFor,
} from '../helpers/processes';
import { makeRecord } from '../helpers/records';

/** Files in the run's folder: enough that removing them takes far longer than the kill takes to land. */
const FILES = 20_000;

interface ListBody {
  runs: { id: string; state: string }[];
}

/** A completed run made by hand (no worker needed): its record, index entries and many artifact files. */
async function completedRun(runs: RunsContext, id: string, files = FILES): Promise<void> {
  const at = new Date(Date.now() - 60_000).toISOString();
  const record = makeRecord(id, at, (s) => ({
    ...s,
    state: 'completed',
    progress: 100,
    startedAt: at,
    finishedAt: at,
  }));
  assert.equal(record.state, 'completed');
  await runs.store.write(record);
  const dir = runDir(runs.config.storageDir, id);
  for (let d = 0; d < 20; d++) {
    const sub = path.join(dir, 'chunks', `part-${d}`);
    fs.mkdirSync(sub, { recursive: true });
    for (let f = 0; f < files / 20; f++) fs.writeFileSync(path.join(sub, `chunk-${f}.csv`), 'x\n');
  }
  fs.writeFileSync(path.join(dir, 'model.json'), '{}');
}

const doomedOf = (d: Deployment, id: string) =>
  fs.readdirSync(path.join(d.storageDir, 'runs')).filter((n) => n.startsWith(`.deleting-${id}-`));

/**
 * Send DELETE /runs/:id to the API process and SIGKILL it the moment the run's folder is renamed away
 * (inotify), i.e. in the middle of removing the run's files. Returns the doomed folders left behind.
 */
async function killDuringDelete(d: Deployment, api: Proc, id: string): Promise<string[]> {
  const runsDir = path.join(d.storageDir, 'runs');
  const watcher = fs.watch(runsDir, (_event, name) => {
    if (typeof name === 'string' && name.startsWith(`.deleting-${id}-`)) {
      try {
        process.kill(api.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  });
  try {
    const answer = await request(d.baseUrl, 'DELETE', `/runs/${id}`, undefined, 20_000).catch(
      (err: Error) => err,
    );
    assert.ok(answer instanceof Error, `the DELETE should have been cut short: ${JSON.stringify(answer)}`);
    await api.exited;
  } finally {
    watcher.close();
  }
  return doomedOf(d, id);
}

describe('DELETE /runs/:id is restartable after a kill -9 mid-delete', () => {
  let d: Deployment;
  let connection: Redis;
  let runs: RunsContext;
  let server: http.Server;
  let inProcess: string;

  before(async () => {
    d = await newDeployment('delete');
    // The first API start brings up the deployment's durable Redis.
    const api = await startApi(d);
    await api.stop('SIGTERM', 5000);
    const config = resolveConfig({ ...process.env, ...d.env });
    connection = createConnection(d.redisUrl);
    runs = openRunsContext(config, connection);
    // An API in this process: it answers like the API processes, without their start-up sweep.
    server = createApp(runs, quietLog).listen(0);
    await new Promise<void>((r) => server.once('listening', () => r()));
    inProcess = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await stopAll();
    await new Promise<void>((r) => server.close(() => r()));
    await closeRunsContext(runs);
    connection.disconnect();
    await teardownDeployment(d);
  });

  it('lists a half-deleted run as deleting, and a repeated DELETE finishes it (200, then 404)', async () => {
    const id = '20260101-000000-half1';
    await completedRun(runs, id);
    const api = await startApi(d, 'api-killed');
    const doomed = await killDuringDelete(d, api, id);
    assert.ok(doomed.length > 0, `the kill landed after the delete had removed the run's files`);

    const list = await request(inProcess, 'GET', '/runs');
    assert.equal(list.status, 200);
    assert.deepEqual(
      (list.body as ListBody).runs.filter((r) => r.id === id).map((r) => r.state),
      ['deleting'],
    );
    const completed = await request(inProcess, 'GET', '/runs?state=completed');
    assert.deepEqual((completed.body as ListBody).runs, []);
    const deleting = await request(inProcess, 'GET', '/runs?state=deleting');
    assert.deepEqual(
      (deleting.body as ListBody).runs.map((r) => r.id),
      [id],
    );
    const models = await request(inProcess, 'GET', '/models');
    assert.deepEqual((models.body as { models: unknown[] }).models, []);
    const read = await request(inProcess, 'GET', `/runs/${id}`);
    assert.equal(read.status, 404);
    assert.match((read.body as { error: string }).error, /is being deleted/);

    // The killed process's lock on the run expires within LOCK_TTL_MS: until then a DELETE answers 409.
    const again = await waitFor(
      "a repeated DELETE past the dead process's lock",
      async () => {
        const res = await request(inProcess, 'DELETE', `/runs/${id}`);
        if (res.status === 409) assert.match((res.body as { error: string }).error, /locked/);
        return res.status === 409 ? undefined : res;
      },
      LOCK_TTL_MS + 5000,
      200,
    );
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.deepEqual(again.body, { id, deleted: true, aliasesRemoved: [], resumed: true });
    assert.equal(fs.existsSync(runDir(d.storageDir, id)), false);
    assert.deepEqual(doomedOf(d, id), []);
    assert.equal(await connection.hexists(runs.keys.summaries, id), 0);
    assert.equal(await connection.hexists(runs.keys.deleting, id), 0);
    assert.equal(await connection.zcard(runs.keys.all), 0);
    assert.deepEqual(((await request(inProcess, 'GET', '/runs')).body as ListBody).runs, []);
    const gone = await request(inProcess, 'DELETE', `/runs/${id}`);
    assert.equal(gone.status, 404, JSON.stringify(gone.body));
  });

  it('a restarted API finishes a delete cut short by itself (start-up sweep)', async () => {
    const id = '20260101-000000-half2';
    const kept = '20260101-000000-kept';
    await completedRun(runs, id);
    await completedRun(runs, kept);
    const api = await startApi(d, 'api-killed-2');
    const doomed = await killDuringDelete(d, api, id);
    assert.ok(doomed.length > 0, `the kill landed after the delete had removed the run's files`);

    await startApi(d, 'api-restarted');
    await waitFor(
      'the restarted API finishing the delete',
      async () => {
        const list = await request(d.baseUrl, 'GET', '/runs');
        const ids = (list.body as ListBody).runs.map((r) => r.id);
        return !ids.includes(id) && doomedOf(d, id).length === 0 ? true : undefined;
      },
      20_000,
    );
    assert.equal(fs.existsSync(runDir(d.storageDir, id)), false);
    assert.equal(await connection.hexists(runs.keys.deleting, id), 0);
    assert.equal((await request(d.baseUrl, 'DELETE', `/runs/${id}`)).status, 404);
    // The other run is untouched.
    const list = await request(d.baseUrl, 'GET', '/runs');
    assert.deepEqual(
      (list.body as ListBody).runs.map((r) => [r.id, r.state]),
      [[kept, 'completed']],
    );
    assert.equal((await request(d.baseUrl, 'GET', `/runs/${kept}`)).status, 200);
  });
  it('finishes what a delete outside the mark left (index entry, .deleting folder), and keeps live runs', async () => {
    // A record gone, its folder renamed away but not removed, its index entry still there: no mark.
    const legacy = '20260101-000000-legacy';
    await completedRun(runs, legacy, 10);
    fs.renameSync(
      runDir(d.storageDir, legacy),
      path.join(d.storageDir, 'runs', `.deleting-${legacy}-0a1b2c3d`),
    );
    // A run that exists, beside a stray folder with its id.
    const live = '20260101-000000-live';
    await completedRun(runs, live, 10);
    fs.mkdirSync(path.join(d.storageDir, 'runs', `.deleting-${live}-deadbeef`, 'chunks'), {
      recursive: true,
    });

    const res = await request(inProcess, 'DELETE', `/runs/${legacy}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(doomedOf(d, legacy), []);
    assert.equal(await connection.hexists(runs.keys.summaries, legacy), 0);

    const swept = await sweepDeletes(runs);
    assert.deepEqual(swept, { finished: [], failed: [] });
    assert.deepEqual(doomedOf(d, live), []);
    assert.equal((await request(inProcess, 'GET', `/runs/${live}`)).status, 200);
    const list = await request(inProcess, 'GET', '/runs');
    assert.ok((list.body as ListBody).runs.some((r) => r.id === live && r.state === 'completed'));
  });
});
