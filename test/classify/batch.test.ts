import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Job } from 'bullmq';
import {
  CLASSIFICATION_FILES,
  ClassificationStatus,
  classificationDir,
  predictionColumns,
} from '../../shared/runtime/classify/batch';
import { CLASSIFICATION_CHUNK_QUEUE, CLASSIFICATION_QUEUE } from '../../shared/runtime/flow/queue-names';
import { readTickets } from '../../shared/core/dataset/read-tickets';
import { ClassificationJobData, classificationChunkJobId } from '../../shared/runtime/flow/job-types';
import { CsvParser } from '../../shared/core/io/csv';
import { NEEDS_REVIEW } from '../../shared/pipeline/model/load-model';
import { ModelRegistry } from '../../shared/runtime/runs/model-registry';
import { freePort } from '../../shared/runtime/redis/local-redis';
import { submitRun } from '../../shared/runtime/runs/submit';
import { createClassification, getClassificationHandler } from '../../producers/api/classifications';
import { SAMPLE_DATASET, tempDir } from '../helpers/env';
import { Stack, startStack, waitForRun } from '../helpers/stack';
import { runCli } from '../helpers/cli';

function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  const parser = new CsvParser((row) => rows.push(row));
  parser.write(text);
  parser.end();
  return rows;
}

