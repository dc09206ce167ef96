import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createConnection } from '../../shared/runtime/flow/connection';
import { closeRunsContext, openRunsContext, RunsContext } from '../../shared/runtime/runs/context';
import { deleteRun, NoSuchRun } from '../../shared/runtime/runs/control';
import { ModelRegistry } from '../../shared/runtime/runs/model-registry';
import { readRunLogs, runLogKey } from '../../shared/runtime/runs/run-logs';
import { checkArtifactStore } from '../../shared/runtime/runs/check-store';
import { readStoredReport, reportKey, writeRunReport } from '../../shared/runtime/report/run-report';
import { jobParams, resolveJobParams } from '../../shared/runtime/flow/param-refs';
import { loadModel } from '../../shared/pipeline/model/load-model';
import { ARTIFACTS } from '../../shared/pipeline/stages/context';
import { stageDefinition } from '../../shared/pipeline/stages/definitions';
import { runKey } from '../../shared/core/storage';
import { createApp } from '../../producers/api/app';
import { S3Server } from '../helpers/s3-server';
import { cleanup, quietLog, testConfig } from '../helpers/env';
import { makeRecord } from '../helpers/records';
import { syntheticModel } from '../model/synthetic-model';

/**
 * The run runtime on the S3 backend (a real s3rver on loopback), without running stages: run records and
 * the run index, logs, the report (written, stored, served), the stage cache's copy, the model registry's
 * read, the label-map reference, delete, and the start-up check. Nothing of it may touch the local
 * storage folder.
 */
