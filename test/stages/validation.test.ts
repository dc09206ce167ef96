import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { PipelineParams } from '../../shared/core/config/pipeline-params';
import { BadInputError } from '../../shared/core/errors';
import { csvRow } from '../../shared/core/io/csv';
import {
  ARTIFACTS,
  StageContext,
  TICKETS_COLUMNS,
  TICKETS_TOPICS_COLUMNS,
} from '../../shared/pipeline/stages/context';
import {
  MIN_TOPIC_SHARE,
  MIN_VOCABULARY_TERMS,
  runFeatureExtraction,
  TopicsFile,
} from '../../shared/pipeline/stages/feature-extraction/feature-extraction';
import { runTextProcessing } from '../../shared/pipeline/stages/text-processing';
import { MetricsFile } from '../../shared/pipeline/stages/training/training';
import { runModelSearchInProcess } from '../helpers/model-search-in-process';
import { runTransformSplit, SplitFile } from '../../shared/pipeline/stages/transform-split/transform-split';
import { runDir } from '../../shared/core/storage';
import { SAMPLE_DATASET, stageContext, tempDir, testConfig } from '../helpers/env';

const config = testConfig();
after(() => fs.rmSync(config.storageDir, { recursive: true, force: true }));

function ctxFor(runId: string, params: Partial<PipelineParams> = {}): StageContext {
  const ctx = stageContext(config, runId);
  return { ...ctx, params: { ...ctx.params, ...params } };
}

function artifact(ctx: StageContext, name: string): string {
  return path.join(runDir(config.storageDir, ctx.runId), name);
}

/** Write `tickets.csv` (stage 1's output) with these processed texts. */
function writeTickets(ctx: StageContext, processed: readonly string[]): void {
  fs.mkdirSync(runDir(config.storageDir, ctx.runId), { recursive: true });
  const rows = processed.map((text, i) => csvRow([`Narrative ${i}.`, 'Checking account', text]));
  fs.writeFileSync(artifact(ctx, ARTIFACTS.tickets), csvRow(TICKETS_COLUMNS) + rows.join(''));
}

/** Write stage 2's output (`topics.json`, `tickets_topics.csv`) for [processed text, topic] rows. */
function writeLabelled(ctx: StageContext, names: readonly string[], rows: readonly [string, string][]): void {
  fs.mkdirSync(runDir(config.storageDir, ctx.runId), { recursive: true });
  const topics: TopicsFile = {
    topics: names.map((name, id) => ({
      id,
      name,
      size: rows.filter(([, t]) => t === name).length,
      topWords: [],
    })),
    vocabularySize: 0,
    nmf: { iterations: 0, reconstructionError: 0 },
    warnings: [],
  };
  fs.writeFileSync(artifact(ctx, ARTIFACTS.topics), JSON.stringify(topics));
  const lines = rows.map(([text, topic], i) => csvRow([`Narrative ${i}.`, 'Checking account', text, topic]));
  fs.writeFileSync(artifact(ctx, ARTIFACTS.ticketsTopics), csvRow(TICKETS_TOPICS_COLUMNS) + lines.join(''));
}

const repeat = <T>(n: number, value: T): T[] => Array.from({ length: n }, () => value);

/** Asserts that `promise` rejects with a BadInputError whose message matches every pattern. */
async function rejectsBadInput(promise: Promise<unknown>, ...patterns: RegExp[]): Promise<string> {
  let message = '';
  await assert.rejects(promise, (err: Error) => {
    assert.ok(err instanceof BadInputError, `expected BadInputError, got ${err.name}: ${err.message}`);
    for (const p of patterns) assert.match(err.message, p);
    message = err.message;
    return true;
  });
  return message;
}

