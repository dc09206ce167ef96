import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import IORedis from 'ioredis';
import { createConnection } from '../../shared/runtime/flow/connection';
import { freePort } from '../../shared/runtime/redis/local-redis';
import { closeRunsContext, openRunsContext, RunsContext } from '../../shared/runtime/runs/context';
import { submitRun, SubmitDeadlinePassed } from '../../shared/runtime/runs/submit';
import { cleanup, SAMPLE_DATASET, tempDir, testConfig } from '../helpers/env';
import { API_MAIN, Proc, sleep, spawnNode, waitFor } from '../helpers/processes';

/** Peak resident memory of a process so far, in MB (VmHWM). */
const peakRssMb = (pid: number) =>
  Number(/VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

describe('POST /runs: a run is created exactly when the answer says so', () => {
  const config = testConfig();
  const data = tempDir('atomic-data');
  let runs: RunsContext;
  let api: Proc;
  let base: string;
  before(async () => {
    // ~16 MB: the sample's records repeated. Hashed inside the Redis deadline by 200 requests at once,
    // this took the API past 2 s.
    const text = fs.readFileSync(SAMPLE_DATASET, 'utf8').trim();
    const inner = text.slice(1, -1);
    fs.writeFileSync(path.join(data, 'big.json'), `[${Array.from({ length: 11 }, () => inner).join(',')}]`);
    fs.copyFileSync(SAMPLE_DATASET, path.join(data, 'sample.json'));
    const port = await freePort();
    api = spawnNode('api', API_MAIN, [], {
      PORT: String(port),
      REDIS_URL: config.redisUrl,
      TICKETFLOW_QUEUE_PREFIX: config.queuePrefix,
      TICKETFLOW_STORAGE_DIR: config.storageDir,
      TICKETFLOW_DATA_DIR: data,
      TICKETFLOW_LOG_LEVEL: 'warn',
    });
    base = `http://127.0.0.1:${port}`;
    await waitFor(
      'the API answering /healthz',
      async () => {
        if (!api.running()) throw new Error(`the API exited: ${api.stderr()}`);
        const res = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(1000) });
        return res.status === 200 ? true : undefined;
      },
      20_000,
      50,
    );
    runs = openRunsContext(config, createConnection(config.redisUrl));
  });
  after(async () => {
    await api.stop();
    await closeRunsContext(runs);
    runs.redis.disconnect();
    await cleanup(config);
    fs.rmSync(data, { recursive: true, force: true });
  });

  const post = (dataset: string, key?: string) =>
    fetch(`${base}/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
      body: JSON.stringify({ dataset, params: { cache: false } }),
    });
  /** What exists of runs: index entries, run folders, stage-1 jobs. */
  const created = async () => ({
    indexed: (await runs.store.list({ limit: 1000 })).runs.length,
    folders: fs.existsSync(path.join(config.storageDir, 'runs'))
      ? fs.readdirSync(path.join(config.storageDir, 'runs')).length
      : 0,
    jobs: (await runs.queues['text-processing'].getJobCounts('waiting')).waiting ?? 0,
  });
  const idempotencyKeyExists = async (key: string) =>
    (await runs.redis.exists(runs.keys.idempotency(createHash('sha256').update(key).digest('hex')))) === 1;

  it('200 concurrent POSTs of a 16 MB file: every run answered 202 exists, no other', async (t) => {
    const before = await created();
    const rssBefore = peakRssMb(api.pid);
    const started = performance.now();
    const answers = await Promise.all(
      Array.from({ length: 200 }, async () => {
        const res = await post('big.json');
        return { status: res.status, body: (await res.json()) as { id?: string; error?: string } };
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const accepted = answers.filter((a) => a.status === 202);
    const statuses = [...new Set(answers.map((a) => a.status))];
    t.diagnostic(
      `200 concurrent POST /runs of ${(fs.statSync(path.join(data, 'big.json')).size / 1e6).toFixed(1)} MB: ` +
        `${accepted.length} × 202, statuses ${statuses.join(' ')}, ${seconds.toFixed(2)} s; API peak RSS ` +
        `${rssBefore.toFixed(0)} → ${peakRssMb(api.pid).toFixed(0)} MB`,
    );
    for (const a of answers) assert.ok(a.status === 202 || a.status === 503, JSON.stringify(a));
    // A handler that answered 503 but went on would add its run within moments.
    await sleep(2500);
    const after = await created();
    assert.equal(new Set(accepted.map((a) => a.body.id)).size, accepted.length, 'no id twice');
    assert.deepEqual(
      {
        indexed: after.indexed - before.indexed,
        folders: after.folders - before.folders,
        jobs: after.jobs - before.jobs,
      },
      { indexed: accepted.length, folders: accepted.length, jobs: accepted.length },
    );
    for (const a of accepted) assert.ok(await runs.store.read(a.body.id!), `run ${a.body.id} has its record`);
  });

  it('a 503 while Redis holds writes leaves nothing; the same Idempotency-Key then makes exactly one run', async () => {
    const admin = new IORedis(config.redisUrl);
    const key = `nightly-${Date.now()}`;
    try {
      for (const idempotencyKey of [undefined, key]) {
        const before = await created();
        // Reads answer, writes wait: the submission gets as far as its first write.
        await admin.call('CLIENT', 'PAUSE', '2500', 'WRITE');
        const res = await post('sample.json', idempotencyKey);
        assert.equal(res.status, 503, JSON.stringify(await res.clone().json()));
        assert.match(((await res.json()) as { error: string }).error, /did not answer in time/);
        await admin.call('CLIENT', 'UNPAUSE');
        // The held writes run now, and what undoes them after.
        await sleep(1000);
        assert.deepEqual(await created(), before, `nothing created (key ${idempotencyKey ?? 'none'})`);
      }
      assert.equal(await idempotencyKeyExists(key), false, 'the key is not left claimed');

      const before = await created();
      const first = await post('sample.json', key);
      assert.equal(first.status, 202);
      const { id } = (await first.json()) as { id: string };
      const again = await post('sample.json', key);
      assert.equal(again.status, 200);
      assert.equal(((await again.json()) as { id: string }).id, id);
      const after = await created();
      assert.equal(after.indexed - before.indexed, 1, 'one run for the key');
      assert.equal(after.jobs - before.jobs, 1);
    } finally {
      await admin.call('CLIENT', 'UNPAUSE').catch(() => undefined);
      admin.disconnect();
    }
  });

  it('a deadline that passes before the commit rolls back, the idempotency claim included', async () => {
    const before = await created();
    const key = `late-${Date.now()}`;
    await assert.rejects(
      submitRun(runs, {
        dataset: 'sample.json',
        datasetFile: path.join(data, 'sample.json'),
        params: { cache: false },
        idempotencyKey: key,
        deadlineMs: -1,
      }),
      SubmitDeadlinePassed,
    );
    assert.deepEqual(await created(), before);
    assert.equal(await idempotencyKeyExists(key), false);
  });
});
