import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { planChunks } from '../../shared/core/dataset/plan-chunks';
import { withDataset } from '../../shared/core/dataset/open-dataset';
import { StageContext } from '../../shared/pipeline/stages/context';
import { processChunk, readChunkStats } from '../../shared/pipeline/stages/text-processing';
import { runTextProcessing } from '../../shared/pipeline/stages/text-processing';
import { runFeatureExtraction } from '../../shared/pipeline/stages/feature-extraction/feature-extraction';
import { runTransformSplit } from '../../shared/pipeline/stages/transform-split/transform-split';
import { foldKey, readFoldResults, runCvFold } from '../../shared/pipeline/stages/training/model-search';
import { SAMPLE_DATASET, stageContext, testConfig } from '../helpers/env';

/** Two builds' code identities (code-identity.ts); in-process code has none. */
const BUILD_A = 'a'.repeat(64);
const BUILD_B = 'b'.repeat(64);

describe("a retry reuses a chunk's rows and a fold's scores only when the same code computed them", () => {
  const config = testConfig();
  let ctx: StageContext;
  before(async () => {
    ctx = stageContext(config, 'same-code');
    await runTextProcessing(ctx, SAMPLE_DATASET);
    await runFeatureExtraction(ctx);
    await runTransformSplit(ctx);
  });
  after(() => fs.rmSync(config.storageDir, { recursive: true, force: true }));

  it("stage 1: a chunk's stored output is reused by the code that wrote it, not by another build", async () => {
    await withDataset(SAMPLE_DATASET, async (file) => {
      const plan = await planChunks(file, 50);
      const range = plan.chunks[0]!;
      const a = { ...ctx, code: BUILD_A };
      await processChunk(a, { chunk: 0, file, format: plan.format, range });
      assert.equal((await readChunkStats(a, 0, range))?.code, BUILD_A, 'the same build reuses it');
      assert.equal(await readChunkStats({ ...ctx, code: BUILD_B }, 0, range), null, 'another build does not');
      assert.equal(await readChunkStats(ctx, 0, range), null, 'nor in-process code');
      await processChunk(ctx, { chunk: 0, file, format: plan.format, range });
      assert.equal((await readChunkStats(ctx, 0, range))?.code, null);
      assert.equal(await readChunkStats(a, 0, range), null, 'rewritten by other code, it is theirs');
    });
  });

  it("stage 4: a fold's stored score is reused by the code that computed it, not by another build", async () => {
    const a = { ...ctx, code: BUILD_A };
    const result = await runCvFold(a, 0, 1);
    const same = await readFoldResults(a);
    assert.deepEqual(same.get(foldKey(0, 1)), result, 'the same build reuses it');
    assert.equal((await readFoldResults({ ...ctx, code: BUILD_B })).has(foldKey(0, 1)), false);
    assert.equal((await readFoldResults(ctx)).has(foldKey(0, 1)), false, 'nor in-process code');
  });
});
