import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { STAGES } from '../../shared/pipeline/stages/definitions';
import { enqueueRun } from '../helpers/enqueue-run';
import { deleteRun } from '../../shared/runtime/runs/control';
import { runDir } from '../../shared/core/storage';
import { SAMPLE_DATASET, tempDir } from '../helpers/env';
import { removeRunFolderByHand, Stack, startStack, waitForRun } from '../helpers/stack';
import { artifactHashes } from './artifacts';

describe('stage cache across runs', () => {
  let stack: Stack;
  let data: string;
  let sample: string;
  before(async () => {
    data = tempDir('cache-data');
    sample = path.join(data, path.basename(SAMPLE_DATASET));
    fs.copyFileSync(SAMPLE_DATASET, sample);
    stack = await startStack({ workers: 1, env: { TICKETFLOW_DATA_DIR: data } });
  });
  after(async () => {
    await stack.close();
    fs.rmSync(data, { recursive: true, force: true });
  });

  const run = async (dataset: string, params: Record<string, unknown> = {}) => {
    const record = await waitForRun(stack.runs, await enqueueRun(stack.runs, { dataset, params }));
    assert.equal(record.state, 'completed', JSON.stringify(record.error));
    return record;
  };
  const cachedStages = (r: { stages: { stage: string; cached: boolean }[] }) =>
    r.stages.filter((s) => s.cached).map((s) => s.stage);
  const jobCount = async () =>
    (await Promise.all(Object.values(stack.queues).map((q) => q.getJobCounts('completed')))).reduce(
      (n, c) => n + (c.completed ?? 0),
      0,
    );

  it('reuses every stage of an identical run, without a single job, from the first run', async (t) => {
    const first = await run(sample);
    assert.deepEqual(cachedStages(first), []);
    const jobsBefore = await jobCount();
    const started = performance.now();
    const again = await run(sample);
    t.diagnostic(`cached re-run: ${((performance.now() - started) / 1000).toFixed(3)} s`);
    assert.deepEqual(cachedStages(again), [...STAGES]);
    for (const s of again.stages) {
      assert.equal(s.state, 'cached');
      assert.equal(s.cachedFrom, first.id);
      assert.equal(s.progress, 100);
    }
    assert.equal(await jobCount(), jobsBefore, 'no job ran');
    assert.deepEqual(again.metrics, first.metrics);
    assert.deepEqual(
      artifactHashes(stack.config.storageDir, again.id),
      artifactHashes(stack.config.storageDir, first.id),
    );
    const model = (id: string) => fs.statSync(path.join(runDir(stack.config.storageDir, id), 'model.json'));
    assert.equal(model(again.id).ino, model(first.id).ino, 'artifacts are hard links, not copies');
    assert.ok(
      fs.existsSync(path.join(runDir(stack.config.storageDir, again.id), 'report.html')),
      'its report too',
    );

    // Changing only C recomputes only training; chunkSize changes no output, so it changes no key.
    const changedC = await run(sample, { C: 0.5, chunkSize: 97 });
    assert.deepEqual(cachedStages(changedC), ['text-processing', 'feature-extraction', 'transform-split']);
    assert.equal(changedC.stages[3]!.state, 'completed');
    assert.equal(changedC.stages[3]!.attemptsMade, 1);
    assert.notDeepEqual(changedC.metrics!.train, first.metrics!.train);

    // cache: false computes everything, and gives the same bytes.
    const forced = await run(sample, { cache: false });
    assert.deepEqual(cachedStages(forced), []);
    assert.deepEqual(
      artifactHashes(stack.config.storageDir, forced.id),
      artifactHashes(stack.config.storageDir, first.id),
    );

    // One byte of the dataset changed: nothing is reused.
    const copy = path.join(data, 'one-byte-changed.json');
    const bytes = fs.readFileSync(sample);
    const at = bytes.indexOf('charged');
    assert.ok(at > 0);
    bytes[at] = 'C'.charCodeAt(0);
    fs.writeFileSync(copy, bytes);
    const changedData = await run(copy);
    assert.deepEqual(cachedStages(changedData), []);
    assert.notEqual(changedData.datasetSha256, first.datasetSha256);

    // Deleting the source run forgets its entries; runs that reused its files keep them.
    await deleteRun(stack.runs, first.id);
    assert.deepEqual(
      artifactHashes(stack.config.storageDir, again.id),
      artifactHashes(stack.config.storageDir, forced.id),
    );
    const afterDelete = await run(sample);
    assert.ok(!afterDelete.stages.some((s) => s.cachedFrom === first.id), 'no stage reused a deleted run');
  });

  it('rejects parameters that cannot work with the dataset once its size is known, before enqueueing', async () => {
    await run(sample);
    await assert.rejects(
      enqueueRun(stack.runs, { dataset: sample, params: { topics: 50, minDf: 5000 } }),
      /minDf/,
    );
  });

  it('forgets an entry whose files were removed by hand, and caches the next run instead', async () => {
    const source = await run(sample, { C: 0.25 });
    await removeRunFolderByHand(stack, source.id);
    const recomputed = await run(sample, { C: 0.25 });
    assert.notEqual(recomputed.stages[0]!.cachedFrom, source.id);
    assert.equal(recomputed.stages[3]!.cached, false, 'training had to be computed again');
    const next = await run(sample, { C: 0.25 });
    assert.equal(next.stages[3]!.cachedFrom, recomputed.id, 'the recomputed run is the new source');
  });
});
