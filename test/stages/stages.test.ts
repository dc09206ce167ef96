import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { runTextProcessing } from '../../shared/pipeline/stages/text-processing';
import { runFeatureExtraction } from '../../shared/pipeline/stages/feature-extraction/feature-extraction';
import { runTransformSplit } from '../../shared/pipeline/stages/transform-split/transform-split';
import { runModelSearchInProcess } from '../helpers/model-search-in-process';
import { runDir } from '../../shared/core/storage';
import { BadInputError } from '../../shared/core/errors';
import { comparableBytes } from '../runs/artifacts';
import { SAMPLE_DATASET, stageContext, tempDir, testConfig } from '../helpers/env';

function snapshot(dir: string): Map<string, Buffer> {
  return new Map(
    fs
      .readdirSync(dir)
      .sort()
      // The search's measured seconds differ from run to run: compared without them.
      .map((f) => [f, comparableBytes(f, fs.readFileSync(path.join(dir, f)))]),
  );
}

describe('stage functions, without BullMQ', () => {
  const config = testConfig();
  after(() => fs.rmSync(config.storageDir, { recursive: true, force: true }));

  it('run in order on the sample, and running them twice gives the same files and no leftovers', async () => {
    const ctx = { ...stageContext(config, 'twice'), params: { ...config.pipeline, chunkSize: 250 } };
    const runAll = async () => {
      const text = await runTextProcessing(ctx, SAMPLE_DATASET);
      const topics = await runFeatureExtraction(ctx);
      const split = await runTransformSplit(ctx);
      const trained = await runModelSearchInProcess(ctx);
      return { text, topics, split, trained };
    };
    const first = await runAll();
    assert.equal(first.text.chunks, Math.ceil(first.text.stats.read / 250));
    assert.equal(first.text.stats.read, 1200);
    assert.equal(first.text.stats.kept + first.text.stats.dropped.emptyNarrative!, 1200);
    assert.equal(first.topics.topics.length, 3);
    assert.equal(first.split.trainSize + first.split.testSize, first.text.rows);
    assert.ok(first.trained.metrics.test.accuracy > 0.8);
    const dir = runDir(config.storageDir, 'twice');
    const before = snapshot(dir);
    assert.deepEqual(
      [...before.keys()],
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
    );
    await runAll();
    const again = snapshot(dir);
    assert.deepEqual([...again.keys()], [...before.keys()], 'no temporary or chunk files are left behind');
    for (const [name, bytes] of before)
      assert.ok(bytes.equals(again.get(name)!), `${name} changed on the second run`);
  });

  it('fail fast on bad input, naming the file, record and field', async () => {
    const dir = tempDir('bad');
    const ctx = stageContext(config, 'bad');
    const file = path.join(dir, 'bad.jsonl');
    fs.writeFileSync(
      file,
      '{"_source": {"complaint_what_happened": "The bank charged me twice.", "product": "Checking"}}\n{"_source": {"complaint_what_happened": "Another charge.", "product": 5}}\n',
    );
    await assert.rejects(
      runTextProcessing(ctx, file),
      (err: Error) =>
        err instanceof BadInputError && /bad\.jsonl, record 1, field "_source\.product"/.test(err.message),
    );
    await assert.rejects(
      runTextProcessing(ctx, path.join(dir, 'missing.json')),
      (err: Error) => err instanceof BadInputError && /missing\.json: no such file/.test(err.message),
    );
    await assert.rejects(runFeatureExtraction(stageContext(config, 'never-ran')), /tickets\.csv/);
    fs.rmSync(dir, { recursive: true });
  });
});