describe('data-dependent failures fail at once (BadInputError) and say what to change', () => {
  describe('feature extraction (stage 2)', () => {
    it('as many tickets as topics, from stage 1 on a three-complaint dataset: change "topics"', async () => {
      const dir = tempDir('three');
      const file = path.join(dir, 'three.json');
      const hit = (text: string) => ({ _source: { complaint_what_happened: text, product: 'Checking' } });
      fs.writeFileSync(
        file,
        JSON.stringify([
          hit('The bank charged my account a fee for the transfer.'),
          hit('The mortgage servicer lost my payment and the escrow statement.'),
          hit('A debt collector called my employer about a loan.'),
        ]),
      );
      const ctx = ctxFor('three', { topics: 3 });
      const text = await runTextProcessing(ctx, file);
      assert.equal(text.rows, 3);
      await rejectsBadInput(
        runFeatureExtraction(ctx),
        /tickets\.csv: 3 ticket\(s\)/,
        /parameter "topics" \(3\) must be below the number of tickets \(3\): use fewer topics or a larger dataset/,
      );
      fs.rmSync(dir, { recursive: true });
    });

    it('a vocabulary smaller than the topics: says its size, the tickets, "lower minDf or raise maxDf"', async () => {
      const ctx = ctxFor('tiny-vocabulary', { topics: 3 });
      writeTickets(ctx, [...repeat(5, 'apple apple'), ...repeat(5, 'banana')]);
      await rejectsBadInput(
        runFeatureExtraction(ctx),
        /TF-IDF vocabulary of 2 term\(s\) over 10 tickets after pruning with minDf 2 and maxDf 0\.95, fewer terms than the 3 topics: lower minDf or raise maxDf/,
      );
    });

    it('an empty vocabulary after pruning: says 0 terms and "lower minDf or raise maxDf"', async () => {
      const ctx = ctxFor('empty-vocabulary', { topics: 2, minDf: 0.6 });
      writeTickets(ctx, [...repeat(5, 'apple'), ...repeat(5, 'banana')]);
      await rejectsBadInput(
        runFeatureExtraction(ctx),
        /TF-IDF vocabulary of 0 term\(s\) over 10 tickets after pruning with minDf 0\.6 and maxDf 0\.95, empty: lower minDf or raise maxDf/,
      );
    });

    it('a count minDf above the number of tickets: change "minDf"', async () => {
      const ctx = ctxFor('min-df-count', { minDf: 50 });
      writeTickets(ctx, [...repeat(5, 'apple'), ...repeat(5, 'banana')]);
      await rejectsBadInput(
        runFeatureExtraction(ctx),
        /parameter "minDf" \(50\) exceeds the number of tickets \(10\).*lower minDf/,
      );
    });

    it('tickets without a single processed term', async () => {
      const ctx = ctxFor('no-terms', { topics: 2 });
      writeTickets(ctx, repeat(10, ''));
      await rejectsBadInput(runFeatureExtraction(ctx), /none of the 10 tickets has a processed term left/);
    });
  });

  describe('on the bundled sample (1,140 kept tickets)', () => {
    let sampleTickets = '';
    before(async () => {
      const ctx = ctxFor('sample');
      await runTextProcessing(ctx, SAMPLE_DATASET);
      sampleTickets = artifact(ctx, ARTIFACTS.tickets);
    });
    const sampleCtx = (runId: string, params: Partial<PipelineParams>): StageContext => {
      const ctx = ctxFor(runId, params);
      fs.mkdirSync(runDir(config.storageDir, ctx.runId), { recursive: true });
      fs.copyFileSync(sampleTickets, artifact(ctx, ARTIFACTS.tickets));
      return ctx;
    };

    it('maxDf 0.001 with the default minDf 2 fails at once: no term can be kept', async () => {
      const ctx = sampleCtx('max-df-tiny', { maxDf: 0.001 });
      await rejectsBadInput(
        runFeatureExtraction(ctx),
        /1140 ticket\(s\)/,
        /"minDf" 2 and "maxDf" 0\.001 \(1\.14 of 1140 tickets\) keep no term: a term would have to occur in at least 2 and at most 1 tickets; lower minDf or raise maxDf/,
      );
      assert.equal(fs.existsSync(artifact(ctx, ARTIFACTS.topics)), false);
    });

    it('maxDf 0.001 with minDf 1 keeps a single term, fewer than the topics: fails at once', async () => {
      await rejectsBadInput(
        runFeatureExtraction(sampleCtx('max-df-tiny-min-1', { minDf: 1, maxDf: 0.001 })),
        /TF-IDF vocabulary of 1 term\(s\) over 1140 tickets after pruning with minDf 1 and maxDf 0\.001, fewer terms than the 3 topics: lower minDf or raise maxDf/,
      );
    });

    it('minDf 0.3 completes with a vocabulary warning, in the result and in topics.json', async () => {
      const ctx = sampleCtx('min-df-high', { minDf: 0.3 });
      const result = await runFeatureExtraction(ctx);
      assert.ok(result.vocabularySize >= 3 && result.vocabularySize < MIN_VOCABULARY_TERMS);
      assert.deepEqual(result.warnings, [
        `TF-IDF vocabulary has only ${result.vocabularySize} terms after pruning with minDf 0.3 and maxDf 0.95 (fewer than 50): topics rest on a handful of words; lower minDf or raise maxDf`,
      ]);
      const file = JSON.parse(fs.readFileSync(artifact(ctx, ARTIFACTS.topics), 'utf8')) as TopicsFile;
      assert.deepEqual(file.warnings, result.warnings);
    });

    it('the defaults give no warnings, and every stage result and file has the field', async () => {
      const ctx = sampleCtx('healthy', {});
      const topics = await runFeatureExtraction(ctx);
      await runTransformSplit(ctx);
      const trained = await runModelSearchInProcess(ctx);
      assert.deepEqual(topics.warnings, []);
      assert.deepEqual(trained.warnings, []);
      assert.deepEqual(trained.metrics.warnings, []);
      const topicsFile = JSON.parse(fs.readFileSync(artifact(ctx, ARTIFACTS.topics), 'utf8')) as TopicsFile;
      const metrics = JSON.parse(fs.readFileSync(artifact(ctx, ARTIFACTS.metrics), 'utf8')) as MetricsFile;
      assert.deepEqual(topicsFile.warnings, []);
      assert.deepEqual(metrics.warnings, []);
      // New fields come last; the fields before them are those of before.
      assert.deepEqual(Object.keys(topicsFile), ['topics', 'vocabularySize', 'nmf', 'warnings']);
      assert.deepEqual(Object.keys(metrics), [
        'classes',
        'train',
        'test',
        'warnings',
        'threshold',
        'thresholds',
        'search',
      ]);
    });
  });

  describe('transform and split (stage 3)', () => {
    it('all tickets in one topic: nothing to classify, change "topics"', async () => {
      const ctx = ctxFor('one-topic');
      writeLabelled(ctx, ['A', 'B'], repeat(10, ['apple banana', 'A']));
      await rejectsBadInput(
        runTransformSplit(ctx),
        /after topic labelling all 10 tickets fall in topic "A", so there is nothing to classify: change "topics"/,
      );
    });

    it('a split leaving the training side empty: change "testSize"', async () => {
      const ctx = ctxFor('empty-side', { testSize: 0.9 });
      writeLabelled(
        ctx,
        ['A', 'B'],
        [...repeat(3, ['apple', 'A'] as [string, string]), ['banana', 'B'], ['banana', 'B']],
      );
      await rejectsBadInput(
        runTransformSplit(ctx),
        /a testSize 0\.9 split of 5 tickets gives 0 train \/ 5 test tickets, leaving one side empty: lower "testSize"/,
      );
    });

    it('a stratified split with a one-ticket topic: set "stratify": false', async () => {
      const ctx = ctxFor('singleton-topic');
      writeLabelled(ctx, ['A', 'B'], [...repeat(9, ['apple', 'A'] as [string, string]), ['banana', 'B']]);
      await rejectsBadInput(
        runTransformSplit(ctx),
        /topic "B" holds only 1 ticket, too few for a stratified split.*set "stratify": false/,
      );
    });

    it('a stratified split with fewer test tickets than topics: change "testSize"', async () => {
      const ctx = ctxFor('thin-test', { testSize: 0.05 });
      const rows = ['A', 'B', 'C'].flatMap((t) => repeat(10, [`word${t}`, t] as [string, string]));
      writeLabelled(ctx, ['A', 'B', 'C'], rows);
      await rejectsBadInput(
        runTransformSplit(ctx),
        /a testSize 0\.05 split of 30 tickets gives 28 train \/ 2 test tickets, fewer than the 3 topics a stratified split puts on each side: change "testSize"/,
      );
    });
  });

  describe('training (stage 4)', () => {
    /** Stage 3 on [text, topic] rows, then the split replaced by the given row indices. */
    async function prepare(
      runId: string,
      rows: [string, string][],
      train: number[],
      test: number[],
    ): Promise<StageContext> {
      // Two folds: the tiny test datasets have a class of 2 training tickets.
      const ctx = ctxFor(runId, { stratify: false, cvFolds: 2 });
      writeLabelled(ctx, ['A', 'B'], rows);
      await runTransformSplit(ctx);
      const file = artifact(ctx, ARTIFACTS.split);
      const split = JSON.parse(fs.readFileSync(file, 'utf8')) as SplitFile;
      fs.writeFileSync(file, JSON.stringify({ ...split, train, test }));
      return ctx;
    }

    it('a training split holding one topic: use more data or a different split', async () => {
      const rows: [string, string][] = [
        ...repeat(6, ['apple', 'A'] as [string, string]),
        ...repeat(4, ['banana', 'B'] as [string, string]),
      ];
      const ctx = await prepare('train-one-topic', rows, [0, 1, 2, 3, 4], [5, 6, 7, 8, 9]);
      await rejectsBadInput(
        runModelSearchInProcess(ctx),
        /the training split holds only topic "A" \(5 tickets\)/,
        /use more of the other topics' data or a different split \(set "stratify": true, or change "splitSeed" or "testSize"\)/,
      );
    });

    it("test accuracy below the test split's majority-class rate completes with a warning", async () => {
      // Train: apple → A, banana → B. Test: the other way round, three B to one A.
      const rows: [string, string][] = [
        ...repeat(6, ['apple', 'A'] as [string, string]),
        ...repeat(6, ['banana', 'B'] as [string, string]),
        ...repeat(3, ['apple', 'B'] as [string, string]),
        ['banana', 'A'],
      ];
      const train = Array.from({ length: 12 }, (_, i) => i);
      const ctx = await prepare('below-majority', rows, train, [12, 13, 14, 15]);
      const result = await runModelSearchInProcess(ctx);
      assert.equal(result.metrics.test.accuracy, 0);
      assert.deepEqual(result.warnings, [
        'test accuracy 0.0000 is below the majority-class rate 0.7500 of the test split (always answering "B"): the model does worse than a constant guess',
        // Every answer is wrong, so no abstention threshold reaches the target precision either.
        'no confidence threshold reaches precision 0.98 on the test split: the default threshold 0.0000 gives the highest precision, 0.0000, answering 100.0 % of tickets; lower "targetPrecision" or improve the model',
      ]);
      assert.deepEqual(result.metrics.warnings, result.warnings);
      const metrics = JSON.parse(fs.readFileSync(artifact(ctx, ARTIFACTS.metrics), 'utf8')) as MetricsFile;
      assert.deepEqual(metrics.warnings, result.warnings);
    });
  });
});

