import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  DEFAULT_COUNT,
  DEFAULT_SEED,
  generateSample,
  productQuotas,
  serializeSample,
  type ComplaintHit,
} from '../../tools/sample/generate';
import { parseArgs } from '../../tools/sample/make-sample';
import { PRODUCTS } from '../../tools/sample/vocabulary';

// Compiled to dist/test/sample/: the script is in dist/, the committed sample in the project tree.
const SCRIPT = path.resolve(__dirname, '../../tools/sample/make-sample.js');
const COMMITTED = path.resolve(__dirname, '../../../shared/sample/complaints-sample.json');

const SOURCE_KEYS = [
  'tags',
  'zip_code',
  'complaint_id',
  'issue',
  'date_received',
  'state',
  'consumer_disputed',
  'product',
  'company_response',
  'company',
  'submitted_via',
  'date_sent_to_company',
  'company_public_response',
  'sub_product',
  'timely',
  'complaint_what_happened',
  'sub_issue',
  'consumer_consent_provided',
];
const NULLABLE = new Set([
  'tags',
  'zip_code',
  'state',
  'company_public_response',
  'sub_product',
  'sub_issue',
  'consumer_consent_provided',
]);
const DATE = /^\d{4}-\d{2}-\d{2}T12:00:00-05:00$/;

const defaults = generateSample();

function words(text: string): number {
  return text.trim() === '' ? 0 : text.trim().split(/\s+/).length;
}

function median(values: number[]): number {
  const sorted = values.slice().sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'make-sample-'));
}

describe('make-sample: determinism', () => {
  it('gives byte-identical output for the same seed', () => {
    assert.equal(
      serializeSample(generateSample({ count: 300, seed: 99 })),
      serializeSample(generateSample({ count: 300, seed: 99 })),
    );
  });

  it('gives different output for a different seed', () => {
    const a = generateSample({ count: 300, seed: 1 });
    const b = generateSample({ count: 300, seed: 2 });
    assert.notEqual(serializeSample(a), serializeSample(b));
    const same = a.filter(
      (h, i) => h._source.complaint_what_happened === b[i]?._source.complaint_what_happened,
    );
    assert.ok(same.length < 30, `${same.length} identical narratives`); // only the empty ones may coincide
  });

  it('the committed sample equals a fresh generation with the defaults (regenerate with npm run make:sample)', () => {
    const committed = fs.readFileSync(COMMITTED, 'utf8');
    assert.ok(committed === serializeSample(defaults), `${COMMITTED} differs from the generator's output`);
  });
});

describe('make-sample: schema', () => {
  it('writes hits in the Kaggle layout with the 18 _source fields in order', () => {
    const ids = new Set<string>();
    for (const hit of defaults) {
      assert.deepEqual(Object.keys(hit), ['_index', '_type', '_id', '_score', '_source']);
      assert.equal(hit._index, 'complaint-public-v2');
      assert.equal(hit._type, 'complaint');
      assert.match(hit._id, /^\d{7}$/);
      assert.equal(hit._score, 0);
      assert.ok(!ids.has(hit._id), `duplicate _id ${hit._id}`);
      ids.add(hit._id);
      const src = hit._source;
      assert.deepEqual(Object.keys(src), SOURCE_KEYS);
      for (const [key, value] of Object.entries(src)) {
        if (value === null) assert.ok(NULLABLE.has(key), `${hit._id}: ${key} is null`);
        else assert.equal(typeof value, 'string', `${hit._id}: ${key}`);
      }
      assert.equal(src.complaint_id, hit._id);
      assert.match(src.date_received, DATE);
      assert.match(src.date_sent_to_company, DATE);
      assert.ok(src.date_sent_to_company >= src.date_received);
      if (src.zip_code !== null) assert.match(src.zip_code, /^\d{3}(\d{2}|XX)$/);
      if (src.state !== null) assert.match(src.state, /^[A-Z]{2}$/);
      assert.equal(src.timely === 'No', src.company_response === 'Untimely response');
      const spec = PRODUCTS.find((p) => p.product === src.product);
      assert.ok(spec, `unknown product ${src.product}`);
      assert.ok(src.sub_product === null || spec.subProducts.some(([name]) => name === src.sub_product));
      assert.ok(spec.issues.some((i) => i.issue === src.issue && i.subIssues.includes(src.sub_issue)));
    }
  });

  it('ids and dates grow along the file', () => {
    for (let i = 1; i < defaults.length; i++) {
      const [prev, cur] = [defaults[i - 1] as ComplaintHit, defaults[i] as ComplaintHit];
      assert.ok(Number(cur._id) > Number(prev._id));
      assert.ok(cur._source.date_received >= prev._source.date_received);
    }
  });

  it('serializes one hit per line with "_score":0.0 and parses back to the same hits', () => {
    const text = serializeSample(defaults);
    const lines = text.split('\n');
    assert.equal(lines.length, defaults.length + 3); // "[", hits, "]", "" after the final newline
    assert.ok(lines[1]?.includes('"_score":0.0,"_source"'));
    assert.deepEqual(JSON.parse(text), defaults);
  });
});

