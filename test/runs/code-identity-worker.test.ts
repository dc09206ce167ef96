import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { STAGES, StageName } from '../../shared/pipeline/stages/definitions';
import { buildRunFlow } from '../../shared/runtime/flow/build-flow';
import { newRunId } from '../../shared/runtime/flow/run-id';
import { stageJobId } from '../../shared/runtime/flow/job-types';
import { stageCodeIdentities } from '../../shared/runtime/runs/code-identity';
import { SampleStack, startSampleStack } from '../helpers/stack';

describe('a worker caches a stage only under a key for the code it runs', () => {
  let stack: SampleStack;
  before(async () => {
    stack = await startSampleStack('code-worker-data', { workers: 1 });
  });
  after(async () => {
    await stack.close();
  });

  /** A run's flow as a submitter of the build `code` would enqueue it; resolves when its root completes. */
  async function runWith(code: Record<StageName, string>, label: string): Promise<Record<StageName, string>> {
    const runId = newRunId();
    const cacheKeys = Object.fromEntries(STAGES.map((s) => [s, `${label}-${runId}-${s}`])) as Record<
      StageName,
      string
    >;
    await stack.flowProducer.add(
      buildRunFlow(stack.config, {
        runId,
        dataset: 'sample.json',
        params: stack.config.pipeline,
        createdAt: new Date().toISOString(),
        generation: 1,
        cacheKeys,
        code,
        datasetSha256: createHash('sha256')
          .update(fs.readFileSync(path.join(stack.dataDir, 'sample.json')))
          .digest('hex'),
        codeVersion: label,
      }),
    );
    const root = await stack.queues.training.getJob(stageJobId(runId, 'training'));
    assert.ok(root);
    let state = await root.getState();
    for (let i = 0; i < 1200 && state !== 'completed' && state !== 'failed'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      state = await root.getState();
    }
    assert.equal(state, 'completed', `${label}: the run completes`);
    return cacheKeys;
  }

  it('writes entries for its own code identity and none for a key computed by another build', async () => {
    const other = Object.fromEntries(STAGES.map((s) => [s, 'f'.repeat(64)])) as Record<StageName, string>;
    const foreign = await runWith(other, 'other');
    const own = await runWith(stageCodeIdentities(), 'own');
    // Entries are written on the worker's completed events, just after each job completes: the own run's
    // entries appearing means the foreign run's events, long before, were handled too.
    for (const s of STAGES) {
      for (let i = 0; i < 100 && !(await stack.runs.cache.get(own[s])); i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(await stack.runs.cache.get(own[s]), `${s}: cached under its own code`);
    }
    for (const s of STAGES) {
      assert.equal(
        await stack.runs.cache.get(foreign[s]),
        null,
        `${s}: not cached under another build's key`,
      );
    }
  });
});
