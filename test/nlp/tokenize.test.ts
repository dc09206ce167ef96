import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scanTokens, TokenBounds, tokenBufferSize, tokenizeWords } from '../../shared/core/nlp/tokenize';
import { hashRange } from '../../shared/core/numeric/word-table';

const { WordTokenizer } = require('natural/lib/natural/tokenizers/regexp_tokenizer') as {
  WordTokenizer: new () => { tokenize(text: string): string[] };
};
const natural = new WordTokenizer();

/** Deterministic pseudo-random generator (tests must not flake). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

test("same tokens as natural's WordTokenizer on text without brackets or links", () => {
  // characters that exercise every class: ASCII letters/digits/_, Cyrillic, accents, punctuation, space
  const alphabet = 'abcXYZ019_ äéЖжё\'-,;!?"\t\n' + '\u00a0\u2014';
  const next = rng(42);
  for (let n = 0; n < 3000; n++) {
    let text = '';
    const len = Math.floor(next() * 40);
    for (let i = 0; i < len; i++) text += alphabet[Math.floor(next() * alphabet.length)]!;
    assert.deepEqual(tokenizeWords(text), natural.tokenize(text), JSON.stringify(text));
  }
  const sample = 'I didn\'t get my $1,200.50 refund; the rep\'s e-mail said "wait" — Жду ответа.';
  assert.deepEqual(tokenizeWords(sample), natural.tokenize(sample));
});

test('bracketed spans are removed like /\\{[^{}]*\\}|\\[[^[\\]]*\\]|\\([^()]*\\)/g replaced by a space', () => {
  const regex = /\{[^{}]*\}|\[[^[\]]*\]|\([^()]*\)/g;
  const alphabet = 'ab {}[]()';
  const next = rng(7);
  for (let n = 0; n < 5000; n++) {
    let text = '';
    const len = Math.floor(next() * 24);
    for (let i = 0; i < len; i++) text += alphabet[Math.floor(next() * alphabet.length)]!;
    assert.deepEqual(tokenizeWords(text), natural.tokenize(text.replace(regex, ' ')), JSON.stringify(text));
  }
  assert.deepEqual(tokenizeWords('paid {$20.00} on [date] (twice) ok'), ['paid', 'on', 'ok']);
  assert.deepEqual(tokenizeWords('a (b (c) d) e'), ['a', 'b', 'd', 'e']);
  assert.deepEqual(tokenizeWords('open ( never closed'), ['open', 'never', 'closed']);
});

test('many unmatched brackets cost linear time', () => {
  const text = '( a '.repeat(200_000) + ')';
  const t0 = process.hrtime.bigint();
  // regex semantics: only the last "( a )" is a span
  assert.equal(tokenizeWords(text).length, 199_999);
  assert.ok(Number(process.hrtime.bigint() - t0) / 1e6 < 2000);
});

test('links are one token (with their punctuation), the rest splits as usual', () => {
  assert.deepEqual(tokenizeWords('Mail john.doe@example.com now'), ['Mail', 'john.doe@example.com', 'now']);
  assert.deepEqual(tokenizeWords('see https://www.x.gov/a?b=1, ok'), [
    'see',
    'https://www.x.gov/a?b=1,',
    'ok',
  ]);
  assert.deepEqual(tokenizeWords('visit www.consumerfinance.gov.'), ['visit', 'www.consumerfinance.gov.']);
  assert.deepEqual(tokenizeWords('XXXX@XXXX.com wrote'), ['XXXX@XXXX.com', 'wrote']);
  assert.deepEqual(tokenizeWords('U.S. Bank e.g. fees at 10:30 a.m.'), [
    'U',
    'S',
    'Bank',
    'e',
    'g',
    'fees',
    'at',
    '10',
    '30',
    'a',
    'm',
  ]);
  assert.deepEqual(tokenizeWords('the abc.comet flew'), ['the', 'abc', 'comet', 'flew']);
  assert.deepEqual(tokenizeWords('(x) mail:a@b.com'), ['mail:a@b.com']);
});

test('start offsets and buffer reuse', () => {
  const out = ['stale'];
  const starts = [99];
  tokenizeWords(' ab {x} cd@e.org fg', out, starts);
  assert.deepEqual(out, ['ab', 'cd@e.org', 'fg']);
  assert.deepEqual(starts, [1, 8, 17]);
});

test('scanTokens: the tokens of tokenizeWords as offsets, each with its hashRange, in a reused buffer', () => {
  const bounds = new TokenBounds();
  const texts = [
    ' ab {x} cd@e.org fg',
    'Mail john.doe@example.com now, see https://www.x.gov/a?b=1, ok',
    'U.S. Bank e.g. fees at 10:30 a.m. (twice) [redacted] Жду ответа',
    'a '.repeat(2000),
    'x',
    '',
  ];
  for (const text of texts) {
    const n = scanTokens(text, bounds);
    const words = tokenizeWords(text);
    assert.equal(n, words.length, text);
    assert.equal(bounds.count, n);
    for (let t = 0; t < n; t++) {
      assert.equal(text.slice(bounds.starts[t], bounds.ends[t]), words[t]);
      assert.equal(bounds.hashes[t], hashRange(text, bounds.starts[t]!, bounds.ends[t]!), words[t]);
    }
  }
});

test('per-token buffers grow for a huge text and are let go at the next ordinary one', () => {
  assert.equal(tokenBufferSize(256, 10), 256);
  assert.equal(tokenBufferSize(256, 300), 600);
  // kept while under 65,536 entries, whatever the next text needs
  assert.equal(tokenBufferSize(60_000, 5), 60_000);
  // a huge text's buffer: kept for texts that need more than a quarter of it, let go for smaller ones
  assert.equal(tokenBufferSize(1_000_000, 300_000), 1_000_000);
  assert.equal(tokenBufferSize(1_000_000, 1_000), 2_000);
  const bounds = new TokenBounds();
  scanTokens('ab '.repeat(500_000), bounds);
  assert.ok(bounds.starts.length >= 500_000);
  assert.equal(scanTokens('one two', bounds), 2);
  assert.ok(bounds.starts.length < 65_536, `${bounds.starts.length}`);
  assert.deepEqual([bounds.starts[1], bounds.ends[1]], [4, 7]);
});