describe('run runtime on an S3 artifact store', () => {
  const s3 = new S3Server('runtime-bucket');
  let config: ReturnType<typeof testConfig>;
  let connection: ReturnType<typeof createConnection>;
  let runs: RunsContext;
  let server: Server;
  let api: string;
  const at = new Date(Date.now() - 60_000).toISOString();
  const completed = (id: string) =>
    makeRecord(id, at, (s) => ({ ...s, state: 'completed', progress: 100, startedAt: at, finishedAt: at }));

  before(async () => {
    await s3.start();
    config = testConfig(s3.env('tf'));
    assert.equal(config.storage.kind, 's3');
    connection = createConnection(config.redisUrl);
    runs = openRunsContext(config, connection);
    server = createApp(runs, quietLog).listen(0, '127.0.0.1');
    await new Promise<void>((r) => server.once('listening', () => r()));
    api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    await closeRunsContext(runs);
    connection.disconnect();
    await cleanup(config);
    await s3.close();
  });

  /** Objects in the bucket under the test's prefix, by key. */
  const objects = async (prefix: string) => (await runs.artifacts.list(prefix)).map((e) => e.key);

  it('writes, reads and lists run records in the bucket, and nothing in the local folder', async () => {
    const id = '20260101-000000-s3rec';
    await runs.store.write(completed(id));
    assert.deepEqual(await objects(`runs/${id}/`), [`runs/${id}/run.json`]);
    assert.equal((await runs.store.readStored(id))?.state, 'completed');
    assert.equal(await runs.store.readStored('20260101-000000-none'), null);
    const page = await runs.store.list({ limit: 10 });
    assert.ok(page.runs.some((r) => r.id === id));
    const res = await fetch(`${api}/runs/${id}`);
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { state: string }).state, 'completed');
    assert.equal(fs.existsSync(path.join(config.storageDir, 'runs')), false);
  });

  it('reads the log file, writes the report and serves it from the bucket', async () => {
    const id = '20260101-000000-s3rep';
    await runs.store.write(completed(id));
    const line = { timestamp: at, level: 'info', message: 'hello from a worker', stage: 'training' };
    await runs.artifacts.put(runLogKey(id), JSON.stringify(line) + '\n');
    const logs = await readRunLogs(runs, id);
    assert.ok(logs?.lines.some((l) => l.source === 'file' && l.line === 'info hello from a worker'));

    await writeRunReport(runs, id);
    const html = await readStoredReport(runs.artifacts, id);
    assert.match(html ?? '', /hello from a worker/);
    const served = await fetch(`${api}/runs/${id}/report`);
    assert.equal(served.status, 200);
    assert.equal(await served.text(), html);

    // A report never written is rendered on request and kept in the bucket.
    await runs.artifacts.remove(reportKey(id));
    assert.equal((await fetch(`${api}/runs/${id}/report`)).status, 200);
    assert.ok((await objects(`runs/${id}/`)).includes(reportKey(id)));
  });

  it("copies a stage's artifacts between runs for the stage cache, and says when a source is gone", async () => {
    const from = '20260101-000000-s3src';
    const to = '20260101-000000-s3dst';
    const names = stageDefinition('feature-extraction').artifacts;
    for (const n of names) await runs.artifacts.put(runKey(from, n), `bytes of ${n}`);
    assert.equal(await runs.cache.link('feature-extraction', from, to), true);
    for (const n of names)
      assert.equal((await runs.artifacts.get(runKey(to, n))).toString(), `bytes of ${n}`);
    await runs.artifacts.remove(runKey(from, names[names.length - 1]!));
    assert.equal(await runs.cache.link('feature-extraction', from, '20260101-000000-s3dst2'), false);
    assert.deepEqual(await objects('runs/20260101-000000-s3dst2/'), []);
  });

  it("loads a run's model from the bucket (same predictions as from the model file) and names a missing one", async () => {
    const id = '20260101-000000-s3model';
    const model = syntheticModel({ terms: 300, runId: id });
    await runs.store.write(completed(id));
    await runs.artifacts.putJson(runKey(id, ARTIFACTS.model), model);
    const registry = new ModelRegistry(runs);
    await registry.setAlias('s3prod', id);
    const texts = ['my credit card was charged twice', 'the bank closed my account'];
    const loaded = await registry.model(id);
    assert.deepEqual(loaded.classify(texts), loadModel(model).classify(texts));

    const bare = '20260101-000000-s3bare';
    await runs.store.write(completed(bare));
    await connection.hset(runs.keys.aliases, 'bare', bare);
    const table = await registry.aliasTable();
    assert.equal(table.bare?.dangling, true);
    assert.match(
      (table.bare as { problem: string }).problem,
      new RegExp(`s3://runtime-bucket/tf/runs/${bare}/model\\.json`),
    );
    await connection.hdel(runs.keys.aliases, 'bare', 's3prod');
  });

  it('resolves a referenced label map from the record in the bucket', async () => {
    const id = '20260101-000000-s3map';
    const map = { bank: 'banking', debt: 'collections' };
    await runs.store.write({ ...completed(id), params: { ...config.pipeline, labelMap: map } });
    const params = jobParams({ ...config.pipeline, labelMap: map }, id);
    assert.notDeepEqual(params.labelMap, map, 'the job carries a reference, not the map');
    assert.deepEqual((await resolveJobParams(params, runs.artifacts, id)).labelMap, map);
  });

  it('deletes a run: its record, every artifact under its prefix, and its index entry', async () => {
    const id = '20260101-000000-s3del';
    await runs.store.write(completed(id));
    await runs.artifacts.put(runKey(id, `${ARTIFACTS.chunksDir}/part-0/chunk-0.csv`), 'x\n');
    await runs.artifacts.put(runKey(id, ARTIFACTS.model), '{}');
    const res = await fetch(`${api}/runs/${id}`, { method: 'DELETE' });
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(await objects(`runs/${id}/`), []);
    assert.equal(await connection.hexists(runs.keys.summaries, id), 0);
    await assert.rejects(deleteRun(runs, id), NoSuchRun);
  });

  it('refuses to start on wrong credentials or a missing bucket, naming the store', async () => {
    await checkArtifactStore(config);
    const wrongKey = testConfig({ ...s3.env('tf'), AWS_ACCESS_KEY_ID: 'WRONG' });
    const noBucket = testConfig({ ...s3.env(), TICKETFLOW_STORAGE_URL: 's3://no-such-bucket' });
    for (const c of [wrongKey, noBucket]) fs.rmSync(c.storageDir, { recursive: true, force: true });
    await assert.rejects(
      checkArtifactStore(wrongKey),
      /storage s3:\/\/runtime-bucket\/tf \(TICKETFLOW_STORAGE_URL\) cannot be used/,
    );
    await assert.rejects(
      checkArtifactStore(noBucket),
      /s3:\/\/no-such-bucket \(TICKETFLOW_STORAGE_URL\) cannot be used: .*bucket/i,
    );
  });
});
