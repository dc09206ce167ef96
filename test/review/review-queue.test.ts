import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  CATEGORY_DEFAULTS,
  DEFAULT_PIPELINE_PARAMS,
  resolvePipelineParams,
} from '../../shared/core/config/pipeline-params';
import { readTickets } from '../../shared/core/dataset/read-tickets';
import { CsvParser } from '../../shared/core/io/csv';
import { NEEDS_REVIEW } from '../../shared/pipeline/model/load-model';
import { ModelFile } from '../../shared/pipeline/model/model-file';
import { CLASSIFICATION_FILES, classificationKey } from '../../shared/runtime/classify/batch';
import { REVIEWS_FILE, ReviewQueue, ReviewsFile } from '../../shared/runtime/classify/review';
import { call } from '../helpers/http';
import { SampleStack, startSampleStack, waitForRun } from '../helpers/stack';

/** The sample's products in four classes; the rest become "other". */
const LABEL_MAP: Record<string, string> = {
  'Credit reporting, credit repair services, or other personal consumer reports': 'credit_reporting',
  'Debt collection': 'debt',
  'Checking or savings account': 'bank',
  Mortgage: 'loan',
  'Student loan': 'loan',
  'Payday loan, title loan, or personal loan': 'loan',
};
/** A one-candidate search: the grid is not what these tests are about. */
const PARAMS = {
  labels: 'category',
  labelMap: LABEL_MAP,
  searchC: [1],
  searchClassWeight: ['none'],
  searchNgrams: [1],
};
/** Low enough that the sample's category model answers most tickets, high enough that many abstain. */
const THRESHOLD = 0.8;

function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  const parser = new CsvParser((row) => rows.push(row));
  parser.write(text);
  parser.end();
  return rows;
}

/** The class of highest probability, the lowest on ties (the model's argmax). */
function argmax(classes: readonly string[], p: readonly number[]): string {
  let best = 0;
  for (let c = 1; c < p.length; c++) if (p[c]! > p[best]!) best = c;
  return classes[best]!;
}

async function trained(stack: SampleStack, dataset: string, params: unknown): Promise<string> {
  const res = await call(stack, 'POST', '/runs', { dataset, params });
  assert.equal(res.status, 202, JSON.stringify(res.json));
  const record = await waitForRun(stack.runs, res.json.id, 120_000);
  assert.equal(record.state, 'completed', JSON.stringify(record.error));
  return record.id;
}

