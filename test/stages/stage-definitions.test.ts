import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_PIPELINE_PARAMS } from '../../shared/core/config/pipeline-params';
import { resolveConfig } from '../../shared/core/config/config';
import { OUTPUT_NEUTRAL_PARAMS, STAGE_DEFINITIONS, STAGES } from '../../shared/pipeline/stages/definitions';
import { QUEUES, QUEUE_SETTINGS, queueTimeoutsMs } from '../../shared/runtime/flow/queue-names';
import { DIST_ROOT } from '../../shared/runtime/runs/code-identity';

describe('the stage definitions', () => {
  it("every pipeline parameter enters some stage's cache key, or is declared output-neutral", () => {
    const keyed = new Set<string>(STAGE_DEFINITIONS.flatMap((d) => d.params));
    const neutral = new Set<string>(OUTPUT_NEUTRAL_PARAMS);
    const missing = Object.keys(DEFAULT_PIPELINE_PARAMS).filter((p) => !keyed.has(p) && !neutral.has(p));
    assert.deepEqual(
      missing,
      [],
      "parameters in no stage definition's `params` enter no cache key: a run changing them would reuse a stale cached stage. List each in the params of the first stage whose output it changes, or in OUTPUT_NEUTRAL_PARAMS if it changes no output",
    );
    for (const p of neutral) {
      assert.ok(Object.hasOwn(DEFAULT_PIPELINE_PARAMS, p), `output-neutral "${p}" is a parameter`);
      assert.ok(!keyed.has(p), `"${p}" is both output-neutral and in a cache key`);
    }
  });

  it('name distinct queues, and their code entries and sandbox files exist in the build', () => {
    assert.deepEqual(STAGES, ['text-processing', 'feature-extraction', 'transform-split', 'training']);
    assert.equal(new Set(QUEUES).size, QUEUES.length, 'no two queues share a name');
    for (const d of STAGE_DEFINITIONS) {
      assert.ok(
        d.code[0]!.startsWith(`shared/pipeline/stages/${d.name}/`),
        `${d.name}: its code starts in its folder`,
      );
      for (const entry of d.code)
        assert.ok(fs.existsSync(path.join(DIST_ROOT, entry)), `${d.name}: ${entry}`);
    }
    for (const q of QUEUES) {
      const spec = QUEUE_SETTINGS[q].processor;
      if ('sandbox' in spec) {
        const file = path.join(DIST_ROOT, 'workers/processors/sandboxed', spec.sandbox);
        assert.ok(fs.existsSync(file), `${q}: ${file}`);
      }
    }
  });

  it("carry the seed's Prefect tags", () => {
    const tags = Object.fromEntries(STAGE_DEFINITIONS.map((d) => [d.name, d.tags]));
    assert.deepEqual(tags, {
      'text-processing': ['pos_tag'],
      'feature-extraction': ['feature_extraction', 'topic_modeling'],
      'transform-split': ['data_transform', 'split_data', 'train_test_split'],
      training: ['train', 'best_model', 'LogisticRegressionClassifier'],
    });
  });

  it('give each queue its time limit, which TICKETFLOW_STAGE_TIMEOUTS overrides by queue name', () => {
    const defaults = {
      'text-processing': 1800_000,
      'feature-extraction': 3600_000,
      'transform-split': 1800_000,
      training: 3600_000,
      'text-chunks': 600_000,
      'feature-blocks': 600_000,
      'transform-blocks': 600_000,
      'training-search': 1800_000,
      classification: 1800_000,
      'classification-chunks': 600_000,
      schedules: 300_000,
      webhooks: 120_000,
    };
    assert.deepEqual(queueTimeoutsMs(resolveConfig({}).stageTimeoutMs), defaults);
    const env = { TICKETFLOW_STAGE_TIMEOUTS: 'text-chunks=60, training=7200' };
    assert.deepEqual(queueTimeoutsMs(resolveConfig(env).stageTimeoutMs), {
      ...defaults,
      'text-chunks': 60_000,
      training: 7200_000,
    });
    assert.throws(
      () => queueTimeoutsMs(resolveConfig({ TICKETFLOW_STAGE_TIMEOUTS: 'text-chunk=60' }).stageTimeoutMs),
      /TICKETFLOW_STAGE_TIMEOUTS takes queue=seconds pairs \(queues: text-processing, .*classification-chunks, schedules, webhooks\), got "text-chunk=60"/,
    );
    assert.throws(
      () => resolveConfig({ TICKETFLOW_STAGE_TIMEOUTS: 'training=-1' }),
      /TICKETFLOW_STAGE_TIMEOUTS takes queue=seconds pairs, got "training=-1"/,
    );
  });
});
