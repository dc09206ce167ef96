import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { enqueueRun } from '../helpers/enqueue-run';
import { runDir } from '../../shared/core/storage';
import { readCsvFile } from '../helpers/read-csv-file';
import { SEARCH_QUEUE } from '../../shared/pipeline/stages/training/definition';
import { runTimeline } from '../../shared/runtime/runs/timeline';
import { readModel } from '../../shared/pipeline/model/load-model';
import { SearchFile } from '../../shared/pipeline/stages/training/search-file';
import { LabelsFile, SplitFile } from '../../shared/pipeline/stages/transform-split/transform-split';
import { MetricsFile, TestPredictionsFile } from '../../shared/pipeline/stages/training/training';
import { SAMPLE_DATASET, tempDir } from '../helpers/env';
import { call } from '../helpers/http';
import { Stack, startSampleStack, startStack, waitForRun } from '../helpers/stack';
import { comparableBytes } from '../runs/artifacts';

/** The sample's seven products in four classes; credit cards are left out, so they become "other". */
const LABEL_MAP: Record<string, string> = {
  'Credit reporting, credit repair services, or other personal consumer reports': 'credit_reporting',
  'Debt collection': 'debt',
  'Checking or savings account': 'bank',
  Mortgage: 'loan',
  'Student loan': 'loan',
  'Payday loan, title loan, or personal loan': 'loan',
};
const PARAMS = { labels: 'category', labelMap: LABEL_MAP, searchC: [0.3, 3], cvFolds: 3 };
const GRID = 2 * 2 * 2; // C × class weighting × (words, 1–2-grams)

interface RunOutput {
  runId: string;
  dir: string;
  search: SearchFile;
  metrics: MetricsFile;
  model: Buffer;
  searchWorkers: Set<string>;
  searchJobs: number;
}

/** How many tickets the refit runs in parts from: 0 on every run, or the default (a whole refit here). */
async function runWith(workers: number, partedRefitTickets?: number): Promise<RunOutput> {
  const workerEnv: Record<string, string> =
    partedRefitTickets === undefined ? {} : { TICKETFLOW_PARTED_REFIT_TICKETS: String(partedRefitTickets) };
  const stack: Stack = await startStack({ workers, workerEnv });
  try {
    const runId = await enqueueRun(stack.runs, { dataset: SAMPLE_DATASET, params: { ...PARAMS } });
    const record = await waitForRun(stack.runs, runId);
    assert.equal(record.state, 'completed', JSON.stringify(record.error));
    // The stack's storage goes with it: keep the run's folder for the checks.
    const dir = tempDir(`search-${workers}`);
    fs.cpSync(runDir(stack.config.storageDir, runId), dir, { recursive: true });
    const read = <T>(name: string) => JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')) as T;
    const bars = (await runTimeline(stack.runs, record)).filter((e) => e.queue === SEARCH_QUEUE);
    return {
      runId,
      dir,
      search: read<SearchFile>('search.json'),
      metrics: read<MetricsFile>('metrics.json'),
      model: comparableBytes('model.json', fs.readFileSync(path.join(dir, 'model.json'))),
      searchWorkers: new Set(bars.flatMap((b) => (b.worker ? [b.worker] : []))),
      searchJobs: new Set(bars.map((b) => b.jobId)).size,
    };
  } finally {
    await stack.close();
  }
}

