import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { ARTIFACTS, StageContext, artifactKey } from '../../shared/pipeline/stages/context';
import { runFeatureExtraction } from '../../shared/pipeline/stages/feature-extraction/feature-extraction';
import { runTextProcessing } from '../../shared/pipeline/stages/text-processing';
import { Candidate, searchGrid } from '../../shared/pipeline/stages/training/search-grid';
import { TrainingResult, runRefit } from '../../shared/pipeline/stages/training/training';
import {
  readRefitFit,
  runRefitFit,
  scoreStoredRefit,
  storedRefitFit,
} from '../../shared/pipeline/stages/training/refit-fit';
import { runTransformSplit } from '../../shared/pipeline/stages/transform-split/transform-split';
import { removeFoldFiles } from '../../shared/pipeline/stages/training/model-search';
import { SAMPLE_DATASET, stageContext, testConfig } from '../helpers/env';

/** The sample's products in three classes and "other" (refit-parts.test.ts). */
const LABEL_MAP = {
  'Debt collection': 'debt',
  Mortgage: 'loan',
  'Checking or savings account': 'bank',
  'Student loan': 'loan',
};

/** The metrics a refit returns, without the seconds it took. */
function numbers(r: TrainingResult): unknown {
  return { metrics: r.metrics, warnings: r.warnings };
}

for (const labels of ['topics', 'category'] as const) {
  describe(`a refit in two halves (${labels} labels): its fit stored, then scored`, () => {
    const config = testConfig();
    let ctx: StageContext;
    let candidate: Candidate;
    before(async () => {
      const base = stageContext(config, `halves-${labels}`);
      const labelMap = labels === 'category' ? { labelMap: LABEL_MAP } : {};
      ctx = { ...base, params: { ...base.params, labels, ...labelMap, searchC: [3], searchNgrams: [2] } };
      await runTextProcessing(ctx, SAMPLE_DATASET);
      await runFeatureExtraction(ctx);
      await runTransformSplit(ctx);
      candidate = searchGrid(ctx.params)[0]!;
      assert.equal(candidate.solver, labels === 'topics' ? 'lbfgs' : 'dual-cd');
    });
    after(() => fs.rmSync(config.storageDir, { recursive: true, force: true }));

    const bytes = async (name: string) => (await ctx.store.get(artifactKey(ctx, name))).toString('utf8');

    it('writes the same model.json, test_predictions.json and metrics as the refit in one job', async () => {
      const whole = await runRefit(ctx, candidate);
      const model = await bytes(ARTIFACTS.model);
      const predictions = await bytes(ARTIFACTS.testPredictions);
      await ctx.store.remove(artifactKey(ctx, ARTIFACTS.model));
      await ctx.store.remove(artifactKey(ctx, ARTIFACTS.testPredictions));

      assert.equal(await storedRefitFit(ctx, candidate), false);
      const fit = await runRefitFit(ctx, candidate);
      assert.equal(fit.kind, 'refit-fit');
      assert.ok(fit.iterations > 0);
      assert.equal(await storedRefitFit(ctx, candidate), true);
      // The fit wrote no artifact of the stage: the scoring does.
      assert.equal(await ctx.store.stat(artifactKey(ctx, ARTIFACTS.model)), undefined);
      const scored = await scoreStoredRefit(ctx, candidate);
      assert.equal(await bytes(ARTIFACTS.model), model, 'model.json is the same bytes');
      assert.equal(await bytes(ARTIFACTS.testPredictions), predictions, 'test_predictions.json too');
      assert.deepEqual(numbers(scored), numbers(whole));
      assert.ok(scored.seconds >= fit.seconds, "the refit's seconds include its fit's");
    });

    it('a fit of another candidate, other parameters or other code is not scored', async () => {
      const others = searchGrid({ ...ctx.params, searchC: [1, 3] });
      const other = others.find((c) => c.C === 1)!;
      assert.equal(await readRefitFit(ctx, { ...other, id: candidate.id }), null);
      const params = { ...ctx, params: { ...ctx.params, maxIter: ctx.params.maxIter + 1 } };
      assert.equal(await storedRefitFit(params, candidate), false);
      await assert.rejects(
        scoreStoredRefit(params, candidate),
        new RegExp(`refit-${candidate.id}-fit\\.json: no fit of candidate ${candidate.id}`),
      );
      const build = { ...ctx, code: 'f'.repeat(64) };
      assert.equal(await storedRefitFit(build, candidate), false);
      assert.equal(await storedRefitFit(ctx, candidate), true);
    });

    it('a damaged fit fails its scoring, naming the file; the search folder goes with it', async () => {
      const key = artifactKey(ctx, `${ARTIFACTS.searchDir}/refit-${candidate.id}-fit.json`);
      const file = JSON.parse(await bytes(`${ARTIFACTS.searchDir}/refit-${candidate.id}-fit.json`)) as {
        section: { coef: number[][] };
      };
      file.section.coef[0]!.pop();
      await ctx.store.putJson(key, file);
      assert.equal(await storedRefitFit(ctx, candidate), false);
      await assert.rejects(
        scoreStoredRefit(ctx, candidate),
        new RegExp(`refit-${candidate.id}-fit\\.json: not a stored refit \\(coef row 0 must hold`),
      );
      await ctx.store.put(key, Buffer.from('{"section":'));
      await assert.rejects(scoreStoredRefit(ctx, candidate), /not a stored refit/);
      await removeFoldFiles(ctx);
      assert.equal(await ctx.store.stat(key), undefined);
    });
  });
}
