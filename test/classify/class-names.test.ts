import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  CLASSIFICATION_FILES,
  ClassificationStatus,
  PartStats,
  classificationDir,
  predictionColumns,
  summariseParts,
} from '../../shared/runtime/classify/batch';
import { readTickets } from '../../shared/core/dataset/read-tickets';
import { CsvParser } from '../../shared/core/io/csv';
import { NEEDS_REVIEW, readModel } from '../../shared/pipeline/model/load-model';
import { ModelFile } from '../../shared/pipeline/model/model-file';
import { runDir } from '../../shared/core/storage';
import { getClassificationHandler } from '../../producers/api/classifications';
import { SAMPLE_DATASET, tempDir } from '../helpers/env';
import { call } from '../helpers/http';
import { Stack, startStack, waitForRun } from '../helpers/stack';

/** Class names that are also properties of every plain object. */
const TRICKY = ['__proto__', 'constructor', 'toString', 'hasOwnProperty'];

function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  const parser = new CsvParser((row) => rows.push(row));
  parser.write(text);
  parser.end();
  return rows;
}

/** `{class: n / total}` over `classes`, computed here rather than by the code under test. */
function mixOf(counts: Map<string, number>, classes: readonly string[]): [string, number][] {
  const total = classes.reduce((s, c) => s + (counts.get(c) ?? 0), 0);
  return classes.map((c) => [c, (counts.get(c) ?? 0) / total]);
}

describe('batch summary: every chunk counts', () => {
  const part = (chunk: number, fields: Partial<PartStats>): PartStats =>
    JSON.parse(
      JSON.stringify({
        chunk,
        range: { start: chunk * 100, end: chunk * 100 + 100, firstRecord: chunk * 10 },
        classes: ['__proto__', 'constructor', 'b'],
        trainingLabelMix: JSON.parse('{"__proto__": 0.5, "constructor": 0.25, "b": 0.25}'),
        read: { file: 'x.json', format: 'json-array', read: 10, kept: 10, dropped: {} },
        abstained: 0,
        seconds: 0,
        ...fields,
      }),
    ) as PartStats;

  it('sums the out-of-vocabulary tokens and predicted classes of all chunks, apart from the training mix', () => {
    // JSON text: in an object literal "__proto__" would set the prototype, not a key.
    const parts = [
      part(0, {
        ...JSON.parse('{"counts": {"__proto__": 6, "constructor": 3, "needs_review": 1}}'),
        ...JSON.parse('{"predicted": {"__proto__": 7, "constructor": 3}}'),
        tokens: 100,
        outOfVocabulary: 0,
      }),
      part(1, {
        counts: { b: 8, constructor: 2 },
        predicted: { b: 8, constructor: 2 },
        tokens: 300,
        outOfVocabulary: 90,
      }),
    ];
    const job = { classificationId: 'cls-x', dataset: 'x.json', model: 'm', threshold: 0.5 };
    const summary = JSON.parse(JSON.stringify(summariseParts(job, parts, 1)));
    assert.equal(summary.drift.outOfVocabularyShare, 90 / 400);
    assert.deepEqual(Object.entries(summary.drift.predictedMix), [
      ['__proto__', 7 / 20],
      ['constructor', 5 / 20],
      ['b', 8 / 20],
    ]);
    assert.deepEqual(Object.entries(summary.drift.trainingMix), [
      ['__proto__', 0.5],
      ['constructor', 0.25],
      ['b', 0.25],
    ]);
    assert.deepEqual(Object.entries(summary.counts), [
      ['__proto__', 6],
      ['constructor', 5],
      ['b', 8],
      [NEEDS_REVIEW, 1],
    ]);
    assert.equal(summary.tickets, 20);
  });
});

