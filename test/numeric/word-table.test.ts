import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashRange, WordTable } from '../../shared/core/numeric/word-table';

test('the same characters get the same id wherever they stand; other words other ids', () => {
  const table = new WordTable((w) => w.length);
  const text = 'fee account fee Fee accounts';
  const fee = table.idOf(text, 0, 3);
  assert.equal(table.idOf(text, 12, 15), fee);
  assert.equal(table.idOf('my fee', 3, 6), fee);
  const account = table.idOf(text, 4, 11);
  const upper = table.idOf(text, 16, 19);
  const plural = table.idOf(text, 20, 28);
  assert.equal(new Set([fee, account, upper, plural]).size, 4);
  assert.deepEqual([fee, account, upper, plural], [0, 1, 2, 3]);
  assert.deepEqual(
    [fee, account, upper, plural].map((id) => [table.word(id), table.info(id)]),
    [
      ['fee', 3],
      ['account', 7],
      ['Fee', 3],
      ['accounts', 8],
    ],
  );
  assert.equal(table.size, 4);
});

test('classify runs once per distinct word', () => {
  const seen: string[] = [];
  const table = new WordTable((w) => {
    seen.push(w);
    return 0;
  });
  for (const w of ['a', 'b', 'a', 'a', 'b', 'c']) table.idOf(w, 0, w.length);
  assert.deepEqual(seen, ['a', 'b', 'c']);
});

test('growing past its first capacity keeps every id, word and info', () => {
  const table = new WordTable((w) => Number(w.slice(1)) * 7);
  const n = 20_000;
  for (let i = 0; i < n; i++) assert.equal(table.idOf(` w${i} `, 1, String(i).length + 2), i);
  assert.equal(table.size, n);
  for (let i = 0; i < n; i++) {
    const w = `w${i}`;
    assert.equal(table.idOf(w, 0, w.length), i);
    assert.equal(table.word(i), w);
    assert.equal(table.info(i), i * 7);
  }
});

test('words of equal hash are told apart by their characters', () => {
  // A birthday search: among up to 2,000,000 words some pairs share a 32-bit hash.
  const byHash = new Map<number, string>();
  const pairs: [string, string][] = [];
  for (let i = 0; i < 2_000_000 && pairs.length < 3; i++) {
    const w = `word${i}`;
    const h = hashRange(w, 0, w.length);
    const other = byHash.get(h);
    if (other !== undefined) pairs.push([other, w]);
    else byHash.set(h, w);
  }
  assert.ok(pairs.length > 0, 'no collision found');
  const table = new WordTable((w) => w.length);
  for (const [a, b] of pairs) {
    const idA = table.idOf(a, 0, a.length);
    const idB = table.idOf(b, 0, b.length);
    assert.notEqual(idA, idB, `${a} / ${b}`);
    assert.equal(table.idOf(a, 0, a.length), idA);
    assert.equal(table.idOf(b, 0, b.length), idB);
    assert.deepEqual([table.word(idA), table.word(idB)], [a, b]);
  }
});

test('clear forgets every word', () => {
  const table = new WordTable((w) => w.length);
  table.idOf('alpha', 0, 5);
  table.idOf('beta', 0, 4);
  table.clear();
  assert.equal(table.size, 0);
  assert.equal(table.idOf('beta', 0, 4), 0);
  assert.equal(table.word(0), 'beta');
  assert.equal(table.info(0), 4);
  assert.equal(table.idOf('alpha', 0, 5), 1);
});

test('the empty range is a word too', () => {
  const table = new WordTable(() => 5);
  const id = table.idOf('abc', 1, 1);
  assert.equal(table.word(id), '');
  assert.equal(table.idOf('', 0, 0), id);
});
