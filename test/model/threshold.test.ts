import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { calibrateThreshold, thresholdTable, topClasses } from '../../shared/pipeline/model/threshold';
import { DEFAULT_PIPELINE_PARAMS, resolvePipelineParams } from '../../shared/core/config/pipeline-params';
import { stageCacheKeys } from '../../shared/runtime/runs/stage-cache';
import { stageDefinition } from '../../shared/pipeline/stages/definitions';

const conf = (...v: number[]) => Float64Array.from(v);
const ok = (...v: number[]) => Uint8Array.from(v);

describe('threshold calibration', () => {
  // Six predictions, most confident first, with whether each is right. Kept at or above each confidence:
  //   ≥ 0.95: 1 of 1 right (1.0)   ≥ 0.9: 2/2 (1.0)   ≥ 0.8: 3/4 (0.75)   ≥ 0.7: 4/5 (0.8)   ≥ 0.6: 4/6
  const c = conf(0.8, 0.95, 0.6, 0.9, 0.7, 0.8);
  const right = ok(1, 1, 0, 1, 1, 0);

  it('picks the smallest threshold whose answered predictions reach the target precision', () => {
    assert.deepEqual(calibrateThreshold(c, right, 0.8), {
      choice: { targetPrecision: 0.8, value: 0.7, coverage: 5 / 6, precision: 0.8 },
      reached: true,
    });
    // 0.75 < 0.8 at 0.8, so 0.7 (one more answered, right) is the smallest reaching 0.78 too.
    assert.equal(calibrateThreshold(c, right, 0.78).choice.value, 0.7);
    assert.deepEqual(calibrateThreshold(c, right, 0.9).choice, {
      targetPrecision: 0.9,
      value: 0.9,
      coverage: 2 / 6,
      precision: 1,
    });
    assert.deepEqual(calibrateThreshold(c, right, 1).choice.value, 0.9);
    // Everything answered is precise enough: threshold 0, nothing abstains.
    assert.deepEqual(calibrateThreshold(c, right, 0.6).choice, {
      targetPrecision: 0.6,
      value: 0,
      coverage: 1,
      precision: 4 / 6,
    });
  });

  it('when no threshold reaches the target: the most precise one (the smallest on ties), not reached', () => {
    //   ≥ 0.9: 0/1   ≥ 0.85: 1/2   ≥ 0.8: 2/3   ≥ 0.7: 2/4
    assert.deepEqual(calibrateThreshold(conf(0.9, 0.85, 0.8, 0.7), ok(0, 1, 1, 0), 0.9), {
      choice: { targetPrecision: 0.9, value: 0.8, coverage: 3 / 4, precision: 2 / 3 },
      reached: false,
    });
    //   ≥ 0.9: 1/2 (a tie of two)   ≥ 0.6: 2/4: equal precision, the smaller threshold wins → 0
    assert.deepEqual(calibrateThreshold(conf(0.9, 0.9, 0.6, 0.6), ok(1, 0, 1, 0), 0.9), {
      choice: { targetPrecision: 0.9, value: 0, coverage: 1, precision: 0.5 },
      reached: false,
    });
    assert.equal(calibrateThreshold(conf(), ok(), 0.9).reached, false);
  });

  it('tabulates coverage and accuracy of the answered predictions', () => {
    assert.deepEqual(thresholdTable(c, right, [0.9, 0, 0.8, 0.99, 0.8]), [
      { threshold: 0, coverage: 1, accuracy: 4 / 6 },
      { threshold: 0.8, coverage: 4 / 6, accuracy: 3 / 4 },
      { threshold: 0.9, coverage: 2 / 6, accuracy: 1 },
      { threshold: 0.99, coverage: 0, accuracy: null },
    ]);
  });

  it('top class: argmax with the lowest class on ties, and its probability', () => {
    const { label, confidence } = topClasses(Float64Array.from([0.2, 0.5, 0.3, 0.4, 0.2, 0.4]), 2, 3);
    assert.deepEqual(Array.from(label), [1, 0]);
    assert.deepEqual(Array.from(confidence), [0.5, 0.4]);
  });
});

describe('parameter targetPrecision', () => {
  it('defaults to 0.98 and takes a number in (0, 1]', () => {
    assert.equal(DEFAULT_PIPELINE_PARAMS.targetPrecision, 0.98);
    assert.equal(resolvePipelineParams(DEFAULT_PIPELINE_PARAMS, { targetPrecision: 1 }).targetPrecision, 1);
    assert.equal(
      resolvePipelineParams(DEFAULT_PIPELINE_PARAMS, { targetPrecision: 0.5 }).targetPrecision,
      0.5,
    );
    for (const bad of [0, -0.1, 1.01, '0.9', null, Infinity]) {
      assert.throws(
        () => resolvePipelineParams(DEFAULT_PIPELINE_PARAMS, { targetPrecision: bad }),
        /parameter "targetPrecision" must be a number above 0 and at most 1/,
        String(bad),
      );
    }
  });

  it('enters only the training stage cache key', () => {
    assert.ok(stageDefinition('training').params.includes('targetPrecision'));
    const a = stageCacheKeys('sha', { ...DEFAULT_PIPELINE_PARAMS });
    const b = stageCacheKeys('sha', { ...DEFAULT_PIPELINE_PARAMS, targetPrecision: 0.9 });
    assert.equal(a['transform-split'], b['transform-split']);
    assert.notEqual(a.training, b.training);
  });
});
