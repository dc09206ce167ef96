import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { runTextProcessing } from '../../shared/pipeline/stages/text-processing';
import { runFeatureExtraction } from '../../shared/pipeline/stages/feature-extraction/feature-extraction';
import { runTransformSplit } from '../../shared/pipeline/stages/transform-split/transform-split';
import { MetricsFile, TestPredictionsFile } from '../../shared/pipeline/stages/training/training';
import { runModelSearchInProcess } from '../helpers/model-search-in-process';
import { SplitFile } from '../../shared/pipeline/stages/transform-split/transform-split';
import { readTicketRows } from '../../shared/pipeline/stages/read-tickets-csv';
import { ARTIFACTS, StageContext } from '../../shared/pipeline/stages/context';
import { runDir } from '../../shared/core/storage';
import { createTicketLemmatizer, TEXT_PROCESSING } from '../../shared/core/nlp/ticket-lemmas';
import {
  FEATURE_VECTORIZER,
  MODEL_FORMAT,
  MODEL_VERSION,
  ModelFile,
} from '../../shared/pipeline/model/model-file';
import {
  InvalidModelError,
  LoadedModel,
  loadModel,
  NEEDS_REVIEW,
  parseModelJson,
  readModel,
  readPackedModel,
} from '../../shared/pipeline/model/load-model';
import { PARAM_NAMES } from '../../shared/core/config/pipeline-params';
import { jsonBytes } from '../../shared/core/store/artifact-store';
import { formatReport } from '../../producers/cli/report';
import { RunRecord } from '../../shared/runtime/runs/record';
import { SAMPLE_DATASET, stageContext, tempDir, testConfig } from '../helpers/env';

const readJsonFile = <T>(file: string): T => JSON.parse(fs.readFileSync(file, 'utf8')) as T;

