import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { runDir } from '../../shared/core/storage';
import { SAMPLE_DATASET, tempDir } from '../helpers/env';
import { Stack, startStack, waitForRun } from '../helpers/stack';
import { call } from '../helpers/http';

describe('runs over HTTP: idempotency, listing, status, delete', () => {
  let stack: Stack;
  let idle: Stack;
  let dataDir: string;
  before(async () => {
    dataDir = tempDir('api-runs-data');
    fs.copyFileSync(SAMPLE_DATASET, path.join(dataDir, 'sample.json'));
    fs.writeFileSync(
      path.join(dataDir, 'tiny.json'),
      JSON.stringify(
        [
          'My card was charged twice for one purchase.',
          'The bank closed my checking account.',
          'My mortgage payment was lost.',
        ].map((t) => ({ _source: { complaint_what_happened: t, product: 'Bank' } })),
      ),
    );
    const env = { TICKETFLOW_DATA_DIR: dataDir };
    [stack, idle] = await Promise.all([
      startStack({ workers: 1, api: true, env }),
      startStack({ api: true, env }),
    ]);
  });
  after(async () => {
    await Promise.all([stack.close(), idle.close()]);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers the same run for the same Idempotency-Key and never adds a second flow', async () => {
    const body = { dataset: 'sample.json', params: { C: 0.7 } };
    const key = { 'Idempotency-Key': 'order-4711' };
    const [a, b] = await Promise.all([
      call(idle, 'POST', '/runs', body, key),
      call(idle, 'POST', '/runs', body, key),
    ]);
    assert.deepEqual([a.status, b.status].sort(), [200, 202]);
    assert.equal(a.json.id, b.json.id);
    const third = await call(idle, 'POST', '/runs', body, key);
    assert.equal(third.status, 200);
    assert.equal(third.json.id, a.json.id);
    assert.equal(third.json.existing, true);
    assert.equal(await idle.queues.training.count(), 1, 'one flow only');
    const other = await call(idle, 'POST', '/runs', { ...body, params: { C: 0.8 } }, key);
    assert.equal(other.status, 409);
    assert.match(other.json.error, /different request/);
    const fresh = await call(idle, 'POST', '/runs', body, { 'Idempotency-Key': 'order-4712' });
    assert.equal(fresh.status, 202);
    assert.notEqual(fresh.json.id, a.json.id);
    assert.ok(
      fresh.json.warnings.some((w: string) => /no live worker serves/.test(w)),
      'no worker: 202 with a warning',
    );
  });

  it('lists from the index: newest first, by state, in pages; unknown parameters answer 400', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push((await call(idle, 'POST', '/runs', { dataset: 'sample.json' })).json.id);
    const cancelled = ids[1]!;
    assert.equal((await call(idle, 'POST', `/runs/${cancelled}/cancel`)).status, 200);
    const pages: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; json: any } = await call(
        idle,
        'GET',
        `/runs?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      assert.equal(page.status, 200);
      assert.ok(page.json.runs.length <= 2);
      pages.push(...page.json.runs.map((r: { id: string }) => r.id));
      cursor = page.json.next;
    } while (cursor);
    assert.deepEqual(pages.slice(0, 5), [...ids].reverse(), 'newest first, every run once across pages');
    assert.equal(new Set(pages).size, pages.length);
    const byState = await call(idle, 'GET', '/runs?state=cancelled');
    assert.deepEqual(
      byState.json.runs.map((r: { id: string; state: string }) => [r.id, r.state]),
      [[cancelled, 'cancelled']],
    );
    const waiting = await call(idle, 'GET', '/runs?state=waiting&limit=1000');
    assert.ok(waiting.json.runs.every((r: { state: string }) => r.state === 'waiting'));
    assert.ok(!waiting.json.runs.some((r: { id: string }) => r.id === cancelled));
    for (const [query, message] of [
      ['offset=10', /unknown query parameter\(s\) offset/],
      ['state=running', /"state" must be one of/],
      ['limit=0', /"limit"/],
      ['cursor=bm9wZQ', /not one this API gave/],
    ] as const) {
      const res = await call(idle, 'GET', `/runs?${query}`);
      assert.equal(res.status, 400, query);
      assert.match(res.json.error, message, query);
    }
  });

  it('shows normalised stage states, progress and times; skipped stages after a failure', async () => {
    const ok = await call(stack, 'POST', '/runs', { dataset: 'sample.json', params: { cache: false } });
    await waitForRun(stack.runs, ok.json.id);
    const done = (await call(stack, 'GET', `/runs/${ok.json.id}`)).json;
    assert.equal(done.state, 'completed');
    assert.equal(done.progress, 100);
    assert.ok(done.startedAt && done.finishedAt && done.durationSeconds > 0);
    assert.equal(typeof done.datasetSha256, 'string');
    assert.equal(done.datasetBytes, fs.statSync(SAMPLE_DATASET).size);
    assert.match(done.codeVersion, /^\d+\.\d+\.\d+/);
    for (const s of done.stages) {
      assert.equal(s.state, 'completed');
      assert.equal(s.rawState, 'completed');
      assert.equal(s.progress, 100);
    }
    assert.ok(fs.existsSync(path.join(runDir(stack.config.storageDir, ok.json.id), 'run.json')));

    // 3 tickets cannot make 3 topics: stage 2 fails on its first attempt; later stages never ran.
    const bad = await call(stack, 'POST', '/runs', { dataset: 'tiny.json', params: { minDf: 1 } });
    assert.equal(bad.status, 202);
    await waitForRun(stack.runs, bad.json.id);
    const failed = (await call(stack, 'GET', `/runs/${bad.json.id}`)).json;
    assert.equal(failed.state, 'failed');
    assert.deepEqual(
      failed.stages.map((s: { state: string }) => s.state),
      ['completed', 'failed', 'skipped', 'skipped'],
    );
    assert.equal(failed.stages[1].attemptsMade, 1, 'a data-dependent failure is not retried');
    assert.equal(failed.error.stage, 'feature-extraction');
    assert.match(failed.error.message, /topics/);
    assert.equal(failed.progress, 25);
  });

  it('deletes a finished run with its record, jobs and artifacts; an active one answers 409', async () => {
    const queued = await call(idle, 'POST', '/runs', { dataset: 'sample.json' });
    const conflict = await call(idle, 'DELETE', `/runs/${queued.json.id}`);
    assert.equal(conflict.status, 409);
    assert.match(conflict.json.error, /cancel it first/);

    const run = await call(stack, 'POST', '/runs', { dataset: 'sample.json', params: { cache: false } });
    await waitForRun(stack.runs, run.json.id);
    const dir = runDir(stack.config.storageDir, run.json.id);
    assert.ok(fs.existsSync(path.join(dir, 'model.json')));
    const deleted = await call(stack, 'DELETE', `/runs/${run.json.id}`);
    assert.equal(deleted.status, 200);
    assert.ok(!fs.existsSync(dir), 'artifacts removed');
    assert.equal((await call(stack, 'GET', `/runs/${run.json.id}`)).status, 404);
    const listed = (await call(stack, 'GET', '/runs?limit=1000')).json.runs.map((r: { id: string }) => r.id);
    assert.ok(!listed.includes(run.json.id));
    for (const q of Object.values(stack.queues)) {
      const jobs = await q.getJobs(['completed', 'failed', 'waiting', 'active']);
      assert.ok(!jobs.some((j) => j?.data.runId === run.json.id), `no job of the run left in ${q.name}`);
    }
    assert.equal((await call(stack, 'DELETE', `/runs/${run.json.id}`)).status, 404);
    assert.equal((await call(stack, 'POST', `/runs/${run.json.id}/retry`)).status, 404);
  });
});
