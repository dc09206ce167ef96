import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { jsonPieces, putJsonInPieces } from '../../shared/core/io/json-pieces';
import { JsonStreamParser, parseJsonStream } from '../../shared/core/io/json-stream';
import { jsonBytes } from '../../shared/core/store/artifact-store';
import { FileStore } from '../../shared/core/store/file-store';
import { tempDir } from '../helpers/env';

/** Values whose JSON.stringify covers every rule: omissions, toJSON, boxed values, holes, nesting. */
function values(): [string, unknown][] {
  const long = Array.from({ length: 40_000 }, (_, i) => (i % 7 === 0 ? -i / 3 : i * 1e-7));
  // A list with holes (entries never set), which JSON.stringify writes as null.
  const holes: unknown[] = [1];
  holes[2] = 3;
  holes.length = 20_000;
  return [
    ['empties', { a: [], b: {}, c: [[]], d: [{}], e: '' }],
    [
      'scalars and omissions',
      { n: 1, s: 'a\nb"é😀', t: true, z: null, nan: NaN, inf: -Infinity, u: undefined, f: () => 1 },
    ],
    ['list omissions', [undefined, () => 1, Symbol('s'), 1]],
    [
      'toJSON',
      { d: new Date(0), t: { toJSON: (k: string) => `key ${k}` }, l: [{ toJSON: (k: string) => k }] },
    ],
    ['boxed', [new Number(3), new String('s'), new Boolean(false)]],
    ['a long list of numbers', long],
    ['a model-like object', { vocabulary: long.map(String), idf: long, coef: [long, long.map((x) => -x)] }],
    ['a long list of lists', Array.from({ length: 20_000 }, (_, i) => [i, { x: i }])],
    ['holes', holes],
    ['deep', { a: [[1, [2, [3, { b: [long.slice(0, 3)] }]]]] }],
    ['a string', 'text'],
  ];
}

describe('JSON written in pieces', () => {
  const dir = tempDir('json-pieces');
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("joins to jsonBytes's text exactly, a long list in several pieces of bounded size", () => {
    for (const [name, value] of values()) {
      const pieces = [...jsonPieces(value)];
      assert.equal(pieces.join(''), jsonBytes(value), name);
      for (const p of pieces) assert.ok(p.length < 4 << 20, `${name}: a piece of ${p.length} characters`);
    }
    const model = values().find(([n]) => n === 'a model-like object')![1];
    assert.ok([...jsonPieces(model)].length >= 2, 'a 2.7 MB text comes in more than one piece');
  });

  it('writes an artifact with the bytes putJson writes, and nothing when a value fails part-way', async () => {
    const store = new FileStore(dir);
    for (const [i, [name, value]] of values().entries()) {
      await putJsonInPieces(store, `a/${i}.json`, value);
      await store.putJson(`b/${i}.json`, value);
      assert.deepEqual(await store.get(`a/${i}.json`), await store.get(`b/${i}.json`), name);
    }
    const failing = { ok: Array.from({ length: 40_000 }, (_, i) => i), bad: { toJSON: () => 1n } };
    await assert.rejects(putJsonInPieces(store, 'c/failed.json', failing), TypeError);
    assert.equal(await store.stat('c/failed.json'), undefined);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'c')), [], 'no temporary file left');
  });
});

describe('JSON parsed from a stream of bytes', () => {
  /** The document's bytes pushed in pieces of the given sizes, in turn. */
  function parsed(text: string, sizes: number[]): unknown {
    const bytes = Buffer.from(text);
    const parser = new JsonStreamParser('doc');
    for (let at = 0, k = 0; at < bytes.length; k++) {
      const n = sizes[k % sizes.length]!;
      parser.push(bytes.subarray(at, at + n));
      at += n;
    }
    return parser.end();
  }

  it("gives JSON.parse's value however the bytes are cut, escapes, numbers and repeated keys included", async () => {
    const docs = [
      ...values().map(([, v]) => jsonBytes(v)),
      ' {"a" : [ 1 , -0, 1.5e-3, 1E+2, 1e400, 123456789012345678901234567890 ] }\n',
      '{"s": "\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00", "a": 1, "a": 2}',
      '"é😀"',
      'null',
    ];
    for (const doc of docs) {
      const expected = JSON.parse(doc) as unknown;
      for (const sizes of [[1], [2, 3], [5, 1, 13], [1 << 20]])
        assert.deepEqual(
          parsed(doc, sizes),
          expected,
          `${doc.slice(0, 40)} in pieces of ${sizes.join(', ')}`,
        );
    }
    const stream = (async function* () {
      yield Buffer.from('{"x": [1, 2');
      yield Buffer.from(', 3]}');
    })();
    assert.deepEqual(await parseJsonStream(stream, 'doc'), { x: [1, 2, 3] });
  });

  it('makes "__proto__" an own key, as JSON.parse does', () => {
    const v = parsed('{"__proto__": {"polluted": true}}', [3]) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(v), Object.prototype);
    assert.deepEqual(Object.keys(v), ['__proto__']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('refuses what JSON.parse refuses, naming the byte', () => {
    const cases: [string, RegExp][] = [
      ['', /ends early at byte 0/],
      ['[1,]', /unexpected "\]" at byte 3/],
      ['{"a":1,}', /expected a key at byte 7/],
      ['{"a" 1}', /expected ":" at byte 5/],
      ['[1 2]', /expected "," or "\]" at byte 3/],
      ['[1]x', /unexpected "x" after the value at byte 3/],
      ['{a:1}', /expected a key at byte 1/],
      ['"abc', /a string that does not end at byte 0/],
      ['"\u0001"', /a bad string at byte 0/],
      ['[1, toString]', /unexpected "toString" at byte 4/],
      ['[01, 1., .5, +1]', /unexpected "01" at byte 1/],
      ['{"a": [', /ends early at byte 7/],
    ];
    for (const [doc, message] of cases) {
      assert.throws(() => JSON.parse(doc) as unknown, SyntaxError, `JSON.parse refuses ${doc}`);
      for (const sizes of [[1], [1 << 20]])
        assert.throws(
          () => parsed(doc, sizes),
          (err: Error) =>
            err instanceof SyntaxError && /^doc is not JSON: /.test(err.message) && message.test(err.message),
          doc,
        );
    }
  });
});