describe('classes named __proto__, constructor, toString, hasOwnProperty: trained, served, batch-classified', () => {
  let stack: Stack;
  let dataDir: string;
  let runId: string;
  let model: ModelFile;

  before(async () => {
    dataDir = tempDir('class-names');
    const hits = JSON.parse(fs.readFileSync(SAMPLE_DATASET, 'utf8')) as {
      _id: string;
      _source: Record<string, unknown>;
    }[];
    // Two products renamed in the data, two classes named by the label map.
    const renamed: Record<string, string> = { Mortgage: '__proto__', 'Debt collection': 'constructor' };
    for (const h of hits) {
      const p = h._source.product as string;
      if (Object.hasOwn(renamed, p)) h._source.product = renamed[p];
    }
    fs.writeFileSync(path.join(dataDir, 'tricky.json'), JSON.stringify(hits));
    // Words no model knows, in a last chunk of their own: its out-of-vocabulary share differs.
    const odd = hits.slice(0, 60).map((h, i) => ({
      ...h,
      _id: `odd-${i}`,
      _source: {
        ...h._source,
        complaint_what_happened: `qwzx${i} vvbnm flrrp ${(h._source.complaint_what_happened as string).slice(0, 200)}`,
      },
    }));
    fs.writeFileSync(path.join(dataDir, 'batch.json'), JSON.stringify([...hits, ...odd]));
    stack = await startStack({ workers: 2, api: true, env: { TICKETFLOW_DATA_DIR: dataDir } });
    const labelMap = JSON.parse(
      '{"__proto__": "__proto__", "constructor": "constructor", "Student loan": "toString", ' +
        '"Checking or savings account": "hasOwnProperty"}',
    );
    const res = await call(stack, 'POST', '/runs', {
      dataset: 'tricky.json',
      params: {
        labels: 'category',
        labelMap,
        searchC: [1],
        searchClassWeight: ['none'],
        searchNgrams: [1],
        cvFolds: 2,
        chunkSize: 400,
      },
    });
    assert.equal(res.status, 202, JSON.stringify(res.json));
    runId = res.json.id;
    const record = await waitForRun(stack.runs, runId, 240_000);
    assert.equal(record.state, 'completed', JSON.stringify(record.error));
    model = JSON.parse(
      fs.readFileSync(path.join(runDir(stack.config.storageDir, runId), 'model.json'), 'utf8'),
    );
  });
  after(async () => {
    await stack?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('trains them as classes: model.json, labels.json, metrics.json', () => {
    const dir = runDir(stack.config.storageDir, runId);
    assert.deepEqual([...model.classes].sort(), [...TRICKY, 'other'].sort());
    for (const c of TRICKY) assert.ok(Object.hasOwn(model.trainingLabelMix, c), `trainingLabelMix has ${c}`);
    const mix = Object.values(model.trainingLabelMix);
    assert.equal(mix.length, 5);
    assert.ok(Math.abs(mix.reduce((s, x) => s + x, 0) - 1) < 1e-12);
    const labels = JSON.parse(fs.readFileSync(path.join(dir, 'labels.json'), 'utf8'));
    assert.deepEqual(labels.classes, model.classes);
    assert.equal(
      labels.counts.reduce((s: number, n: number) => s + n, 0),
      1140,
    );
    const metrics = JSON.parse(fs.readFileSync(path.join(dir, 'metrics.json'), 'utf8'));
    assert.deepEqual(metrics.classes, model.classes);
    const report = JSON.stringify(metrics);
    for (const c of TRICKY) assert.ok(report.includes(`${c} `), `metrics.json's report lists ${c}`);
  });

  it('POST /classify lists every class in probabilities, summing to 1', async () => {
    await call(stack, 'PUT', '/models/aliases/production', { run: runId });
    const texts = [
      'The servicer lost my mortgage payment and reported me late.',
      'A debt collector keeps calling me about a debt I do not owe.',
      'My student loan servicer misapplied my payments.',
      'The bank closed my checking account without notice.',
    ];
    const res = await call(stack, 'POST', '/classify', {
      tickets: texts.map((text) => ({ text })),
      threshold: 0,
    });
    assert.equal(res.status, 200, JSON.stringify(res.json));
    const labels = new Set<string>();
    for (const p of res.json.predictions as { label: string; probabilities: Record<string, number> }[]) {
      assert.deepEqual(Object.keys(p.probabilities), model.classes);
      const values = Object.values(p.probabilities);
      assert.ok(values.every((v) => typeof v === 'number'));
      assert.ok(Math.abs(values.reduce((s, v) => s + v, 0) - 1) < 1e-9);
      labels.add(p.label);
    }
    assert.ok(labels.has('__proto__') && labels.has('constructor'), `labels ${[...labels].join(', ')}`);
  });

  it('a batch: CSV columns, counts, out-of-vocabulary share and predicted mix over all chunks', async () => {
    const create = await call(stack, 'POST', '/classifications', {
      dataset: 'batch.json',
      model: runId,
      chunkSize: 400,
      threshold: 0.5,
    });
    assert.equal(create.status, 202, JSON.stringify(create.json));
    const id = create.json.id as string;
    let status: ClassificationStatus;
    for (const deadline = Date.now() + 120_000; ;) {
      status = (await getClassificationHandler(stack.runs, id)).body as ClassificationStatus;
      if (status.state === 'completed' || status.state === 'failed') break;
      assert.ok(Date.now() < deadline, `classification still ${status.state}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(status.state, 'completed', status.error ?? '');
    const summary = status.summary!;
    const dir = classificationDir(stack.config.storageDir, id);
    const text = fs.readFileSync(path.join(dir, CLASSIFICATION_FILES.predictions), 'utf8');
    assert.doesNotMatch(text, /\[object Object\]|function/);
    const [header, ...rows] = parseCsv(text);
    assert.deepEqual(header, predictionColumns(model.classes));
    assert.ok(header!.includes('p___proto__') && header!.includes('p_constructor'));

    // Expected values from the tickets and the model file, not from the chunks' counts.
    const tickets: { id: string; text: string; record: number }[] = [];
    await readTickets(path.join(dataDir, 'batch.json'), (rec) => {
      tickets.push({ id: rec.id ?? String(rec.index), text: rec.narrative, record: rec.index });
    });
    assert.equal(rows.length, tickets.length);
    assert.ok(
      tickets.some((t) => t.record >= 1200),
      'a fourth chunk of 400 records',
    );
    const loaded = await readModel(path.join(runDir(stack.config.storageDir, runId), 'model.json'));
    const all = loaded.classifyWithStats(
      tickets.map((t) => t.text),
      0.5,
    );
    const k = model.classes.length;
    const counts = new Map<string, number>();
    const predicted = new Map<string, number>();
    rows.forEach((row, i) => {
      const want = all.predictions[i]!;
      assert.equal(row[0], tickets[i]!.id);
      assert.equal(row[1], want.label);
      const probabilities = row.slice(4, 4 + k).map(Number);
      assert.deepEqual(
        probabilities,
        model.classes.map((c) => want.probabilities[c]),
        `row ${i}`,
      );
      counts.set(want.label, (counts.get(want.label) ?? 0) + 1);
      const top = probabilities.indexOf(Math.max(...probabilities));
      predicted.set(model.classes[top]!, (predicted.get(model.classes[top]!) ?? 0) + 1);
    });
    for (const [label, n] of Object.entries(summary.counts)) {
      assert.equal(typeof n, 'number', `count of ${label}`);
      assert.equal(n, counts.get(label) ?? 0, `count of ${label}`);
    }
    assert.deepEqual(Object.keys(summary.counts).sort(), [...model.classes, NEEDS_REVIEW].sort());
    assert.ok(counts.get('__proto__')! > 0 && counts.get('constructor')! > 0);

    const share = all.outOfVocabulary / all.tokens;
    const firstChunk = loaded.classifyWithStats(tickets.filter((t) => t.record < 400).map((t) => t.text));
    assert.notEqual(firstChunk.outOfVocabulary / firstChunk.tokens, share, 'chunks differ in OOV share');
    assert.equal(summary.drift.outOfVocabularyShare, share);

    const predictedMix = mixOf(predicted, model.classes);
    assert.deepEqual(Object.entries(summary.drift.predictedMix), predictedMix);
    const trainingTotal = model.classes.reduce((s, c) => s + model.trainingLabelMix[c]!, 0);
    assert.deepEqual(
      Object.entries(summary.drift.trainingMix),
      model.classes.map((c) => [c, model.trainingLabelMix[c]! / trainingTotal]),
    );
    assert.notDeepEqual(predictedMix, Object.entries(summary.drift.trainingMix), 'the two mixes differ');
  });
});
