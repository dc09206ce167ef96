import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  JsonArrayScanner,
  JsonScanError,
  type JsonElement,
} from '../../shared/core/dataset/json-array-scanner';

/** Feeds `bytes` in pieces of `size` bytes and returns all elements. */
function scan(bytes: Buffer, size: number): JsonElement[] {
  const s = new JsonArrayScanner();
  const out: JsonElement[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(...s.push(bytes.subarray(i, i + size)));
  out.push(...s.end());
  return out;
}

const TRICKY = [
  { a: 'quote " and backslash \\ and \\" and \\\\"', b: [1, { c: '}]' }] },
  'a string element with ] and , inside',
  { emoji: '😀 naïve café 日本語 ß', esc: '\u0001\n\t\\u00e9' },
  [],
  {},
  42,
  -1.5e3,
  true,
  null,
  { deep: [[[[{ x: '\\\\' }]]]] },
];

test('elements come out whole and parse back, for every chunk size', () => {
  const text = ' \n[ ' + TRICKY.map((v) => JSON.stringify(v, null, 1)).join(' ,\n') + ' ]\n ';
  const bytes = Buffer.from(text, 'utf8');
  for (const size of [1, 2, 3, 5, 7, 64, bytes.length]) {
    const els = scan(bytes, size);
    assert.deepEqual(
      els.map((e) => JSON.parse(e.text) as unknown),
      TRICKY,
      `chunk size ${size}`,
    );
    assert.deepEqual(
      els.map((e) => e.index),
      TRICKY.map((_, i) => i),
    );
    for (const e of els)
      assert.equal(bytes.subarray(e.offset, e.offset + Buffer.byteLength(e.text)).toString('utf8'), e.text);
  }
});

test('multi-byte UTF-8 characters cut by chunk boundaries decode whole', () => {
  const values = [{ t: '€'.repeat(50) + '😀'.repeat(50) }, { t: 'Ωmega' }];
  const bytes = Buffer.from(JSON.stringify(values));
  for (const size of [1, 2, 3, 4, 5]) {
    assert.deepEqual(
      scan(bytes, size).map((e) => JSON.parse(e.text) as unknown),
      values,
    );
  }
});

test('a byte order mark and an empty array are fine', () => {
  assert.deepEqual(
    scan(Buffer.from('\ufeff[{"a":1}]'), 1).map((e) => e.text),
    ['{"a":1}'],
  );
  assert.deepEqual(scan(Buffer.from('[ ]'), 1), []);
});

function scanError(text: string): JsonScanError {
  try {
    scan(Buffer.from(text), 3);
  } catch (err) {
    assert.ok(err instanceof JsonScanError, String(err));
    return err;
  }
  assert.fail(`no error for ${text}`);
}

test('structure errors name the problem and the byte offset', () => {
  assert.match(scanError('{"a": 1}').message, /top level is not a JSON array.*'\{'/);
  assert.equal(scanError('  x').offset, 2);
  assert.match(scanError('').message, /empty/);
  assert.match(scanError('[{"a":1} {"b":2}]').message, /expected ',' or ']' after record 0/);
  assert.match(scanError('[{"a":1},]').message, /expected record 1/);
  assert.match(scanError('[{"a":1}] x').message, /after the array's closing/);
  const truncated = scanError('[{"a":1},{"b":"unterminated');
  assert.match(truncated.message, /truncated.*record 1.*inside a string/);
  assert.equal(truncated.record, 1);
  assert.match(scanError('[{"a":1}').message, /truncated/);
  assert.match(scanError('[{"a":{"b":1}').message, /truncated.*record 0/);
  assert.match(scanError('[1, 2').message, /truncated/);
});

test('a malformed bare literal becomes its own element (JSON.parse reports it)', () => {
  const els = scan(Buffer.from('[tru, 1,nul]'), 2);
  assert.deepEqual(
    els.map((e) => e.text),
    ['tru', '1', 'nul'],
  );
});