async function waitForClassification(stack: Stack, id: string, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await getClassificationHandler(stack.runs, id);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const status = res.body as ClassificationStatus;
    if (status.state === 'completed' || status.state === 'failed') return status;
    if (Date.now() > deadline)
      throw new Error(`classification ${id} still ${status.state} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const SAMPLE = 'complaints-sample.json';

describe('batch classification through real worker processes', () => {
  let stack: Stack;
  let dataDir: string;
  let registry: ModelRegistry;
  let runId: string;
  let predictionsText: string;

  before(async () => {
    dataDir = tempDir('classify-data');
    fs.copyFileSync(SAMPLE_DATASET, path.join(dataDir, SAMPLE));
    const hit = (id: string, source: Record<string, unknown>) => ({ _id: id, _source: source });
    fs.writeFileSync(
      path.join(dataDir, 'bad-record.json'),
      JSON.stringify([
        hit('1', {
          complaint_what_happened: 'My bank charged a fee twice.',
          product: 'Checking or savings account',
        }),
        hit('2', { complaint_what_happened: 'The mortgage payment was misapplied.', product: 42 }),
      ]),
    );
    // Cut short inside the array: the split step's scan finds it.
    fs.writeFileSync(
      path.join(dataDir, 'truncated.json'),
      '[{"_id": "1", "_source": {"complaint_what_happened": "x"',
    );
    stack = await startStack({ workers: 2, env: { TICKETFLOW_DATA_DIR: dataDir } });
    registry = new ModelRegistry(stack.runs);
    const { record } = await submitRun(stack.runs, {
      dataset: SAMPLE,
      datasetFile: path.join(dataDir, SAMPLE),
      params: { chunkSize: 300 },
    });
    runId = record.id;
    const trained = await waitForRun(stack.runs, runId, 180_000);
    assert.equal(trained.state, 'completed', JSON.stringify(trained.error));
  });
  after(async () => {
    await stack?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers 400 naming the field, 404 for an unknown model, 409 without a production alias', async () => {
    const create = (body: unknown) => createClassification(stack.runs, registry, body);
    const noAlias = await create({ dataset: SAMPLE });
    assert.equal(noAlias.status, 409, JSON.stringify(noAlias.body));
    assert.match((noAlias.body as { error: string }).error, /production/);
    for (const model of ['no-such-model', '20990101-000000-abcdef']) {
      const res = await create({ dataset: SAMPLE, model });
      assert.equal(res.status, 404, `${model}: ${JSON.stringify(res.body)}`);
    }
    const bad: [unknown, RegExp][] = [
      [[], /JSON object/],
      [{}, /"dataset"/],
      [{ dataset: '../etc/passwd', model: runId }, /"dataset".*outside the data root/],
      [{ dataset: 'missing.json', model: runId }, /"dataset".*does not exist/],
      [{ dataset: SAMPLE, model: runId, threshold: 1.5 }, /"threshold"/],
      [{ dataset: SAMPLE, model: runId, threshold: '0.5' }, /"threshold"/],
      [{ dataset: SAMPLE, model: runId, chunkSize: 0 }, /"chunkSize"/],
      [{ dataset: SAMPLE, model: runId, chunkSize: 2.5 }, /"chunkSize"/],
      [{ dataset: SAMPLE, model: 7 }, /"model"/],
      [{ dataset: SAMPLE, colour: 'blue' }, /unknown field\(s\) colour/],
    ];
    for (const [body, message] of bad) {
      const res = await create(body);
      assert.equal(res.status, 400, `${JSON.stringify(body)}: ${JSON.stringify(res.body)}`);
      assert.match((res.body as { error: string }).error, message);
    }
    for (const id of ['cls-20990101-000000-abcdef', 'nope', '../x'])
      assert.equal((await getClassificationHandler(stack.runs, id)).status, 404);
  });

  it('classifies the sample in chunks over both workers: rows in input order, the model’s own labels', async () => {
    await registry.setAlias('production', runId);
    const res = await createClassification(stack.runs, registry, { dataset: SAMPLE, chunkSize: 300 });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const { id, model, status: statusUrl } = res.body as { id: string; model: string; status: string };
    assert.match(id, /^cls-\d{8}-\d{6}-[0-9a-f]{12}$/);
    assert.equal(model, runId);
    assert.equal(statusUrl, `/classifications/${id}`);
    const status = await waitForClassification(stack, id);
    assert.equal(status.state, 'completed', status.error ?? '');
    assert.equal(status.progress, 100);
    assert.ok(status.finishedAt !== null && status.finishedAt >= status.createdAt);

    const loaded = await registry.model(runId);
    assert.equal(status.threshold, loaded.file.threshold.value, 'the model’s own threshold by default');
    const dir = classificationDir(stack.config.storageDir, id);
    assert.ok(!fs.existsSync(path.join(dir, CLASSIFICATION_FILES.partsDir)), 'parts/ removed');
    const record = JSON.parse(fs.readFileSync(path.join(dir, CLASSIFICATION_FILES.record), 'utf8'));
    assert.deepEqual(
      { id: record.id, dataset: record.dataset, model: record.model, threshold: record.threshold },
      { id, dataset: SAMPLE, model: runId, threshold: status.threshold },
    );

    predictionsText = fs.readFileSync(path.join(dir, CLASSIFICATION_FILES.predictions), 'utf8');
    const [header, ...rows] = parseCsv(predictionsText);
    const classes = loaded.classes;
    assert.deepEqual(header, predictionColumns(classes));
    assert.deepEqual(
      header!.slice(4, -1),
      classes.map((c) => `p_${c}`),
    );

    const tickets: { id: string; text: string }[] = [];
    await readTickets(path.join(dataDir, SAMPLE), (rec) => {
      tickets.push({ id: rec.id ?? String(rec.index), text: rec.narrative });
    });
    assert.equal(tickets.length, 1140, 'the sample keeps 1140 of its 1200 records');
    assert.equal(rows.length, tickets.length, 'one row per kept ticket');
    assert.deepEqual(
      rows.map((r) => r[0]),
      tickets.map((t) => t.id),
      'rows in input order, by the records’ _id',
    );
    const expected = loaded.classify(
      tickets.map((t) => t.text),
      status.threshold,
    );
    const k = classes.length;
    rows.forEach((row, i) => {
      assert.equal(row.length, 5 + k);
      const probabilities = row.slice(4, 4 + k).map(Number);
      const sum = probabilities.reduce((s, p) => s + p, 0);
      assert.ok(Math.abs(sum - 1) < 1e-9, `row ${i}: probabilities sum to ${sum}`);
      const want = expected[i]!;
      assert.equal(row[1], want.label, `row ${i}: label`);
      assert.equal(row[2], want.predicted, `row ${i}: predicted`);
      assert.equal(Number(row[3]), want.confidence, `row ${i}: confidence`);
      assert.deepEqual(
        probabilities,
        classes.map((c) => want.probabilities[c]),
      );
      assert.equal(row[4 + k], String(want.abstained));
      assert.equal(want.abstained, row[1] === NEEDS_REVIEW);
    });

    const summary = status.summary!;
    assert.equal(summary.id, id);
    assert.equal(summary.model, runId);
    assert.equal(summary.dataset, SAMPLE);
    assert.equal(summary.tickets, rows.length);
    assert.equal(
      Object.values(summary.counts).reduce((s, n) => s + n, 0),
      summary.tickets,
      'counts add up to the tickets',
    );
    for (const [label, n] of Object.entries(summary.counts))
      assert.equal(rows.filter((r) => r[1] === label).length, n, `count of ${label}`);
    assert.equal(summary.abstained, summary.counts[NEEDS_REVIEW]);
    assert.equal(summary.abstentionRate, summary.abstained / summary.tickets);
    assert.deepEqual(Object.keys(summary.drift.predictedMix), [...classes]);
    assert.deepEqual(Object.keys(summary.drift.trainingMix), [...classes]);
    for (const mix of [summary.drift.predictedMix, summary.drift.trainingMix]) {
      const total = Object.values(mix).reduce((s, x) => s + x, 0);
      assert.ok(Math.abs(total - 1) < 1e-9, `a mix sums to 1: ${JSON.stringify(mix)}`);
    }
    // The model's vocabulary holds every lemma of the data it was trained on: none is out of it here.
    const stats = loaded.classifyWithStats(
      tickets.map((t) => t.text),
      status.threshold,
    );
    assert.ok(stats.tokens > 0);
    assert.equal(summary.drift.outOfVocabularyShare, stats.outOfVocabulary / stats.tokens);
    assert.ok(summary.seconds > 0);
    const onDisk = JSON.parse(fs.readFileSync(path.join(dir, CLASSIFICATION_FILES.summary), 'utf8'));
    assert.deepEqual(onDisk, summary);

    // 1200 records in chunks of 300: four chunk jobs, taken by both worker processes.
    const parent = (await stack.queues[CLASSIFICATION_QUEUE].getJob(id)) as Job<ClassificationJobData>;
    assert.equal(parent.data.chunks, 4);
    assert.equal(parent.attemptsMade, 1);
    const chunkJobs = await Promise.all(
      [0, 1, 2, 3].map((c) =>
        stack.queues[CLASSIFICATION_CHUNK_QUEUE].getJob(classificationChunkJobId(id, c)),
      ),
    );
    const workers = new Set(chunkJobs.map((j) => j?.processedBy));
    assert.ok(!workers.has(undefined), 'every chunk job ran');
    assert.equal(workers.size, 2, `chunk jobs spread over both workers: ${[...workers].join(', ')}`);

    // A finished classification answers from storage after its jobs are gone.
    await stack.queues[CLASSIFICATION_QUEUE].obliterate({ force: true });
    await stack.queues[CLASSIFICATION_CHUNK_QUEUE].obliterate({ force: true });
    const later = await waitForClassification(stack, id);
    assert.equal(later.state, 'completed');
    assert.deepEqual(later.summary, summary);
  });

  it('fails a bad dataset on the first attempt, naming file, record and field', async () => {
    const res = await createClassification(stack.runs, registry, {
      dataset: 'bad-record.json',
      model: runId,
    });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const { id } = res.body as { id: string };
    const status = await waitForClassification(stack, id);
    assert.equal(status.state, 'failed');
    assert.match(status.error!, /bad-record\.json, record 1, field "_source\.product": is a number/);
    const chunk = await stack.queues[CLASSIFICATION_CHUNK_QUEUE].getJob(classificationChunkJobId(id, 0));
    assert.equal(chunk!.attemptsMade, 1, 'no retry of bad input');
    assert.ok(!fs.existsSync(path.join(classificationDir(stack.config.storageDir, id), 'predictions.csv')));
    // The failure is kept in storage: it outlives the jobs.
    await stack.queues[CLASSIFICATION_QUEUE].obliterate({ force: true });
    await stack.queues[CLASSIFICATION_CHUNK_QUEUE].obliterate({ force: true });
    assert.equal((await waitForClassification(stack, id)).error, status.error);

    const cut = await createClassification(stack.runs, registry, { dataset: 'truncated.json', model: runId });
    const cutId = (cut.body as { id: string }).id;
    const failed = await waitForClassification(stack, cutId);
    assert.equal(failed.state, 'failed');
    assert.match(failed.error!, /truncated\.json/);
    const parent = await stack.queues[CLASSIFICATION_QUEUE].getJob(cutId);
    assert.equal(parent!.attemptsMade, 1, 'a file that fails the split fails on its first attempt');
  });

  it('ticketflow classify: self-contained, with a run id as the model, writes --out', async () => {
    const redisDir = tempDir('classify-redis');
    const outDir = tempDir('classify-out');
    const env = {
      REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
      TICKETFLOW_QUEUE_PREFIX: `tfc-${randomBytes(4).toString('hex')}`,
      TICKETFLOW_STORAGE_DIR: stack.config.storageDir,
      TICKETFLOW_REDIS_DIR: redisDir,
    };
    try {
      const data = path.join(dataDir, SAMPLE);
      const noModel = await runCli(['classify', '--data', data], env);
      assert.equal(noModel.code, 1, noModel.stderr);
      assert.match(noModel.stderr, /no "production" alias.*--model/);
      assert.equal((await runCli(['classify', '--data', data, '--threshold', '2'], env)).code, 2);

      const out = path.join(outDir, 'predictions.csv');
      const res = await runCli(
        [
          'classify',
          '--data',
          data,
          '--model',
          runId,
          '--out',
          out,
          '--workers',
          '2',
          '--chunk-size',
          '300',
          '--json',
        ],
        env,
      );
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stderr, /started 2 worker process\(es\)/);
      const report = JSON.parse(res.stdout) as {
        id: string;
        state: string;
        model: string;
        out: string;
        endToEndSeconds: number;
        summary: { tickets: number };
      };
      assert.equal(report.state, 'completed');
      assert.equal(report.model, runId);
      assert.equal(report.out, out);
      assert.equal(report.summary.tickets, 1140);
      assert.ok(report.endToEndSeconds > 0);
      assert.equal(fs.readFileSync(out, 'utf8'), predictionsText, 'the same predictions as through the API');

      const text = await runCli(['classify', '--data', data, '--model', runId, '--workers', '1'], env);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, /1140 tickets/);
      assert.match(text.stdout, /predictions: .*classifications\/cls-[^/]+\/predictions\.csv/);
    } finally {
      fs.rmSync(redisDir, { recursive: true, force: true });
      fs.rmSync(outDir, { recursive: true, force: true });
    }
  });
});
