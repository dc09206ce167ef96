import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { QUEUES } from '../../shared/runtime/flow/queue-names';
import { enqueueRun } from '../helpers/enqueue-run';
import { JobParams, labelMapSha256, resolveJobParams } from '../../shared/runtime/flow/param-refs';
import { stageJobId } from '../../shared/runtime/flow/job-types';
import { RUN_RECORD_FILE, runDir } from '../../shared/core/storage';
import { FileStore } from '../../shared/core/store/file-store';
import { SAMPLE_DATASET, tempDir, testConfig } from '../helpers/env';
import { Stack, startStack, waitForRun } from '../helpers/stack';

const CLASSES: Record<string, string> = {
  'Credit reporting, credit repair services, or other personal consumer reports': 'credit',
  'Credit card or prepaid card': 'credit',
  'Debt collection': 'debt',
  'Checking or savings account': 'bank',
  Mortgage: 'loan',
  'Payday loan, title loan, or personal loan': 'loan',
  'Student loan': 'loan',
};

/** The sample's seven products to four classes, and `padding` unused products (about 50 bytes each). */
function labelMap(padding: number): Record<string, string> {
  const map = { ...CLASSES };
  for (let i = 0; i < padding; i++)
    map[`Unused product ${String(i).padStart(6, '0')} of a large taxonomy`] = 'other';
  return map;
}

/** A small search, so both runs train in seconds. */
const SEARCH = {
  labels: 'category',
  searchC: [1],
  searchClassWeight: ['none'],
  searchNgrams: [1],
  cvFolds: 2,
};

describe('job data stays small whatever the size of the parameters', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ workers: 2 });
  });
  after(async () => stack.close());

  /** Every job of the run on every queue, with its data's JSON length. */
  async function jobData(runId: string): Promise<{ id: string; bytes: number }[]> {
    const jobs = await Promise.all(
      QUEUES.map((q) =>
        stack.queues[q].getJobs(['completed', 'failed', 'waiting', 'active', 'delayed', 'waiting-children']),
      ),
    );
    return jobs
      .flat()
      .filter((j) => j?.data.runId === runId)
      .map((j) => ({ id: j!.id!, bytes: JSON.stringify(j!.data).length }));
  }

  it('carries a 1 MB labelMap by reference, resolves it in the workers, and keys the cache by its content', async () => {
    const big = labelMap(20_000);
    assert.ok(JSON.stringify(big).length > 1_000_000, 'a labelMap over 1 MB');
    const tiny = labelMap(0);
    const params = { chunkSize: 300, cache: false, ...SEARCH };
    const [bigId, tinyId] = await Promise.all([
      enqueueRun(stack.runs, { dataset: SAMPLE_DATASET, params: { ...params, labelMap: big } }),
      enqueueRun(stack.runs, { dataset: SAMPLE_DATASET, params: { ...params, labelMap: tiny } }),
    ]);
    const [bigRun, tinyRun] = await Promise.all([
      waitForRun(stack.runs, bigId),
      waitForRun(stack.runs, tinyId),
    ]);
    assert.equal(bigRun.state, 'completed', JSON.stringify(bigRun.error));
    assert.equal(tinyRun.state, 'completed', JSON.stringify(tinyRun.error));
    // The workers trained with the map: its classes are the model's.
    assert.deepEqual([...bigRun.metrics!.classes].sort(), ['bank', 'credit', 'debt', 'loan']);

    const bigJobs = await jobData(bigId);
    const tinyJobs = await jobData(tinyId);
    assert.ok(bigJobs.length >= 10, `${bigJobs.length} jobs`);
    assert.equal(bigJobs.length, tinyJobs.length);
    for (const j of bigJobs) assert.ok(j.bytes < 4096, `job ${j.id}: ${j.bytes} bytes of data`);
    const total = (jobs: { bytes: number }[]) => jobs.reduce((s, j) => s + j.bytes, 0);
    // The same jobs, the same data but for the reference's counts and hash (and the run ids).
    assert.ok(
      Math.abs(total(bigJobs) - total(tinyJobs)) < 100 * bigJobs.length,
      `${total(bigJobs)} bytes of job data with a 1 MB labelMap, ${total(tinyJobs)} with a tiny one`,
    );

    // Bull Board shows what the parameter is.
    const job = await stack.queues.training.getJob(stageJobId(bigId, 'training'));
    assert.deepEqual(job!.data.params.labelMap, {
      $ref: `runs/${bigId}/run.json#/params/labelMap`,
      entries: Object.keys(big).length,
      sha256: labelMapSha256(big),
    });
    // The record holds the map itself, and the stages the map feeds are keyed by its content.
    assert.deepEqual(bigRun.params.labelMap, big);
    for (const stage of ['transform-split', 'training'] as const) {
      const key = (r: typeof bigRun) => r.stages.find((s) => s.stage === stage)!.cacheKey;
      assert.notEqual(key(bigRun), key(tinyRun), `${stage}'s cache key depends on the labelMap`);
    }
  });
});

describe('resolving a referenced labelMap', () => {
  const config = testConfig();
  const runId = 'ref-run';
  const map = { Mortgage: 'loan' };
  const ref = (over: Partial<{ $ref: string; sha256: string }> = {}) =>
    ({
      ...config.pipeline,
      labelMap: {
        $ref: `runs/${runId}/run.json#/params/labelMap`,
        entries: 1,
        sha256: labelMapSha256(map),
        ...over,
      },
    }) as JobParams;
  before(() => {
    fs.mkdirSync(runDir(config.storageDir, runId), { recursive: true });
    fs.writeFileSync(
      path.join(runDir(config.storageDir, runId), RUN_RECORD_FILE),
      JSON.stringify({ params: { labelMap: map } }),
    );
  });
  after(() => fs.rmSync(config.storageDir, { recursive: true, force: true }));

  it('reads the map from the run’s own record and checks its hash', async () => {
    const store = new FileStore(config.storageDir);
    assert.deepEqual((await resolveJobParams(ref(), store, runId)).labelMap, map);
    await assert.rejects(
      resolveJobParams(ref({ $ref: '../../etc/passwd' }), store, runId),
      /a job's label map can only be its own run's/,
    );
    await assert.rejects(
      resolveJobParams(ref({ sha256: '0'.repeat(64) }), store, runId),
      /not the one this job was given/,
    );
    await assert.rejects(resolveJobParams(ref(), store, 'other-run'), /can only be its own run's/);
    const inline = { ...config.pipeline, labelMap: map };
    assert.deepEqual(await resolveJobParams(inline, new FileStore(tempDir('nowhere')), runId), inline);
  });
});