describe('topic-size warning (feature extraction)', () => {
  it('names a topic under 1 % of the tickets with its size and share', async () => {
    // Two large themes and a third that only two of 302 tickets share (0.66 %).
    const ctx = ctxFor('small-topic', { topics: 3 });
    writeTickets(ctx, [
      ...repeat(150, 'account deposit branch check overdraft'),
      ...repeat(150, 'mortgage escrow servicer foreclosure modification'),
      ...repeat(2, 'zebra giraffe'),
    ]);
    const result = await runFeatureExtraction(ctx);
    assert.equal(MIN_TOPIC_SHARE, 0.01);
    const small = result.topics.find((t) => t.size === 2);
    assert.ok(small, `a topic of 2 tickets: ${JSON.stringify(result.topics)}`);
    const warning = `topic "${small.name}" holds 2 of 302 tickets (0.66 %, under 1 %): too few to learn or evaluate it; consider fewer topics`;
    assert.ok(result.warnings.includes(warning), JSON.stringify(result.warnings));
    assert.equal(result.warnings.filter((w) => w.startsWith('topic ')).length, 1);
    const file = JSON.parse(fs.readFileSync(artifact(ctx, ARTIFACTS.topics), 'utf8')) as TopicsFile;
    assert.deepEqual(file.warnings, result.warnings);
  });
});
