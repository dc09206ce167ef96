/**
 * Deleting a model in use: DELETE /runs/:id of a run an alias names answers 409 naming the aliases, unless
 * `?force=1`, which removes them too; the API stops serving the deleted model (also after a restart, with a
 * new registry); GET /models lists every alias, a dangling one marked. Real workers, Redis, files, HTTP.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import { createApp } from '../../producers/api/app';
import { runDir } from '../../shared/core/storage';
import { quietLog } from '../helpers/env';
import { call, completedRun } from '../helpers/http';
import { removeRunFolderByHand, Stack, startSampleStack } from '../helpers/stack';

const TICKETS = { tickets: [{ text: 'My card was charged twice for the same purchase.' }] };

describe('deleting a model that an alias names', () => {
  let stack: Stack;
  let first: string;
  let second: string;
  before(async () => {
    stack = await startSampleStack('alias-delete-data', { workers: 1, api: true });
    first = await completedRun(stack);
    // The same dataset and parameters again: every stage comes from the cache (hard links to the first).
    second = await completedRun(stack);
  });
  after(async () => {
    await stack.close();
  });

  it('refuses the delete with 409 naming the aliases; ?force=1 removes the run and its aliases', async () => {
    for (const alias of ['production', 'staging'])
      assert.equal((await call(stack, 'PUT', `/models/aliases/${alias}`, { run: first })).status, 200);
    // The model is loaded (and cached) by this API process.
    const before = await call(stack, 'POST', '/classify', TICKETS);
    assert.equal(before.status, 200, JSON.stringify(before.json));
    assert.equal(before.json.model.run, first);

    const refused = await call(stack, 'DELETE', `/runs/${first}`);
    assert.equal(refused.status, 409, JSON.stringify(refused.json));
    assert.match(refused.json.error, /"production", "staging"/);
    assert.match(refused.json.error, /force=1/);
    assert.equal((await call(stack, 'GET', `/runs/${first}`)).status, 200);
    assert.equal((await call(stack, 'POST', '/classify', TICKETS)).status, 200);
    assert.equal((await call(stack, 'DELETE', `/runs/${first}?force=maybe`)).status, 400);

    const forced = await call(stack, 'DELETE', `/runs/${first}?force=1`);
    assert.equal(forced.status, 200, JSON.stringify(forced.json));
    assert.deepEqual(forced.json, { id: first, deleted: true, aliasesRemoved: ['production', 'staging'] });
    assert.equal(fs.existsSync(runDir(stack.config.storageDir, first)), false);

    // This process no longer serves the deleted model, by alias or by run id.
    const byDefault = await call(stack, 'POST', '/classify', TICKETS);
    assert.equal(byDefault.status, 409, JSON.stringify(byDefault.json));
    assert.match(byDefault.json.error, /no "production" alias/);
    const byAlias = await call(stack, 'POST', '/classify', { ...TICKETS, model: 'staging' });
    assert.equal(byAlias.status, 404, JSON.stringify(byAlias.json));
    const byRun = await call(stack, 'POST', '/classify', { ...TICKETS, model: first });
    assert.equal(byRun.status, 404, JSON.stringify(byRun.json));
    const models = await call(stack, 'GET', '/models');
    assert.deepEqual(
      models.json.models.map((m: { run: string }) => m.run),
      [second],
    );
    assert.deepEqual(models.json.aliases, {});

    // A restarted API (a new registry, nothing cached) answers the same.
    const server = createApp(stack.runs, quietLog).listen(0);
    await new Promise<void>((r) => server.once('listening', () => r()));
    try {
      const restarted = { baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
      assert.equal((await call(restarted, 'POST', '/classify', TICKETS)).status, 409);
      assert.equal(
        (await call(restarted, 'POST', '/classify', { ...TICKETS, model: 'staging' })).status,
        404,
      );
      assert.equal((await call(restarted, 'POST', '/classify', { ...TICKETS, model: first })).status, 404);
    } finally {
      await new Promise<void>((r) => (server as http.Server).close(() => r()));
    }
    // The run whose stages were reused from the deleted one keeps its model (hard links).
    const kept = await call(stack, 'POST', '/classify', { ...TICKETS, model: second });
    assert.equal(kept.status, 200, JSON.stringify(kept.json));
  });

  it('lists a dangling alias in GET /models and answers 404 for it, not 500', async () => {
    assert.equal((await call(stack, 'PUT', '/models/aliases/canary', { run: second })).status, 200);
    assert.deepEqual((await call(stack, 'GET', '/models')).json.aliases, {
      canary: { run: second, dangling: false },
    });
    // The model's folder removed behind ticketflow's back.
    await removeRunFolderByHand(stack, second);
    const models = await call(stack, 'GET', '/models');
    assert.equal(models.json.aliases.canary.run, second);
    assert.equal(models.json.aliases.canary.dangling, true);
    assert.match(models.json.aliases.canary.problem, /model file .* is missing/);
    // On a fresh registry (nothing cached) the missing model file answers 404.
    const server = createApp(stack.runs, quietLog).listen(0);
    await new Promise<void>((r) => server.once('listening', () => r()));
    try {
      const fresh = { baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
      const res = await call(fresh, 'POST', '/classify', { ...TICKETS, model: 'canary' });
      assert.equal(res.status, 404, JSON.stringify(res.json));
      assert.match(res.json.error, /model/);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
    // An alias whose run is not a model version any more (here: its index entry says so) is dangling too.
    await stack.connection.hset(stack.runs.keys.aliases, 'ghost', '20200101-000000-000000');
    const ghost = await call(stack, 'GET', '/models');
    assert.deepEqual(ghost.json.aliases.ghost, {
      run: '20200101-000000-000000',
      dangling: true,
      problem: 'run 20200101-000000-000000 does not exist',
    });
    const res = await call(stack, 'POST', '/classify', { ...TICKETS, model: 'ghost' });
    assert.equal(res.status, 404, JSON.stringify(res.json));
    assert.match(res.json.error, /alias "ghost" is dangling: run 20200101-000000-000000 does not exist/);
  });
});