async function classified(stack: SampleStack, body: unknown): Promise<string> {
  const res = await call(stack, 'POST', '/classifications', body);
  assert.equal(res.status, 202, JSON.stringify(res.json));
  for (const deadline = Date.now() + 60_000; ;) {
    const status = await call(stack, 'GET', `/classifications/${res.json.id}`);
    if (status.json.state === 'completed') return res.json.id as string;
    assert.notEqual(status.json.state, 'failed', JSON.stringify(status.json));
    assert.ok(Date.now() < deadline, `classification still ${status.json.state}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const modelFile = (stack: SampleStack, run: string) =>
  stack.runs.artifacts.getJson<ModelFile>(`runs/${run}/model.json`);

describe('category runs: default target precision', () => {
  it('category labels default to CATEGORY_DEFAULTS.targetPrecision, topics and an explicit value keep theirs', () => {
    const category = resolvePipelineParams(DEFAULT_PIPELINE_PARAMS, { labels: 'category' });
    assert.equal(category.targetPrecision, CATEGORY_DEFAULTS.targetPrecision);
    assert.ok(CATEGORY_DEFAULTS.targetPrecision < DEFAULT_PIPELINE_PARAMS.targetPrecision);
    const explicit = resolvePipelineParams(DEFAULT_PIPELINE_PARAMS, {
      labels: 'category',
      targetPrecision: 0.98,
    });
    assert.equal(explicit.targetPrecision, 0.98);
    assert.equal(resolvePipelineParams(DEFAULT_PIPELINE_PARAMS, {}).targetPrecision, 0.98);
    assert.equal(resolvePipelineParams(DEFAULT_PIPELINE_PARAMS, undefined).targetPrecision, 0.98);
  });
});

describe('the review queue: classify → review → export → retrain', () => {
  let stack: SampleStack;
  let runId: string;
  let clsId: string;
  let classes: string[];
  /** the sample's kept tickets in input order */
  const tickets: { id: string; text: string }[] = [];

  before(async () => {
    stack = await startSampleStack('review', { workers: 2, api: true });
    await readTickets(path.join(stack.dataDir, 'sample.json'), (rec) => {
      tickets.push({ id: rec.id ?? String(rec.index), text: rec.narrative });
    });
    runId = await trained(stack, 'sample.json', PARAMS);
    classes = [...(await modelFile(stack, runId)).classes];
    clsId = await classified(stack, {
      dataset: 'sample.json',
      model: runId,
      threshold: THRESHOLD,
      chunkSize: 400,
    });
  });
  after(async () => {
    await stack?.close();
  });

  it('a category run without targetPrecision uses the category default; no coverage warning at ≥ 50 %', async () => {
    const run = await call(stack, 'GET', `/runs/${runId}`);
    assert.equal(run.json.params.targetPrecision, CATEGORY_DEFAULTS.targetPrecision);
    const model = await modelFile(stack, runId);
    assert.equal(model.threshold.targetPrecision, CATEGORY_DEFAULTS.targetPrecision);
    const warned = (run.json.warnings as string[]).some((w) => /answers only/.test(w));
    assert.equal(warned, model.threshold.coverage < 0.5, JSON.stringify(run.json.warnings));
  });

  it('a run whose default threshold answers under half of the test split is warned about', async () => {
    const res = await call(stack, 'POST', '/runs', {
      dataset: 'sample.json',
      // Product + Sub-product classes overlap: no threshold answers half the test split at 0.999.
      params: { ...PARAMS, labelField: 'category', labelMap: null, targetPrecision: 0.999 },
    });
    assert.equal(res.status, 202, JSON.stringify(res.json));
    const record = await waitForRun(stack.runs, res.json.id, 60_000);
    assert.equal(record.state, 'completed', JSON.stringify(record.error));
    const model = await modelFile(stack, record.id);
    assert.ok(model.threshold.coverage < 0.5, `coverage ${model.threshold.coverage}`);
    const warning = record.warnings.find((w) => /answers only .* % of test tickets \(below 50 %\)/.test(w));
    assert.ok(warning, JSON.stringify(record.warnings));
    assert.match(warning, /targetPrecision/);
  });

  it('POST /classify answers predicted, the argmax, also when it abstains', async () => {
    const texts = tickets.slice(0, 40).map((t) => ({ text: t.text }));
    for (const threshold of [undefined, 1]) {
      const res = await call(stack, 'POST', '/classify', {
        model: runId,
        tickets: texts,
        ...(threshold !== undefined ? { threshold } : {}),
      });
      assert.equal(res.status, 200, JSON.stringify(res.json));
      for (const p of res.json.predictions) {
        const probabilities = classes.map((c) => p.probabilities[c] as number);
        assert.equal(p.predicted, argmax(classes, probabilities));
        assert.equal(p.label, p.abstained ? NEEDS_REVIEW : p.predicted);
      }
      if (threshold === 1) assert.ok(res.json.predictions.every((p: { abstained: boolean }) => p.abstained));
    }
  });

  it('predictions.csv has a predicted column after label: the argmax of every row', async () => {
    const text = (
      await stack.runs.artifacts.get(classificationKey(clsId, CLASSIFICATION_FILES.predictions))
    ).toString('utf8');
    const [header, ...rows] = parseCsv(text);
    assert.deepEqual(header!.slice(0, 4), ['ticket_id', 'label', 'predicted', 'confidence']);
    assert.deepEqual(
      header!.slice(4, -1),
      classes.map((c) => `p_${c}`),
    );
    assert.equal(rows.length, tickets.length);
    const k = classes.length;
    for (const row of rows) {
      const predicted = argmax(classes, row.slice(4, 4 + k).map(Number));
      assert.equal(row[2], predicted, `ticket ${row[0]}`);
      assert.equal(row[1], row[4 + k] === 'true' ? NEEDS_REVIEW : predicted);
    }
  });

  it('GET review: abstained tickets, least confident first (ties by input order), text and top-2', async () => {
    const text = (
      await stack.runs.artifacts.get(classificationKey(clsId, CLASSIFICATION_FILES.predictions))
    ).toString('utf8');
    const k = classes.length;
    const abstained = parseCsv(text)
      .slice(1)
      .map((row, i) => ({ row, i }))
      .filter(({ row }) => row[4 + k] === 'true')
      .sort((a, b) => Number(a.row[3]) - Number(b.row[3]) || a.i - b.i);
    assert.ok(abstained.length >= 60, `${abstained.length} abstained tickets`);

    const res = await call(stack, 'GET', `/classifications/${clsId}/review?limit=30`);
    assert.equal(res.status, 200, JSON.stringify(res.json));
    const queue = res.json as ReviewQueue;
    assert.equal(queue.abstained, abstained.length);
    assert.equal(queue.tickets.length, 30);
    queue.tickets.forEach((t, n) => {
      const { row, i } = abstained[n]!;
      assert.equal(t.ticketId, row[0]);
      assert.equal(t.text, tickets[i]!.text);
      assert.equal(t.confidence, Number(row[3]));
      const p = row.slice(4, 4 + k).map(Number);
      const order = classes.map((c, c0) => ({ label: c, p: p[c0]! })).sort((a, b) => b.p - a.p);
      assert.deepEqual(t.top, order.slice(0, 2));
      assert.equal(t.top[0]!.p, t.confidence);
      assert.equal(t.reviewed, undefined);
    });
    const all = await call(stack, 'GET', `/classifications/${clsId}/review`);
    assert.equal(all.json.tickets.length, Math.min(50, abstained.length), 'the default limit is 50');

    for (const limit of ['0', '1001', 'x', '2.5']) {
      const bad = await call(stack, 'GET', `/classifications/${clsId}/review?limit=${limit}`);
      assert.equal(bad.status, 400, `limit=${limit}`);
      assert.match(bad.json.error, /"limit"/);
    }
    assert.equal(
      (await call(stack, 'GET', '/classifications/cls-20990101-000000-abcdef/review')).status,
      404,
    );
    // A classification that has not completed (its record, no job yet).
    const waiting = 'cls-20990101-000000-0123456789ab';
    await stack.runs.artifacts.putJson(classificationKey(waiting, CLASSIFICATION_FILES.record), {
      id: waiting,
      dataset: 'sample.json',
      model: runId,
      alias: null,
      threshold: THRESHOLD,
      chunkSize: 400,
      createdAt: new Date().toISOString(),
    });
    const notDone = await call(stack, 'GET', `/classifications/${waiting}/review`);
    assert.equal(notDone.status, 409, JSON.stringify(notDone.json));
    assert.match(notDone.json.error, /waiting/);
    assert.equal(
      (await call(stack, 'POST', `/classifications/${waiting}/review`, { labels: {} })).status,
      400,
    );
  });

  it('GET review orders equal confidences by input order, whatever the limit', async () => {
    // A completed classification written by hand: 40 of the sample's tickets, confidences with many ties.
    const id = 'cls-20990101-000000-7135aa11bb22';
    const key = (name: string) => classificationKey(id, name);
    const confidences = tickets.slice(0, 40).map((_, i) => [0.3, 0.2, 0.3, 0.2, 0.9][i % 5]!);
    const rows = tickets.slice(0, 40).map((t, i) => {
      const c = confidences[i]!;
      const rest = (1 - c) / (classes.length - 1);
      const p = classes.map((_, k) => (k === 1 ? c : rest));
      const abstained = c < 0.5;
      return [
        t.id,
        abstained ? NEEDS_REVIEW : classes[1]!,
        classes[1]!,
        String(c),
        ...p.map(String),
        String(abstained),
      ];
    });
    const header = [
      'ticket_id',
      'label',
      'predicted',
      'confidence',
      ...classes.map((c) => `p_${c}`),
      'abstained',
    ];
    const csv = [header, ...rows].map((r) => r.join(',')).join('\n') + '\n';
    await stack.runs.artifacts.put(key(CLASSIFICATION_FILES.predictions), Buffer.from(csv));
    await stack.runs.artifacts.putJson(key(CLASSIFICATION_FILES.record), {
      id,
      dataset: 'sample.json',
      model: runId,
      alias: null,
      threshold: 0.5,
      chunkSize: 400,
      createdAt: new Date().toISOString(),
    });
    await stack.runs.artifacts.putJson(key(CLASSIFICATION_FILES.summary), { id, tickets: 40 });
    const expected = rows
      .map((r, i) => ({ id: r[0]!, c: confidences[i]!, i }))
      .filter((r) => r.c < 0.5)
      .sort((a, b) => a.c - b.c || a.i - b.i)
      .map((r) => r.id);
    for (const limit of [3, 7, 40]) {
      const res = await call(stack, 'GET', `/classifications/${id}/review?limit=${limit}`);
      assert.equal(res.status, 200, JSON.stringify(res.json));
      assert.equal(res.json.abstained, 32);
      assert.deepEqual(
        res.json.tickets.map((t: { ticketId: string }) => t.ticketId),
        expected.slice(0, limit),
        `limit ${limit}`,
      );
    }
  });

  it('POST review: 400 for an unknown label or ticket, naming it; a bad CSV header', async () => {
    const queue = (await call(stack, 'GET', `/classifications/${clsId}/review?limit=1`)).json as ReviewQueue;
    const ticket = queue.tickets[0]!.ticketId;
    const badLabel = await call(stack, 'POST', `/classifications/${clsId}/review`, {
      labels: { [ticket]: 'not_a_class' },
    });
    assert.equal(badLabel.status, 400);
    assert.match(badLabel.json.error, new RegExp(`ticket "${ticket}"`));
    assert.match(badLabel.json.error, /"not_a_class"/);
    for (const c of classes) assert.ok(badLabel.json.error.includes(`"${c}"`), badLabel.json.error);

    const badTicket = await call(stack, 'POST', `/classifications/${clsId}/review`, {
      labels: { [ticket]: classes[0], 'no-such-ticket': classes[0] },
    });
    assert.equal(badTicket.status, 400);
    assert.match(badTicket.json.error, /ticket "no-such-ticket" is not a ticket of classification/);

    const badCsv = await call(
      stack,
      'POST',
      `/classifications/${clsId}/review`,
      `id,class\n${ticket},bank\n`,
      {
        'content-type': 'text/csv',
      },
    );
    assert.equal(badCsv.status, 400);
    assert.match(badCsv.json.error, /ticket_id,label/);
    for (const body of [{}, { labels: [] }, { labels: { [ticket]: 3 } }]) {
      const res = await call(stack, 'POST', `/classifications/${clsId}/review`, body);
      assert.equal(res.status, 400, JSON.stringify(body));
    }
    assert.equal(
      (
        await call(stack, 'POST', '/classifications/cls-20990101-000000-abcdef/review', {
          labels: { a: 'b' },
        })
      ).status,
      404,
    );
    assert.equal(
      (await stack.runs.redis.exists(stack.runs.keys.reviews(clsId))) as number,
      0,
      'nothing stored',
    );
  });

  it('reviews 20 tickets (two concurrent JSON posts) and 6 as CSV, exports them, and a run learns those labels', async () => {
    const queue = (await call(stack, 'GET', `/classifications/${clsId}/review?limit=26`)).json as ReviewQueue;
    assert.equal(queue.tickets.length, 26);
    const [a, b] = ['bank', 'loan'];
    assert.ok(classes.includes(a!) && classes.includes(b!), classes.join(', '));
    const wanted = new Map(queue.tickets.map((t, n) => [t.ticketId, n % 2 === 0 ? a! : b!]));
    const ids = [...wanted.keys()];
    const labelsOf = (part: string[]) => Object.fromEntries(part.map((id) => [id, wanted.get(id)!]));

    // Two reviewers at once: neither loses the other's labels.
    const [first, second] = await Promise.all([
      call(stack, 'POST', `/classifications/${clsId}/review`, { labels: labelsOf(ids.slice(0, 10)) }),
      call(stack, 'POST', `/classifications/${clsId}/review`, { labels: labelsOf(ids.slice(10, 20)) }),
    ]);
    assert.equal(first.status, 200, JSON.stringify(first.json));
    assert.equal(second.status, 200, JSON.stringify(second.json));
    assert.deepEqual([first.json.reviewed, second.json.reviewed], [10, 10]);
    assert.deepEqual([first.json.total, second.json.total].sort(), [10, 20]);
    const csv =
      'ticket_id,label\n' +
      ids
        .slice(20)
        .map((id) => `${id},${wanted.get(id)}`)
        .join('\n') +
      '\n';
    const fromCsv = await call(stack, 'POST', `/classifications/${clsId}/review`, csv, {
      'content-type': 'text/csv',
    });
    assert.equal(fromCsv.status, 200, JSON.stringify(fromCsv.json));
    assert.deepEqual(fromCsv.json, { reviewed: 6, total: 26 });

    const file = await stack.runs.artifacts.getJson<ReviewsFile>(classificationKey(clsId, REVIEWS_FILE));
    assert.deepEqual({ ...file.labels }, Object.fromEntries(wanted));
    assert.equal(file.model, runId);
    const again = (await call(stack, 'GET', `/classifications/${clsId}/review?limit=26`)).json as ReviewQueue;
    assert.equal(again.reviewed, 26);
    for (const t of again.tickets) assert.equal(t.reviewed, wanted.get(t.ticketId));

    // reviews.json outlives Redis: with the hash gone, the labels are read from it.
    await stack.runs.redis.del(stack.runs.keys.reviews(clsId));
    const fromFile = (await call(stack, 'GET', `/classifications/${clsId}/review?limit=1`))
      .json as ReviewQueue;
    assert.equal(fromFile.reviewed, 26);

    assert.equal(
      (await call(stack, 'GET', '/reviews/export?classification=cls-20990101-000000-abcdef')).status,
      404,
    );
    const exported = await call(stack, 'GET', `/reviews/export?classification=${clsId}`);
    assert.equal(exported.status, 200, JSON.stringify(exported.json));
    const out = exported.json;
    assert.match(out.dataset, /^reviews\/reviews-\d{8}-\d{6}-\d{3}\.json$/);
    assert.equal(out.tickets, 26);
    assert.deepEqual(out.labels, { [a!]: 13, [b!]: 13 });
    assert.equal(out.train.labels, 'category');
    const hits = JSON.parse(fs.readFileSync(path.join(stack.dataDir, out.dataset), 'utf8'));
    assert.equal(hits.length, 26);
    assert.equal(out.latest, 'reviews/latest.json');
    assert.ok(
      fs
        .readFileSync(path.join(stack.dataDir, out.latest))
        .equals(fs.readFileSync(path.join(stack.dataDir, out.dataset))),
      'reviews/latest.json holds the last export, for a schedule to train on',
    );
    for (const h of hits) {
      assert.equal(h._source.reviewed_label, wanted.get(h._id));
      assert.equal(
        h._source[out.train.labelField],
        wanted.get(h._id),
        'the train params read the reviewed label',
      );
      assert.equal(h._source.complaint_what_happened, tickets.find((t) => t.id === h._id)!.text);
    }
    const everything = await call(stack, 'GET', '/reviews/export');
    assert.equal(everything.status, 200, JSON.stringify(everything.json));
    assert.equal(everything.json.tickets, 26);
    // With Redis's reviews gone, the export reads every reviews.json in the store.
    await stack.runs.redis.del(stack.runs.keys.reviewed, stack.runs.keys.reviews(clsId));
    const fromFiles = await call(stack, 'GET', '/reviews/export');
    assert.equal(fromFiles.status, 200, JSON.stringify(fromFiles.json));
    assert.deepEqual(fromFiles.json.labels, out.labels);

    const retrained = await trained(stack, out.dataset, out.train);
    const model = await modelFile(stack, retrained);
    assert.deepEqual([...model.classes].sort(), [a, b].sort(), 'the model knows the reviewed labels');

    // The queue reads texts from the input: a dataset changed since the classification is named as such.
    const sample = path.join(stack.dataDir, 'sample.json');
    const hitsBefore = JSON.parse(fs.readFileSync(sample, 'utf8')) as unknown[];
    fs.writeFileSync(sample, JSON.stringify(hitsBefore.reverse()));
    const changed = await call(stack, 'GET', `/classifications/${clsId}/review?limit=5`);
    assert.equal(changed.status, 400, JSON.stringify(changed.json));
    assert.match(changed.json.error, /changed since classification/);
  });
});