describe('category labels and the model search, spread over the workers', () => {
  const runs: RunOutput[] = [];
  before(async () => {
    runs.push(await runWith(1));
    // The refit in parts (one job per class, then the join), however small the data.
    runs.push(await runWith(3, 0));
  });
  after(() => {
    for (const r of runs) fs.rmSync(r.dir, { recursive: true, force: true });
  });

  it('maps every kept ticket to its class: mapped products, the rest "other"', async () => {
    const { dir } = runs[0]!;
    const expected = new Map<string, number>();
    await readCsvFile(path.join(dir, 'tickets.csv'), ['category'], (row) => {
      const product = row.category!.split(' + ')[0]!;
      const cls = LABEL_MAP[product] ?? 'other';
      expected.set(cls, (expected.get(cls) ?? 0) + 1);
    });
    const labels = JSON.parse(fs.readFileSync(path.join(dir, 'labels.json'), 'utf8')) as LabelsFile;
    assert.deepEqual(labels.classes, ['bank', 'credit_reporting', 'debt', 'loan', 'other']);
    assert.deepEqual(
      labels.counts,
      labels.classes.map((c) => expected.get(c)),
    );
    assert.ok((expected.get('other') ?? 0) > 100, 'credit cards (unmapped) are in "other"');
    assert.deepEqual(Object.keys(labels.unmappedValues), ['Credit card or prepaid card']);
    // The split is stratified by class: each class's test share is within one ticket of 30 %.
    const split = JSON.parse(fs.readFileSync(path.join(dir, 'split.json'), 'utf8')) as SplitFile;
    assert.equal(split.test.length, Math.ceil(0.3 * (split.train.length + split.test.length)));
  });

  it('cross-validates every candidate on every fold in its own job, and picks the best mean score', () => {
    for (const run of runs) {
      const { search } = run;
      assert.equal(search.score, 'macroF1');
      assert.equal(search.candidates.length, GRID);
      // One job per candidate and fold, and the refit; in parts, also one per class (5).
      assert.equal(run.searchJobs, GRID * 3 + 1 + (run === runs[1] ? 5 : 0), 'search jobs');
      const best = Math.max(...search.candidates.map((c) => c.meanScore));
      const winners = search.candidates.filter((c) => c.winner);
      assert.equal(winners.length, 1);
      assert.equal(winners[0]!.id, search.winner);
      assert.equal(winners[0]!.meanScore, best);
      assert.equal(search.candidates.find((c) => c.meanScore === best)!.id, search.winner, 'ties: lowest id');
      for (const c of search.candidates) {
        assert.equal(c.folds.length, 3);
        const mean = c.folds.reduce((s, v) => s + v, 0) / 3;
        assert.ok(Math.abs(mean - c.meanScore) < 1e-12);
        assert.ok(c.meanScore > 0.3 && c.meanScore <= 1, `candidate ${c.id} scores ${c.meanScore}`);
      }
      assert.deepEqual(new Set(search.candidates.map((c) => c.ngrams)), new Set([1, 2]));
      assert.deepEqual(run.metrics.search, search, 'metrics.json lists the search');
    }
  });

  it('chooses the same candidate, with the same scores and the same model, for 1 and 3 workers (refit whole, in parts)', () => {
    const [one, three] = runs;
    assert.equal(one!.searchWorkers.size, 1);
    assert.ok(three!.searchWorkers.size >= 2, `3 workers ran the search jobs: ${[...three!.searchWorkers]}`);
    const scores = (r: RunOutput) => r.search.candidates.map(({ seconds: _s, ...rest }) => rest);
    assert.deepEqual(scores(three!), scores(one!));
    assert.equal(three!.search.winner, one!.search.winner);
    assert.ok(one!.model.equals(three!.model), 'model.json is the same bytes');
  });

  it('the saved model reads whole narratives and reproduces the test predictions and accuracy', async () => {
    const { dir, metrics } = runs[0]!;
    const model = await readModel(path.join(dir, 'model.json'));
    assert.equal(model.file.textProcessing.function, 'narrative-words');
    const winner = runs[0]!.search.candidates.find((c) => c.winner)!;
    assert.equal(model.file.params.C, winner.C);
    assert.equal(model.file.params.classWeight, winner.classWeight);
    assert.deepEqual(model.file.vectorizer.ngramRange ?? [1, 1], [1, winner.ngrams]);
    const narratives: string[] = [];
    await readCsvFile(path.join(dir, 'tickets.csv'), ['complaint_what_happened'], (row) =>
      narratives.push(row.complaint_what_happened!),
    );
    const saved = JSON.parse(
      fs.readFileSync(path.join(dir, 'test_predictions.json'), 'utf8'),
    ) as TestPredictionsFile;
    const predictions = model.classify(
      saved.rows.map((r) => narratives[r]!),
      0,
    );
    let maxDiff = 0;
    predictions.forEach((p, i) =>
      model.classes.forEach((c, k) => {
        maxDiff = Math.max(maxDiff, Math.abs(p.probabilities[c]! - saved.probabilities[i]![k]!));
      }),
    );
    assert.ok(maxDiff <= 1e-12, `probabilities differ by ${maxDiff}`);
    assert.ok(metrics.test.accuracy > 0.5 && metrics.test.macroF1 > 0.4, JSON.stringify(metrics.test));
  });
});

describe('bad label parameters', () => {
  let stack: Stack;
  before(async () => {
    stack = await startSampleStack('labels-data', { workers: 1, api: true });
  });
  after(async () => {
    await stack.close();
  });

  it('an unknown label field or option is refused at submission (400), naming the parameter', async () => {
    const field = await call(stack, 'POST', '/runs', {
      dataset: 'sample.json',
      params: { labels: 'category', labelField: 'department' },
    });
    assert.equal(field.status, 400);
    assert.match(
      field.json.error,
      /parameter "labelField" must be one of "product", "category", got "department"/,
    );
    const mode = await call(stack, 'POST', '/runs', {
      dataset: 'sample.json',
      params: { labels: 'products' },
    });
    assert.equal(mode.status, 400);
    assert.match(mode.json.error, /parameter "labels" must be one of "topics", "category"/);
    const topics = await call(stack, 'POST', '/runs', {
      dataset: 'sample.json',
      params: { labelMap: { Mortgage: 'loan' } },
    });
    assert.equal(topics.status, 400);
    assert.match(topics.json.error, /"labelMap" applies to "labels": "category" only/);
  });

  it('a label map leaving a single class fails on the first attempt and says what to change', async () => {
    const res = await call(stack, 'POST', '/runs', {
      dataset: 'sample.json',
      params: { labels: 'category', labelMap: { Mortgage: 'loan' }, unmappedLabel: 'drop' },
    });
    assert.equal(res.status, 202);
    const record = await waitForRun(stack.runs, res.json.id);
    assert.equal(record.state, 'failed');
    const stage = record.stages.find((s) => s.stage === 'transform-split')!;
    assert.equal(stage.state, 'failed');
    assert.equal(stage.attemptsMade, 1, 'not retried: retrying cannot fix it');
    assert.match(
      stage.failedReason ?? '',
      /all 161 kept tickets fall in the single class "loan".*dropped as unmapped.*check that "labelMap" lists this dataset's values/,
    );
  });
});
