import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { ARTIFACTS, StageContext, artifactKey } from '../../shared/pipeline/stages/context';
import { runFeatureExtraction } from '../../shared/pipeline/stages/feature-extraction/feature-extraction';
import { runTextProcessing } from '../../shared/pipeline/stages/text-processing';
import { searchGrid } from '../../shared/pipeline/stages/training/search-grid';
import { refitProblems } from '../../shared/pipeline/stages/training/training-data';
import { runRefit } from '../../shared/pipeline/stages/training/training';
import {
  readRefitParts,
  runRefitPart,
  storedRefitParts,
} from '../../shared/pipeline/stages/training/refit-parts';
import { runTransformSplit } from '../../shared/pipeline/stages/transform-split/transform-split';
import { removeFoldFiles } from '../../shared/pipeline/stages/training/model-search';
import { SAMPLE_DATASET, stageContext, testConfig } from '../helpers/env';

/** The sample's products in four classes (the rest "other"): five one-vs-rest problems. */
const PARAMS = {
  labels: 'category' as const,
  labelMap: {
    'Debt collection': 'debt',
    Mortgage: 'loan',
    'Checking or savings account': 'bank',
    'Student loan': 'loan',
  },
  searchNgrams: [1, 2],
  searchC: [3],
  searchClassWeight: ['balanced' as const],
};

describe('a one-vs-rest refit in parts: one problem per job, joined by the refit', () => {
  const config = testConfig();
  let ctx: StageContext;
  before(async () => {
    const base = stageContext(config, 'parts');
    ctx = { ...base, params: { ...base.params, ...PARAMS } };
    await runTextProcessing(ctx, SAMPLE_DATASET);
    await runFeatureExtraction(ctx);
    await runTransformSplit(ctx);
  });
  after(() => fs.rmSync(config.storageDir, { recursive: true, force: true }));

  const model = async () => (await ctx.store.get(artifactKey(ctx, ARTIFACTS.model))).toString('utf8');

  it('joined from its problems, solved in any order, the model is the same bytes as fitted whole', async () => {
    const candidate = searchGrid(ctx.params).at(-1)!;
    assert.equal(candidate.solver, 'dual-cd');
    const classes = 4;
    const problems = refitProblems(candidate, classes);
    assert.deepEqual(problems, [0, 1, 2, 3]);
    const whole = await runRefit(ctx, candidate);
    const wholeModel = await model();

    assert.equal((await storedRefitParts(ctx, candidate, problems!)).size, 0);
    for (const p of [...problems!].reverse()) {
      const r = await runRefitPart(ctx, candidate, p);
      assert.equal(r.problem, p);
      assert.ok(r.iterations > 0);
    }
    assert.deepEqual([...(await storedRefitParts(ctx, candidate, problems!))].sort(), problems);
    const joined = await runRefit(ctx, candidate, problems);
    assert.equal(await model(), wholeModel, 'model.json is the same bytes');
    assert.deepEqual(joined.metrics, whole.metrics);
  });

  it('a row stored for another candidate, other parameters or other code is not reused, nor joined', async () => {
    const [words, bigrams] = searchGrid(ctx.params);
    const problems = refitProblems(bigrams!, 4)!;
    // The rows above belong to the bigram candidate: none is the words candidate's.
    assert.equal((await storedRefitParts(ctx, words!, problems)).size, 0);
    const other = { ...ctx, params: { ...ctx.params, maxIter: ctx.params.maxIter + 1 } };
    assert.equal((await storedRefitParts(other, bigrams!, problems)).size, 0);
    await assert.rejects(runRefit(other, bigrams!, problems), /problem 0 has no row for this fit/);
    // Rows another build fitted (a worker's code identity; these were fitted in-process, with none).
    const build = { ...ctx, code: 'f'.repeat(64) };
    assert.equal((await storedRefitParts(build, bigrams!, problems)).size, 0);
    await assert.rejects(runRefit(build, bigrams!, problems), /problem 0 has no row for this fit/);
    assert.equal((await storedRefitParts(ctx, bigrams!, problems)).size, problems.length);
    // A row of other classes or features (a run whose data changed) is refused, naming the file.
    await assert.rejects(
      readRefitParts(ctx, bigrams!, problems, ['a', 'b', 'c', 'd'], 10),
      /refit-1-part-0\.bin: a row over \d+ features of classes/,
    );
  });

  it('a missing or damaged row fails the join; the search folder goes with the rows', async () => {
    const candidate = searchGrid(ctx.params).at(-1)!;
    const problems = refitProblems(candidate, 4)!;
    const key = artifactKey(ctx, `${ARTIFACTS.searchDir}/refit-${candidate.id}-part-2.bin`);
    await ctx.store.put(key, Buffer.from([1, 2, 3]));
    assert.deepEqual([...(await storedRefitParts(ctx, candidate, problems))].sort(), [0, 1, 3]);
    await assert.rejects(runRefit(ctx, candidate, problems), /refit-1-part-2\.bin: not a refit part/);
    await removeFoldFiles(ctx);
    assert.equal((await storedRefitParts(ctx, candidate, problems)).size, 0);
  });
});
