import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { CsrMatrix } from '../../shared/core/numeric/csr';
import { StageContext } from '../../shared/pipeline/stages/context';
import { runFeatureExtraction } from '../../shared/pipeline/stages/feature-extraction/feature-extraction';
import { runTextProcessing } from '../../shared/pipeline/stages/text-processing';
import { searchGrid } from '../../shared/pipeline/stages/training/search-grid';
import {
  featureView,
  fitCandidate,
  fitRowsOf,
  forScoreBlocks,
  probabilitiesOf,
  readTrainingData,
} from '../../shared/pipeline/stages/training/training-data';
import { runTransformSplit } from '../../shared/pipeline/stages/transform-split/transform-split';
import { SAMPLE_DATASET, stageContext, testConfig } from '../helpers/env';

/** The sample's products in three classes (the rest "other"), words and bigrams, one candidate. */
const PARAMS = {
  labels: 'category' as const,
  labelMap: { 'Debt collection': 'debt', Mortgage: 'loan', 'Checking or savings account': 'bank' },
  searchNgrams: [2],
  searchC: [3],
};

describe("stage 4's rows: read to fit as counts or single precision, scored a block at a time", () => {
  const config = testConfig();
  let ctx: StageContext;
  before(async () => {
    const base = stageContext(config, 'rows');
    ctx = { ...base, params: { ...base.params, ...PARAMS } };
    await runTextProcessing(ctx, SAMPLE_DATASET);
    await runFeatureExtraction(ctx);
    await runTransformSplit(ctx);
  });
  after(() => fs.rmSync(config.storageDir, { recursive: true, force: true }));

  it('the same model from counts and from single precision; blocks of scored rows give the whole', async () => {
    const data = await readTrainingData(ctx);
    const candidate = searchGrid(ctx.params)[0]!;
    assert.equal(candidate.solver, 'dual-cd');
    const view = featureView(data, candidate.ngrams);
    const k = data.classes.length;
    // From 0 non-zeros: counts; from more than the rows hold: single precision.
    const counts = await fitRowsOf(ctx, data, view, data.train, candidate, 0);
    const single = await fitRowsOf(ctx, data, view, data.train, candidate, Infinity);
    assert.ok('counts' in counts.X && !('counts' in single.X));
    const a = fitCandidate(counts.X, counts.y, k, candidate, ctx.params, 'refit');
    const b = fitCandidate(single.X, single.y, k, candidate, ctx.params, 'refit');
    // Scored through probabilitiesOf: the counts' values in double are applyTfidf's.
    const pa = probabilitiesOf(a, counts.X);
    const pb = probabilitiesOf(b, counts.X);
    for (let i = 0; i < pa.length; i++) assert.ok(Math.abs(pa[i]! - pb[i]!) < 1e-4, `probability ${i}`);

    // Each test row's probabilities, by its place in the split, from blocks of `size` rows.
    const scored = async (size: number) => {
      const out = new Float64Array(data.test.length * k);
      const seen = new Set<number>();
      let calls = 0;
      let last = -1;
      const use = (X: CsrMatrix, positions: Int32Array) => {
        calls++;
        assert.equal(X.rows, positions.length);
        const P = a.probabilities(X);
        positions.forEach((q, i) => {
          assert.ok(data.test[q]! > last, 'rows come in file order');
          last = data.test[q]!;
          seen.add(q);
          out.set(P.subarray(i * k, (i + 1) * k), q * k);
        });
      };
      await forScoreBlocks(ctx, data, view, data.test, use, size);
      assert.equal(seen.size, data.test.length, 'every row once');
      return { out, calls };
    };
    const whole = await scored(data.test.length);
    const blocks = await scored(7);
    assert.equal(whole.calls, 1);
    assert.equal(blocks.calls, Math.ceil(data.test.length / 7));
    assert.ok(Buffer.from(blocks.out.buffer).equals(Buffer.from(whole.out.buffer)), 'blocks give the whole');
  });
});
