import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jsonBytes } from '../../shared/core/store/artifact-store';
import { readJsonObject, writeJsonObject } from '../../shared/core/io/json-lists';
import { openStore } from '../../shared/core/store/open-store';
import { readSplitFile, writeSplitFile } from '../../shared/pipeline/stages/transform-split/split-file';
import { Rng } from '../../shared/core/numeric/random';
import { testConfig } from '../helpers/env';

/** Doubles JSON writes in every shape: exponents both ways, integers, negative zero, subnormals. */
const AWKWARD = [0, -0, 1, 0.1, 1 / 3, 1e-7, 1.5e-300, 5e-324, 1e21, 123456789012, -2.5, 0.999999999999];

describe('JSON files of long number lists (json-lists.ts)', () => {
  it('writes the bytes jsonBytes writes, for lists of any length and rows of any width, in pieces', async () => {
    const store = openStore(testConfig().storage);
    const rng = new Rng(7);
    // 300,000 rows: several 1 MiB pieces of text.
    for (const [n, width] of [
      [0, 3],
      [1, 1],
      [5, 2],
      [300_000, 3],
    ] as const) {
      const rows = Int32Array.from({ length: n }, (_, i) => (i * 7919) % 1_000_003);
      const values = Float64Array.from({ length: n * width }, (_, i) =>
        i < AWKWARD.length ? AWKWARD[i]! : rng.nextFloat(),
      );
      const key = `runs/json-lists/p-${n}.json`;
      await writeJsonObject(store, key, async (w) => {
        w.value('meta', { name: 'x "quoted"\n', list: [1, 2], nested: { a: [] } });
        await w.numbers('rows', rows);
        await w.rows('probabilities', values, width);
        w.value('omitted', undefined);
        w.value('last', true);
      });
      const expected = jsonBytes({
        meta: { name: 'x "quoted"\n', list: [1, 2], nested: { a: [] } },
        rows: Array.from(rows),
        probabilities: Array.from({ length: n }, (_, r) =>
          Array.from(values.subarray(r * width, (r + 1) * width)),
        ),
        omitted: undefined,
        last: true,
      });
      assert.equal((await store.get(key)).toString('utf8'), expected, `${n} rows of ${width}`);
    }
    await writeJsonObject(store, 'runs/json-lists/empty.json', async () => undefined);
    assert.equal((await store.get('runs/json-lists/empty.json')).toString(), jsonBytes({}));
  });

  it('leaves nothing when the object cannot be finished', async () => {
    const store = openStore(testConfig().storage);
    const key = 'runs/json-lists/failed.json';
    await assert.rejects(
      writeJsonObject(store, key, async (w) => {
        await w.numbers('rows', new Int32Array(10));
        await w.rows('probabilities', new Float64Array(10), 3);
      }),
      /10 values are not rows of 3/,
    );
    assert.equal(await store.stat(key), undefined);
  });

  it('reads integer lists into typed arrays from any JSON layout, the other fields as JSON.parse does', () => {
    const value = {
      seed: 42,
      train: [3, 0, -5, 2147483647, -2147483648],
      test: [],
      note: 'a, "b" [c]',
      x: [1.5],
    };
    for (const text of [
      JSON.stringify(value),
      jsonBytes(value),
      ` \r\n${JSON.stringify(value, null, '\t')}\t`,
    ]) {
      const read = readJsonObject(Buffer.from(text), 'f.json', ['train', 'test']);
      assert.deepEqual(Array.from(read.lists.get('train')!), value.train);
      assert.ok(read.lists.get('test') instanceof Int32Array);
      assert.equal(read.lists.get('test')!.length, 0);
      assert.deepEqual(Object.fromEntries(read.values), { seed: 42, note: value.note, x: [1.5] });
    }
  });

  it('refuses what is not such an object, naming the file and the byte', () => {
    const bad: [string, RegExp][] = [
      ['[1, 2]', /f\.json: expected a JSON object at byte 0/],
      ['{"train": [1, 2.5]}', /expected "," or "\]" after a list entry at byte 15/],
      ['{"train": [1, 2147483648]}', /out of the int32 range/],
      ['{"train": [01]}', /expected an integer/],
      ['{"train": ["1"]}', /expected an integer/],
      ['{"train": [1,]}', /expected an integer/],
      ['{"train": [1]', /expected "," or "}"/],
      ['{"train": [1]} x', /unexpected bytes after the object/],
      ['{"seed": 1}', /no "train" field/],
      ['{"train": [], "seed": tru}', /expected a JSON value/],
    ];
    for (const [text, error] of bad)
      assert.throws(() => readJsonObject(Buffer.from(text), 'f.json', ['train']), error, text);
  });

  it('split.json round-trips through the store, and a broken one fails naming it', async () => {
    const store = openStore(testConfig().storage);
    const split = {
      seed: 42,
      testSize: 0.3,
      stratified: true,
      train: Int32Array.from([5, 1, 9, 0]),
      test: Int32Array.from([2, 3]),
    };
    await writeSplitFile(store, 'runs/json-lists/split.json', split);
    assert.equal(
      (await store.get('runs/json-lists/split.json')).toString(),
      jsonBytes({ ...split, train: Array.from(split.train), test: Array.from(split.test) }),
    );
    assert.deepEqual(await readSplitFile(store, 'runs/json-lists/split.json'), split);
    await store.putJson('runs/json-lists/split-bad.json', { seed: '42', testSize: 0.3, train: [], test: [] });
    await assert.rejects(
      readSplitFile(store, 'runs/json-lists/split-bad.json'),
      /split-bad\.json: seed, testSize and stratified must be two numbers and a boolean/,
    );
  });
});