describe('make-sample: content', () => {
  it(`has ${DEFAULT_COUNT} tickets over ${PRODUCTS.length} products in the configured mix`, () => {
    assert.equal(defaults.length, DEFAULT_COUNT);
    const counts = new Map<string, number>();
    for (const h of defaults) counts.set(h._source.product, (counts.get(h._source.product) ?? 0) + 1);
    assert.ok(counts.size >= 5);
    const quotas = productQuotas(DEFAULT_COUNT);
    PRODUCTS.forEach((p, i) => assert.equal(counts.get(p.product), quotas[i], p.product));
    for (const n of counts.values()) assert.ok(n >= 0.05 * DEFAULT_COUNT);
  });

  it('has ~5% empty narratives and a few null sub_products, with consent fields to match', () => {
    const empty = defaults.filter((h) => h._source.complaint_what_happened === '');
    assert.equal(empty.length, Math.round(0.05 * DEFAULT_COUNT));
    for (const h of defaults) {
      const hasText = h._source.complaint_what_happened !== '';
      assert.equal(h._source.consumer_consent_provided === 'Consent provided', hasText);
    }
    const nullSub = defaults.filter((h) => h._source.sub_product === null).length;
    assert.ok(nullSub > 0 && nullSub < 0.1 * DEFAULT_COUNT, `${nullSub} null sub_products`);
  });

  it('writes narratives of realistic length and shape', () => {
    const texts = defaults.map((h) => h._source.complaint_what_happened).filter((t) => t !== '');
    const lengths = texts.map(words);
    const med = median(lengths);
    assert.ok(med >= 90 && med <= 130, `median ${med} words`);
    assert.ok(Math.min(...lengths) >= 20 && Math.max(...lengths) <= 320);
    assert.ok(new Set(texts).size === texts.length, 'duplicate narratives');
    for (const t of texts) {
      assert.match(t, /^[A-Z]/);
      assert.match(t, /[.!?]$/);
      assert.doesNotMatch(t, /[@|[\]]/, 'unexpanded template syntax');
      assert.doesNotMatch(t, / {2}/);
    }
    const all = texts.join(' ');
    for (const mask of ['XX/XX/XXXX', 'XXXX', '{$']) assert.ok(all.includes(mask), mask);
  });

  it('uses product vocabulary that separates the product groups', () => {
    const rate = (product: string, word: RegExp): number => {
      const texts = defaults.filter(
        (h) => h._source.product === product && h._source.complaint_what_happened !== '',
      );
      return texts.filter((h) => word.test(h._source.complaint_what_happened)).length / texts.length;
    };
    assert.ok(rate('Mortgage', /\b(mortgage|escrow)\b/i) > 0.9);
    assert.ok(rate('Debt collection', /\b(mortgage|escrow)\b/i) < 0.2);
    assert.ok(rate('Checking or savings account', /\b(deposit|overdraft|branch|bank)\b/i) > 0.9);
    assert.ok(
      rate(
        'Credit reporting, credit repair services, or other personal consumer reports',
        /\b(report|bureau|inquiries)\b/i,
      ) > 0.9,
    );
  });
});

describe('make-sample: command line', () => {
  it('parses its options', () => {
    assert.deepEqual(parseArgs([]).count, DEFAULT_COUNT);
    assert.equal(parseArgs([]).seed, DEFAULT_SEED);
    assert.equal(parseArgs([]).out, COMMITTED);
    const args = parseArgs(['--count', '10', '--seed=5', '--out', 'x.json']);
    assert.deepEqual(args, { count: 10, seed: 5, out: path.resolve('x.json'), help: false });
    assert.throws(() => parseArgs(['--count', 'ten']), RangeError);
    assert.throws(() => parseArgs(['--count', '0']), RangeError);
    assert.throws(() => parseArgs(['--seed', '4294967296']), RangeError);
    assert.throws(() => parseArgs(['--seed']), RangeError);
    assert.throws(() => parseArgs(['--bogus']), RangeError);
  });

  it('writes --out atomically and leaves no temporary file', () => {
    const dir = tempDir();
    try {
      const out = path.join(dir, 'nested', 'sample.json');
      execFileSync(process.execPath, [SCRIPT, '--out', out, '--count', '40', '--seed', '7'], {
        stdio: 'pipe',
      });
      assert.deepEqual(fs.readdirSync(path.dirname(out)), ['sample.json']);
      assert.equal(fs.readFileSync(out, 'utf8'), serializeSample(generateSample({ count: 40, seed: 7 })));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('prints help, and rejects bad arguments with exit code 2', () => {
    const help = spawnSync(process.execPath, [SCRIPT, '--help'], { encoding: 'utf8' });
    assert.equal(help.status, 0);
    assert.match(help.stdout, /--count N/);
    const dir = tempDir();
    try {
      const out = path.join(dir, 'sample.json');
      const bad = spawnSync(process.execPath, [SCRIPT, '--count', '0', '--out', out], { encoding: 'utf8' });
      assert.equal(bad.status, 2);
      assert.match(bad.stderr, /--count must be an integer from 1/);
      assert.ok(!fs.existsSync(out));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    const unknown = spawnSync(process.execPath, [SCRIPT, '--nope'], { encoding: 'utf8' });
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /unknown argument/);
  });
});