describe('model.json v2 after a real run on the bundled sample', () => {
  const config = testConfig();
  const runId = 'model-run';
  const dir = runDir(config.storageDir, runId);
  const datasetSha256 = createHash('sha256').update(fs.readFileSync(SAMPLE_DATASET)).digest('hex');
  let ctx: StageContext;
  let model: LoadedModel;
  let file: ModelFile;
  let predictions: TestPredictionsFile;
  let split: SplitFile;
  let metrics: MetricsFile;
  let rows: Awaited<ReturnType<typeof readTicketRows>>;
  let trainingWarnings: string[];

  before(async () => {
    ctx = {
      ...stageContext(config, runId),
      params: { ...config.pipeline, chunkSize: 400 },
      run: { datasetSha256, codeVersion: 'test-version' },
    };
    await runTextProcessing(ctx, SAMPLE_DATASET);
    await runFeatureExtraction(ctx);
    await runTransformSplit(ctx);
    trainingWarnings = (await runModelSearchInProcess(ctx)).warnings;
    model = await readModel(path.join(dir, ARTIFACTS.model));
    file = readJsonFile<ModelFile>(path.join(dir, ARTIFACTS.model));
    predictions = readJsonFile<TestPredictionsFile>(path.join(dir, ARTIFACTS.testPredictions));
    split = readJsonFile<SplitFile>(path.join(dir, ARTIFACTS.split));
    metrics = readJsonFile<MetricsFile>(path.join(dir, ARTIFACTS.metrics));
    rows = await readTicketRows(ctx, ARTIFACTS.tickets, false);
  });
  after(() => fs.rmSync(config.storageDir, { recursive: true, force: true }));

  it('is written as one JSON.stringify of it would be, though in pieces (json-pieces.ts)', () => {
    const bytes = fs.readFileSync(path.join(dir, ARTIFACTS.model));
    assert.equal(bytes.toString('utf8'), jsonBytes(JSON.parse(bytes.toString('utf8'))));
  });

  it('classifies the raw narratives of the test rows exactly as training did (test_predictions.json)', (t) => {
    assert.deepEqual(predictions.rows, split.test, 'test rows in split.json order');
    const narratives = predictions.rows.map((r) => rows.narratives[r]!);
    const got = model.classify(narratives, 0);
    const k = model.classes.length;
    let maxDiff = 0;
    let exact = 0;
    got.forEach((p, i) => {
      const expected = predictions.probabilities[i]!;
      assert.equal(expected.length, k);
      let best = 0;
      for (let c = 1; c < k; c++) if (expected[c]! > expected[best]!) best = c;
      assert.equal(p.label, model.classes[best], `row ${predictions.rows[i]}: label`);
      assert.equal(p.abstained, false);
      assert.equal(p.confidence, expected[best]);
      assert.deepEqual(Object.keys(p.probabilities), [...model.classes]);
      let same = true;
      model.classes.forEach((name, c) => {
        const d = Math.abs(p.probabilities[name]! - expected[c]!);
        maxDiff = Math.max(maxDiff, d);
        if (p.probabilities[name] !== expected[c]) same = false;
      });
      if (same) exact++;
    });
    t.diagnostic(`${got.length} test rows: max |Δp| ${maxDiff}, ${exact} bit for bit`);
    assert.ok(maxDiff <= 1e-12, `max |Δp| ${maxDiff}`);

    // The lemma texts of tickets.csv give the very same numbers through probabilities().
    const P = model.probabilities(predictions.rows.map((r) => rows.processed[r]!));
    assert.deepEqual(Array.from(P), predictions.probabilities.flat());
  });

  it('answers with the calibrated threshold by default: coverage and precision as metrics.json says', async () => {
    const narratives = predictions.rows.map((r) => rows.narratives[r]!);
    const got = model.classify(narratives);
    const answered = got.filter((p) => !p.abstained);
    assert.equal(answered.length / got.length, file.threshold.coverage);
    for (const p of got) {
      assert.equal(p.abstained, p.confidence < file.threshold.value);
      if (p.abstained) assert.equal(p.label, NEEDS_REVIEW);
    }
    // Precision of the answered predictions against the topic labels stage 2 gave.
    const topics = (await readTicketRows(ctx, ARTIFACTS.ticketsTopics, true)).topics;
    const right = got.filter((p, i) => !p.abstained && p.label === topics[predictions.rows[i]!]).length;
    assert.equal(right / answered.length, file.threshold.precision);
    const all = model.classify(narratives, 0);
    const accuracy = all.filter((p, i) => p.label === topics[predictions.rows[i]!]).length / all.length;
    assert.equal(accuracy, metrics.test.accuracy);
    if (file.threshold.precision >= file.threshold.targetPrecision) assert.deepEqual(trainingWarnings, []);
  });

  it('writes a self-contained model file with lineage, settings, threshold and label mix', () => {
    assert.equal(file.format, MODEL_FORMAT);
    assert.equal(file.version, MODEL_VERSION);
    assert.equal(file.kind, 'logistic-regression');
    assert.deepEqual(file.textProcessing, TEXT_PROCESSING);
    assert.deepEqual(
      { ...file.vectorizer, vocabulary: undefined, idf: undefined },
      { ...FEATURE_VECTORIZER, vocabulary: undefined, idf: undefined },
    );
    const features = readJsonFile<{ vocabulary: string[]; idf: number[] }>(
      path.join(dir, ARTIFACTS.features),
    );
    assert.deepEqual(file.vectorizer.vocabulary, features.vocabulary);
    assert.deepEqual(file.vectorizer.idf, features.idf);
    assert.equal(file.lineage.runId, runId);
    assert.equal(file.lineage.datasetSha256, datasetSha256);
    assert.equal(file.lineage.codeVersion, 'test-version');
    assert.deepEqual(
      Object.keys(file.lineage.params),
      PARAM_NAMES.filter((p) => p !== 'chunkSize'),
    );
    assert.equal(file.lineage.params.targetPrecision, 0.98);
    const { accuracy, precision, recall, f1, rocAuc } = metrics.test;
    assert.deepEqual(file.lineage.testMetrics, { accuracy, precision, recall, f1, rocAuc });
    assert.deepEqual(metrics.threshold, file.threshold);
    assert.equal(file.threshold.targetPrecision, 0.98);
    const table = metrics.thresholds!;
    assert.deepEqual(
      table.map((r) => r.threshold),
      [...new Set([0, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, file.threshold.value])].sort((a, b) => a - b),
    );
    const chosen = table.find((r) => r.threshold === file.threshold.value)!;
    assert.equal(chosen.coverage, file.threshold.coverage);
    assert.equal(chosen.accuracy, file.threshold.precision);
    assert.equal(table[0]!.coverage, 1);
    assert.equal(table[0]!.accuracy, metrics.test.accuracy);
    assert.deepEqual(Object.keys(file.trainingLabelMix), file.classes);
    const sum = Object.values(file.trainingLabelMix).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - 1) < 1e-12);
  });

  it('the CLI report prints the coverage / accuracy trade-off and the chosen threshold', () => {
    const record = {
      id: runId,
      state: 'completed',
      stages: [],
      metrics,
      warnings: [],
    } as unknown as RunRecord;
    const report = formatReport(record, dir, { seconds: 1, startupSeconds: 0 });
    const t = metrics.threshold!;
    assert.match(
      report,
      new RegExp(`below confidence ${t.value.toFixed(4)} the model answers "needs_review"`),
    );
    assert.match(report, /threshold +coverage +accuracy/);
    assert.match(
      report,
      new RegExp(
        `${t.value.toFixed(4)} +${(t.coverage * 100).toFixed(1)} % +${t.precision.toFixed(4)}  ← chosen`,
      ),
    );
    assert.match(report, /\n +0\.0000 +100\.0 % +0\.\d{4}\n/);
  });

  it('trainingLabelMix is the training split share of each topic', async () => {
    const topics = (await readTicketRows(ctx, ARTIFACTS.ticketsTopics, true)).topics;
    for (const name of file.classes) {
      const n = split.train.filter((r) => topics[r] === name).length;
      assert.equal(file.trainingLabelMix[name], n / split.train.length, name);
    }
  });

  it('the lemma function is the one text processing used: it gives processed_text for every row', () => {
    const lemmatize = createTicketLemmatizer();
    let differing = 0;
    rows.narratives.forEach((text, i) => {
      if (lemmatize(text) !== rows.processed[i]) differing++;
    });
    assert.equal(differing, 0);
    assert.ok(rows.narratives.length > 1000);
  });

  it('counts lemma tokens and those outside the vocabulary', () => {
    const narratives = predictions.rows.slice(0, 50).map((r) => rows.narratives[r]!);
    const known = model.classifyWithStats(narratives);
    const expectedTokens = predictions.rows
      .slice(0, 50)
      .reduce((s, r) => s + rows.processed[r]!.split(' ').filter((w) => w !== '').length, 0);
    assert.equal(known.tokens, expectedTokens);
    assert.equal(known.outOfVocabulary, 0, 'stage 3 fits its vocabulary on every ticket, test rows included');
    assert.deepEqual(known.predictions, model.classify(narratives));
    const vocabulary = new Set(file.vectorizer.vocabulary);
    assert.ok(!vocabulary.has('zeppelin') && vocabulary.has('account'));
    const odd = model.classifyWithStats(['The zeppelin landed on my account.', '']);
    assert.equal(odd.tokens, 2);
    assert.equal(odd.outOfVocabulary, 1);
    assert.equal(odd.predictions.length, 2);
    // An empty text has no features: the intercepts alone decide.
    const p = odd.predictions[1]!;
    assert.ok(Math.abs(Object.values(p.probabilities).reduce((a, b) => a + b, 0) - 1) < 1e-12);
  });

  it('abstains below the threshold and answers at or above it', () => {
    const narratives = predictions.rows.slice(0, 200).map((r) => rows.narratives[r]!);
    const free = model.classify(narratives, 0);
    const confidences = free.map((p) => p.confidence).sort((a, b) => a - b);
    const cut = confidences[Math.floor(confidences.length / 2)]!;
    const held = model.classify(narratives, cut);
    held.forEach((p, i) => {
      const base = free[i]!;
      assert.equal(p.confidence, base.confidence);
      assert.deepEqual(p.probabilities, base.probabilities);
      if (base.confidence < cut) {
        assert.equal(p.abstained, true);
        assert.equal(p.label, NEEDS_REVIEW);
      } else {
        assert.equal(p.abstained, false, 'a confidence exactly at the threshold is answered');
        assert.equal(p.label, base.label);
      }
    });
    assert.ok(held.some((p) => p.abstained) && held.some((p) => !p.abstained));
    assert.ok(model.classify(narratives, 1).every((p) => p.abstained === p.confidence < 1));
    assert.throws(() => model.classify(narratives, 1.5), /threshold must be a number from 0 to 1/);
    assert.throws(() => model.classify(narratives, NaN), /threshold must be a number from 0 to 1/);
  });

  it('loading validates the file, naming what is wrong', async () => {
    const bad = (mutate: (m: Record<string, any>) => void): string => {
      const copy = structuredClone(file) as unknown as Record<string, any>;
      mutate(copy);
      try {
        loadModel(copy as unknown as ModelFile);
      } catch (err) {
        assert.ok(err instanceof InvalidModelError, String(err));
        return err.message;
      }
      return assert.fail('loaded');
    };
    assert.match(
      bad((m) => (m.format = 'other')),
      /"format" is "other", not "ticketflow-model"/,
    );
    assert.match(
      bad((m) => (m.version = 3)),
      /version 3: this code reads version 2/,
    );
    assert.match(
      bad((m) => {
        // The version-1 layout: vocabulary and idf at the top, nothing else.
        m.vocabulary = m.vectorizer.vocabulary;
        delete m.format;
      }),
      /a version-1 model\.json .*retrain/,
    );
    assert.match(
      bad((m) => (m.classes = ['only'])),
      /"classes" must list two or more/,
    );
    assert.match(
      bad((m) => (m.classes = [m.classes[0], m.classes[0], m.classes[2]])),
      /lists a class twice/,
    );
    assert.match(
      bad((m) => (m.textProcessing.version = 2)),
      /textProcessing\.version 2 differs/,
    );
    assert.match(
      bad((m) => (m.textProcessing.language = 'german')),
      /textProcessing\.language "german"/,
    );
    assert.match(
      bad((m) => m.vectorizer.idf.pop()),
      /vectorizer\.idf must hold \d+ finite numbers/,
    );
    assert.match(
      bad((m) => (m.vectorizer.tokenPattern = '(')),
      /tokenPattern does not compile/,
    );
    assert.match(
      bad((m) => (m.vectorizer.norm = 'l3')),
      /vectorizer\.norm/,
    );
    assert.match(
      bad((m) => m.coef.pop()),
      /"coef" must hold 3 rows/,
    );
    assert.match(
      bad((m) => (m.coef[1][5] = 'x')),
      /coef row 1 must hold \d+ finite numbers/,
    );
    assert.match(
      bad((m) => (m.intercept = [0])),
      /"intercept" must hold 3 finite numbers/,
    );
    assert.match(
      bad((m) => (m.multiClass = 'crammer')),
      /"multiClass"/,
    );
    assert.match(
      bad((m) => (m.threshold.value = 2)),
      /threshold\.value must be a number from 0 to 1/,
    );
    assert.match(
      bad((m) => delete m.lineage),
      /lineage\.runId/,
    );

    const tmp = tempDir('model-files');
    try {
      // A file past the size parsed whole is parsed from its bytes' stream: the same model, errors alike.
      const at = path.join(dir, ARTIFACTS.model);
      assert.deepEqual(await readPackedModel(at, 0), await readPackedModel(at));
      const key = `runs/${runId}/${ARTIFACTS.model}`;
      const fromStore = await parseModelJson(
        'in the store',
        fs.statSync(at).size,
        { whole: () => ctx.store.get(key), stream: () => ctx.store.openRead(key) },
        0,
      );
      assert.deepEqual(
        fromStore,
        JSON.parse(fs.readFileSync(at, 'utf8')),
        "the store's stream, as S3 serves it",
      );
      fs.writeFileSync(path.join(tmp, 'cut.json'), fs.readFileSync(at).subarray(0, 5000));
      await assert.rejects(
        readPackedModel(path.join(tmp, 'cut.json'), 0),
        /model file .*cut\.json is not JSON: .* at byte 5000/,
      );
      await assert.rejects(
        readModel(path.join(tmp, 'missing.json')),
        /cannot read model file .*missing\.json: ENOENT/,
      );
      fs.writeFileSync(path.join(tmp, 'broken.json'), '{"format": ');
      await assert.rejects(readModel(path.join(tmp, 'broken.json')), /broken\.json is not JSON/);
      fs.writeFileSync(path.join(tmp, 'v3.json'), JSON.stringify({ ...file, version: 3 }));
      await assert.rejects(readModel(path.join(tmp, 'v3.json')), /v3\.json: invalid model file: version 3/);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
