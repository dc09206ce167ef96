import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { JobNode } from 'bullmq';
import { enqueueRun } from '../helpers/enqueue-run';
import { SearchJobData, stageJobId } from '../../shared/runtime/flow/job-types';
import { runDir } from '../../shared/core/storage';
import { readCsvFile } from '../helpers/read-csv-file';
import { STAGES, isChildQueue, stageDefinition } from '../../shared/pipeline/stages/definitions';
import { CHUNK_QUEUE } from '../../shared/pipeline/stages/text-processing/definition';
import { SEARCH_QUEUE } from '../../shared/pipeline/stages/training/definition';
import { SAMPLE_DATASET } from '../helpers/env';
import { Stack, startStack, waitForRun } from '../helpers/stack';
import { TopicsFile } from '../../shared/pipeline/stages/feature-extraction/feature-extraction';
import { MetricsFile, ModelFile } from '../../shared/pipeline/stages/training/training';
import { SplitFile } from '../../shared/pipeline/stages/transform-split/transform-split';
import { readModel } from '../../shared/pipeline/model/load-model';

describe('a run on the bundled sample, through real worker processes', () => {
  let stack: Stack;
  let runId: string;
  before(async () => {
    stack = await startStack({ workers: 2 });
    runId = await enqueueRun(stack.runs, {
      dataset: SAMPLE_DATASET,
      params: { chunkSize: 300 },
    });
  });
  after(async () => stack.close());

  it('completes and writes every artifact', async () => {
    const status = await waitForRun(stack.runs, runId);
    assert.equal(status.state, 'completed', JSON.stringify(status.error));
    const dir = runDir(stack.config.storageDir, runId);
    const textResult = status.stages[0]!.result as {
      rows: number;
      chunks: number;
      stats: { read: number; kept: number };
    };
    assert.ok(
      textResult.stats.read > textResult.stats.kept,
      'the sample has empty narratives that must be dropped',
    );
    assert.equal(textResult.chunks, Math.ceil(textResult.stats.kept / 300));

    let rows = 0;
    let withNouns = 0;
    await readCsvFile(
      path.join(dir, 'tickets.csv'),
      ['complaint_what_happened', 'category', 'processed_text'],
      (row) => {
        rows++;
        assert.notEqual(row.complaint_what_happened!.trim(), '');
        assert.notEqual(row.category, '');
        if (row.processed_text!.length > 0) withNouns++;
        assert.doesNotMatch(
          row.processed_text!,
          /[A-Z0-9]|\bx+\b/,
          'processed text is lowercase noun lemmas without masks or digits',
        );
      },
    );
    assert.equal(rows, textResult.stats.kept);
    assert.ok(withNouns > rows * 0.95);
    const lemmas: string[] = [];
    await readCsvFile(path.join(dir, 'tickets.csv'), ['processed_text'], (row) =>
      lemmas.push(...row.processed_text!.split(' ').filter(Boolean)),
    );
    assert.deepEqual(
      lemmas.filter((l) => l.length < 3),
      [],
      'lemmas shorter than 3 letters are dropped',
    );

    const topics = JSON.parse(fs.readFileSync(path.join(dir, 'topics.json'), 'utf8')) as TopicsFile;
    assert.equal(topics.topics.length, 3);
    assert.equal(new Set(topics.topics.map((t) => t.name)).size, 3, 'topic names are unique');
    for (const t of topics.topics) assert.equal(t.topWords.length, 15);
    assert.equal(
      topics.topics.reduce((s, t) => s + t.size, 0),
      rows,
    );

    const topicRows: string[] = [];
    await readCsvFile(path.join(dir, 'tickets_topics.csv'), ['processed_text', 'relevant_topic'], (row) =>
      topicRows.push(row.relevant_topic!),
    );
    assert.equal(topicRows.length, rows);
    for (const t of topics.topics) assert.equal(topicRows.filter((x) => x === t.name).length, t.size);

    const split = JSON.parse(fs.readFileSync(path.join(dir, 'split.json'), 'utf8')) as SplitFile;
    assert.equal(split.test.length, Math.ceil(rows * 0.3));
    assert.equal(new Set([...split.train, ...split.test]).size, rows, 'train and test partition the rows');

    const model = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')) as ModelFile;
    assert.equal(model.coef.length, 3);
    assert.equal(model.coef[0]!.length, model.vectorizer.vocabulary.length);

    const metrics = JSON.parse(fs.readFileSync(path.join(dir, 'metrics.json'), 'utf8')) as MetricsFile;
    assert.deepEqual(metrics, status.metrics);
    // Pinned on the bundled sample (deterministic for any chunk size and worker count): a model fitted on
    // the wrong rows, or a split that ignores stratification, changes these.
    assert.equal(metrics.test.accuracy, 0.9766081871345029);
    assert.equal(metrics.train.accuracy, 0.9949874686716792);
    assert.deepEqual(metrics.test.confusionMatrix, [
      [139, 0, 0],
      [5, 103, 0],
      [3, 0, 92],
    ]);
    // Stratified 70/30 by topic: each topic's test share is its size × 0.3, the .5 tie rounded as
    // scikit-learn's allocation does (464 → 139, 361 → 108, 315 → 95), with no slack.
    const testPerTopic = topics.topics.map((t) => split.test.filter((r) => topicRows[r] === t.name).length);
    assert.deepEqual(
      topics.topics.map((t) => t.size),
      [464, 361, 315],
    );
    assert.deepEqual(testPerTopic, [139, 108, 95]);
    // The saved model reproduces the reported test metrics from the raw narratives.
    const narratives: string[] = [];
    await readCsvFile(path.join(dir, 'tickets.csv'), ['complaint_what_happened'], (row) =>
      narratives.push(row.complaint_what_happened!),
    );
    const loaded = await readModel(path.join(dir, 'model.json'));
    const predicted = loaded.classify(
      split.test.map((r) => narratives[r]!),
      0,
    );
    const correct = predicted.filter((p, i) => p.label === topicRows[split.test[i]!]).length;
    assert.equal(correct / split.test.length, metrics.test.accuracy);
    assert.ok(
      metrics.test.accuracy > 0.8,
      `test accuracy ${metrics.test.accuracy} is well above chance (1/3)`,
    );
    assert.ok(metrics.test.rocAuc! > 0.9);
    assert.match(metrics.test.report!, /weighted avg/);
    assert.equal(
      metrics.test.confusionMatrix!.flat().reduce((a, b) => a + b, 0),
      split.test.length,
    );
    assert.ok(!fs.existsSync(path.join(dir, 'chunks')), 'chunk files are removed after the merge');
    // The report is written when the run ends, just after its record turns final.
    for (let i = 0; i < 100 && !fs.existsSync(path.join(dir, 'report.html')); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const html = fs.readFileSync(path.join(dir, 'report.html'), 'utf8');
    assert.match(html, new RegExp(runId));
    assert.doesNotMatch(html, /<script|https?:\/\//, 'self-contained: no script, no external address');
    const record = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')) as {
      stages: { chunks?: { total: number; completed: number }; attemptsStarted: number }[];
    };
    assert.equal(record.stages[0]!.chunks!.completed, record.stages[0]!.chunks!.total);
    assert.equal(record.stages[0]!.attemptsStarted, 1, 'the merge step is not another attempt');
    assert.equal(record.stages[3]!.attemptsStarted, 1, "training's refit step is not another attempt");
  });

  it('is one flow: training root, text processing deepest, retry policy and tags on every node', async () => {
    await waitForRun(stack.runs, runId);
    const tree = await stack.flowProducer.getFlow({
      id: stageJobId(runId, 'training'),
      queueName: 'training',
      prefix: stack.config.queuePrefix,
      maxChildren: 1000,
    });
    const chain: JobNode[] = [];
    let node: JobNode | undefined = tree;
    while (node) {
      chain.push(node);
      node = node.children?.find((c) => !isChildQueue(c.job.queueName));
    }
    assert.deepEqual(
      chain.map((n) => n.job.queueName),
      [...STAGES].reverse(),
    );
    for (const n of chain) {
      const stage = n.job.queueName as (typeof STAGES)[number];
      assert.equal(n.job.opts.attempts, 4, `${stage} attempts`);
      assert.equal(n.job.progress, 100, `${stage}: BullMQ's progress of a completed job is 100`);
      assert.deepEqual(n.job.opts.backoff, { type: 'fixed', delay: 2000 }, `${stage} backoff`);
      assert.deepEqual(n.job.data.tags, stageDefinition(stage).tags);
      assert.equal(n.job.data.runId, runId);
      assert.equal(
        n.job.data.dataset,
        SAMPLE_DATASET,
        'job data carries a reference to the dataset, not the corpus',
      );
      if (stage !== 'training') {
        assert.ok(
          n.job.parentKey?.includes(stageJobId(runId, STAGES[STAGES.indexOf(stage) + 1]!)),
          `${stage} parent link`,
        );
        assert.equal(n.job.opts.failParentOnFailure, true);
      }
    }
    // Topic labels search the seed's one model: 3 folds, then its refit, each a child job of training.
    const search = chain[0]!.children!.filter((c) => c.job.queueName === SEARCH_QUEUE);
    assert.equal(search.length, 4);
    // One candidate is the winner before any score: its refit is queued with the CV jobs, not after them.
    const refit = search.find((c) => (c.job.data as SearchJobData).kind === 'refit')!;
    const firstFold = Math.min(...search.filter((c) => c !== refit).map((c) => c.job.finishedOn!));
    assert.ok(refit.job.timestamp < firstFold, 'the refit is queued before any CV job ends');
    for (const c of search) {
      assert.equal(c.job.opts.attempts, 4);
      assert.equal(c.job.progress, 100);
      assert.deepEqual(c.job.opts.backoff, { type: 'fixed', delay: 2000 });
      assert.equal(c.job.opts.failParentOnFailure, true);
    }
    const text = chain[chain.length - 1]!;
    const chunks = text.children!.filter((c) => c.job.queueName === CHUNK_QUEUE);
    assert.ok(chunks.length >= 2);
    for (const c of chunks) {
      assert.equal(c.job.opts.attempts, 4);
      assert.equal(c.job.progress, 100);
      assert.deepEqual(c.job.opts.backoff, { type: 'fixed', delay: 2000 });
      assert.deepEqual(c.job.data.tags, stageDefinition('text-processing').tags);
      assert.equal(c.job.opts.failParentOnFailure, true);
    }
    assert.deepEqual(
      new Set(stageDefinition('training').tags),
      new Set(['train', 'best_model', 'LogisticRegressionClassifier']),
    );
  });
});
