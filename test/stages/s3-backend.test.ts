import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { runTextProcessing } from '../../shared/pipeline/stages/text-processing';
import { runFeatureExtraction } from '../../shared/pipeline/stages/feature-extraction/feature-extraction';
import { runTransformSplit } from '../../shared/pipeline/stages/transform-split/transform-split';
import { StageContext } from '../../shared/pipeline/stages/context';
import { runModelSearchInProcess } from '../helpers/model-search-in-process';
import { comparableBytes } from '../runs/artifacts';
import { S3Server } from '../helpers/s3-server';
import { openStore } from '../../shared/core/store/open-store';
import { SAMPLE_DATASET, stageContext, testConfig } from '../helpers/env';

/** Every artifact of the run in the context's store, by name, the search's seconds left out. */
async function artifacts(ctx: StageContext): Promise<Map<string, Buffer>> {
  const prefix = `runs/${ctx.runId}/`;
  const found = new Map<string, Buffer>();
  for (const { key } of await ctx.store.list(prefix)) {
    const name = key.slice(prefix.length);
    found.set(name, comparableBytes(name, await ctx.store.get(key)));
  }
  return found;
}

async function runAll(ctx: StageContext): Promise<void> {
  await runTextProcessing(ctx, SAMPLE_DATASET);
  await runFeatureExtraction(ctx);
  await runTransformSplit(ctx);
  await runModelSearchInProcess(ctx);
}

describe('stage functions on an S3 store (s3rver)', () => {
  const s3 = new S3Server('stages');
  const fileConfig = testConfig();
  let s3Config: ReturnType<typeof testConfig>;
  let s3Ctx: StageContext;
  let fileCtx: StageContext;
  before(async () => {
    await s3.start();
    // Several chunks, so the merge reads more than one chunk object; the same lineage on both sides.
    const params = { ...fileConfig.pipeline, chunkSize: 250 };
    const run = { datasetSha256: 'same-dataset', codeVersion: 'test-version' };
    fileCtx = { ...stageContext(fileConfig, 'backends'), params, run };
    s3Config = testConfig(s3.env('team/ticketflow'));
    s3Ctx = { ...stageContext(s3Config, 'backends'), params, run };
  });
  after(async () => {
    await s3Ctx.store.close();
    await s3.close();
    fs.rmSync(fileConfig.storageDir, { recursive: true, force: true });
    fs.rmSync(s3Config.storageDir, { recursive: true, force: true });
  });

  it('write byte-identical artifacts to those of a file store, and nothing of the run on the local disk', async () => {
    assert.match(s3Ctx.store.url, /^s3:\/\/stages\/team\/ticketflow/);
    await runAll(fileCtx);
    await runAll(s3Ctx);
    const local = await artifacts(fileCtx);
    const remote = await artifacts(s3Ctx);
    assert.deepEqual(
      [...remote.keys()],
      [
        'features.bin',
        'features.json',
        'labels.json',
        'metrics.json',
        'model.json',
        'search.json',
        'split.json',
        'test_predictions.json',
        'tickets.csv',
        'tickets.csv.idx',
        'tickets_topics.csv',
        'tickets_topics.csv.idx',
        'topics.json',
      ],
      'every artifact, and no chunk or fold files left',
    );
    assert.deepEqual([...remote.keys()], [...local.keys()]);
    for (const [name, bytes] of local) assert.ok(remote.get(name)!.equals(bytes), `${name} differs`);
    // The S3 run's config still names a storage folder: the stages must not have written into it.
    assert.deepEqual(fs.readdirSync(s3Config.storageDir), []);
  });

  it("writes tickets_topics.csv of 4 blocks as a multipart upload's parts, with the file store's bytes", async () => {
    const params = { ...fileCtx.params, blockSize: 300 };
    const file = { ...fileCtx, runId: 'pieces', params };
    // S3's parts but the last must hold 5 MiB, which the sample's blocks do not: let s3rver take them.
    const store = openStore(s3Config.storage);
    const placed = store.placed!;
    let parts = 0;
    Object.defineProperty(store, 'placed', {
      value: {
        ...placed,
        minPieceBytes: 0,
        write: (...a: Parameters<typeof placed.write>) => (parts++, placed.write(...a)),
      },
    });
    const remote = { ...s3Ctx, store, runId: 'pieces', params };
    try {
      for (const ctx of [file, remote]) {
        await runTextProcessing(ctx, SAMPLE_DATASET);
        await runFeatureExtraction(ctx);
      }
      assert.equal(parts, 4, 'one part a block');
      for (const name of ['tickets_topics.csv', 'tickets_topics.csv.idx', 'topics.json']) {
        const key = `runs/pieces/${name}`;
        assert.ok((await store.get(key)).equals(await fileCtx.store.get(key)), `${name} differs`);
      }
      assert.equal(await store.removeAbandonedWrites('runs/pieces/'), 0, 'no upload is left behind');
    } finally {
      await store.close();
    }
  });
});
