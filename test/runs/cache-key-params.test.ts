import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import {
  DEFAULT_PIPELINE_PARAMS,
  PARAM_NAMES,
  PipelineParams,
  resolvePipelineParams,
} from '../../shared/core/config/pipeline-params';
import { STAGES, StageName, stageDefinition } from '../../shared/pipeline/stages/definitions';
import { stageCacheKeys } from '../../shared/runtime/runs/stage-cache';
import { StageContext } from '../../shared/pipeline/stages/context';
import { runFeatureExtraction } from '../../shared/pipeline/stages/feature-extraction/feature-extraction';
import { runModelSearchInProcess } from '../helpers/model-search-in-process';
import { runTextProcessing } from '../../shared/pipeline/stages/text-processing';
import { runTransformSplit } from '../../shared/pipeline/stages/transform-split/transform-split';
import { SAMPLE_DATASET, stageContext, testConfig } from '../helpers/env';

/**
 * The first stage whose output each parameter changes, written down here from what the parameters mean
 * (docs/, pipeline-params.ts), not read from the stage definitions: a parameter missing from its stage's
 * `params` there leaves that stage's key (and every later one) unchanged, and fails below. null: changes no
 * output at all (chunkSize only partitions stage 1's work).
 */
const FIRST_STAGE: Record<keyof PipelineParams, StageName | null> = {
  language: 'text-processing',
  chunkSize: null,
  // NMF sums its per-block aggregates block by block: another cut can change its low bits
  blockSize: 'feature-extraction',
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
  blockSize: 5000,
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

/**
 * Parameters a stage reads although they change none of its output, each with the reason: the only
 * reads outside the stage's cache key (its own definition's `params` and those of the stages before it) allowed.
 */
const READ_WITHOUT_OUTPUT: Partial<Record<StageName, Partial<Record<keyof PipelineParams, string>>>> = {
  'text-processing': { chunkSize: 'only partitions the work into chunk jobs' },
  'feature-extraction': {
    testSize: 'checkParamsAgainstData refuses a split the ticket count cannot give, before fitting',
    stratify: 'checkParamsAgainstData, as testSize',
  },
  'transform-split': {
    searchC: 'the grid is listed only for its longest n-gram (maxNgrams)',
    searchClassWeight: 'as searchC',
  },
};

/** `params` as a stage sees it, noting every parameter the stage reads. */
function recording(params: PipelineParams, reads: Set<string>): PipelineParams {
  return new Proxy(params, {
    get(target, key, receiver) {
      if (typeof key === 'string') reads.add(key);
      return Reflect.get(target, key, receiver) as unknown;
    },
    ownKeys(target) {
      reads.add('(every parameter, by listing them)');
      return Reflect.ownKeys(target);
    },
  });
}

describe('what each stage reads of the parameters, running on the sample', () => {
  const config = testConfig();
  const reads = new Map<StageName, Set<string>>(STAGES.map((s) => [s, new Set<string>()]));
  const runStage = async (
    stage: StageName,
    params: PipelineParams,
    fn: (ctx: StageContext) => Promise<unknown>,
  ) => {
    await fn({ ...stageContext(config, 'reads'), params: recording(params, reads.get(stage)!) });
  };
  before(async () => {
    const topics: PipelineParams = { ...config.pipeline };
    await runStage('text-processing', topics, (ctx) => runTextProcessing(ctx, SAMPLE_DATASET));
    await runStage('feature-extraction', topics, runFeatureExtraction);
    await runStage('transform-split', topics, runTransformSplit);
    await runStage('training', topics, runModelSearchInProcess);
    // Category labels read the label and feature parameters topic labels leave alone.
    const category: PipelineParams = { ...topics, labels: 'category', searchC: [1], minClassSize: 20 };
    await runStage('transform-split', category, runTransformSplit);
    await runStage('training', category, runModelSearchInProcess);
  });
  after(() => fs.rmSync(config.storageDir, { recursive: true, force: true }));

  it('every parameter a stage reads is in its cache key, or the key of a stage before it', () => {
    for (const [i, stage] of STAGES.entries()) {
      const keyed = new Set<string>(STAGES.slice(0, i + 1).flatMap((s) => stageDefinition(s).params));
      const allowed = READ_WITHOUT_OUTPUT[stage] ?? {};
      const outside = [...reads.get(stage)!].filter((p) => !keyed.has(p) && !Object.hasOwn(allowed, p));
      assert.deepEqual(outside, [], `${stage} reads parameters its cache key does not cover`);
      assert.ok(reads.get(stage)!.size > 0, `${stage} read its parameters through the recording proxy`);
    }
  });

  it('each parameter is first read by the stage the cache keys expect', () => {
    for (const name of PARAM_NAMES) {
      const first = STAGES.find((s) => reads.get(s)!.has(name) && !READ_WITHOUT_OUTPUT[s]?.[name]);
      const expected = FIRST_STAGE[name];
      // language has one value, English, which text processing assumes without reading it.
      if (name === 'language' || expected === null) continue;
      assert.equal(first, expected, `"${name}" is first read by ${first ?? 'no stage'}`);
    }
  });
});
