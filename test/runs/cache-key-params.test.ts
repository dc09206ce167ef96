import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_PIPELINE_PARAMS,
  PARAM_NAMES,
  PipelineParams,
  resolvePipelineParams,
} from '../../shared/config/pipeline-params';
import { STAGES, StageName } from '../../shared/config/stages';
import { stageCacheKeys } from '../../shared/runs/stage-cache';

/**
 * The first stage whose output each parameter changes, written down here from what the parameters mean
 * (README, pipeline-params.ts), not read from STAGE_PARAMS: a parameter missing from its stage's list
 * there leaves that stage's key (and every later one) unchanged, and fails below. null: changes no
 * output at all (chunkSize only partitions stage 1's work).
 */
const FIRST_STAGE: Record<keyof PipelineParams, StageName | null> = {
  language: 'text-processing',
  chunkSize: null,
  topics: 'feature-extraction',
  minDf: 'feature-extraction',
  maxDf: 'feature-extraction',
  nmfSeed: 'feature-extraction',
  nmfTol: 'feature-extraction',
  nmfMaxIter: 'feature-extraction',
  topicDictionary: 'feature-extraction',
  testSize: 'transform-split',
  splitSeed: 'transform-split',
  stratify: 'transform-split',
  labels: 'transform-split',
  labelField: 'transform-split',
  labelMap: 'transform-split',
  unmappedLabel: 'transform-split',
  minClassSize: 'transform-split',
  featureMinDf: 'transform-split',
  featureMaxDf: 'transform-split',
  searchNgrams: 'transform-split',
  cvFolds: 'transform-split',
  C: 'training',
  penalty: 'training',
  maxIter: 'training',
  targetPrecision: 'training',
  searchC: 'training',
  searchClassWeight: 'training',
  searchScore: 'training',
};

/** Category labels: the base every category-only parameter (labelMap, searchNgrams) is valid with. */
const BASE: PipelineParams = { ...DEFAULT_PIPELINE_PARAMS, labels: 'category' };

/** A value of each parameter other than BASE's. */
const OTHER_VALUE: Record<keyof PipelineParams, unknown> = {
  // The only valid value of each of these is its default: any other string still has to change the key.
  language: 'french',
  penalty: 'l1',
  chunkSize: 500,
  topics: 5,
  minDf: 3,
  maxDf: 0.9,
  nmfSeed: 7,
  nmfTol: 1e-3,
  nmfMaxIter: 50,
  topicDictionary: { Loans: ['loan'] },
  testSize: 0.25,
  splitSeed: 1,
  stratify: false,
  labels: 'topics',
  labelField: 'category',
  labelMap: { Mortgage: 'loan' },
  unmappedLabel: 'drop',
  minClassSize: 5,
  featureMinDf: 3,
  featureMaxDf: 0.9,
  searchNgrams: [1],
  cvFolds: 5,
  C: 2,
  maxIter: 50,
  targetPrecision: 0.9,
  searchC: [1],
  searchClassWeight: ['balanced'],
  searchScore: 'accuracy',
};

const SINGLE_VALUED = new Set<keyof PipelineParams>(['language', 'penalty']);

function keysWith(name: keyof PipelineParams, value: unknown): Record<StageName, string> {
  return stageCacheKeys('sha', { ...BASE, [name]: value } as PipelineParams);
}

/** The stages whose key changes when `name` takes `value`, in flow order. */
function changedStages(name: keyof PipelineParams, value: unknown): StageName[] {
  const before = stageCacheKeys('sha', BASE);
  const after = keysWith(name, value);
  return STAGES.filter((s) => before[s] !== after[s]);
}

describe('stage cache keys and the pipeline parameters', () => {
  it('every pipeline parameter has an expected first stage and another value to try', () => {
    assert.deepEqual(Object.keys(FIRST_STAGE).sort(), [...PARAM_NAMES].sort());
    assert.deepEqual(Object.keys(DEFAULT_PIPELINE_PARAMS).sort(), [...PARAM_NAMES].sort());
    assert.deepEqual(Object.keys(OTHER_VALUE).sort(), [...PARAM_NAMES].sort());
    for (const name of PARAM_NAMES) {
      const value = OTHER_VALUE[name];
      assert.notDeepEqual(value, BASE[name], `${name}: a value other than the base's`);
      if (!SINGLE_VALUED.has(name)) {
        assert.doesNotThrow(() => resolvePipelineParams(BASE, { [name]: value }), `${name}: a valid value`);
      }
    }
  });

  it("each parameter changes the key of the stage that reads it and of every later stage, and no earlier stage's", () => {
    for (const name of PARAM_NAMES) {
      const first = FIRST_STAGE[name];
      const expected = first === null ? [] : STAGES.slice(STAGES.indexOf(first));
      assert.deepEqual(changedStages(name, OTHER_VALUE[name]), expected, `changing "${name}"`);
    }
  });

  it('labelMap, unmappedLabel, labelField and minClassSize each change stages 3–4 keys, not stages 1–2', () => {
    const cases: [keyof PipelineParams, unknown[]][] = [
      [
        'labelMap',
        [{ Mortgage: 'loan' }, { Mortgage: 'mortgage' }, { Mortgage: 'loan', 'Debt collection': 'debt' }],
      ],
      ['unmappedLabel', ['drop']],
      ['labelField', ['category']],
      ['minClassSize', [0, 9, 11]],
    ];
    const base = stageCacheKeys('sha', BASE);
    for (const [name, values] of cases) {
      const seen = new Set([base['transform-split']]);
      for (const value of values) {
        const keys = keysWith(name, value);
        assert.equal(keys['text-processing'], base['text-processing'], `${name} ${JSON.stringify(value)}`);
        assert.equal(
          keys['feature-extraction'],
          base['feature-extraction'],
          `${name} ${JSON.stringify(value)}`,
        );
        assert.notEqual(keys['transform-split'], base['transform-split'], `${name} ${JSON.stringify(value)}`);
        assert.notEqual(keys.training, base.training, `${name} ${JSON.stringify(value)}`);
        seen.add(keys['transform-split']);
      }
      assert.equal(seen.size, values.length + 1, `every value of ${name} has a key of its own`);
    }
  });
});
