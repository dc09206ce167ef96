import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';
import { createNounExtractor } from '../../shared/core/nlp/noun-extractor';
import { PROJECT_ROOT } from './paths';

const extract = createNounExtractor();

test('extracts lowercased singular noun lemmas in text order', () => {
  assert.deepEqual(
    extract('The bank charged three late fees on my checking account after the payments cleared.'),
    ['bank', 'fee', 'account', 'payment'],
  );
});

test('skips bracketed spans, masks, digits, stopwords and links', () => {
  const text =
    'On XX/XX/2019 the lender {$25.00} sent letters (see the enclosed copies) [redacted] to XXXX ' +
    'about 2 loans; email me at XXXX@XXXX.com or www.example.org';
  assert.deepEqual(extract(text), ['lender', 'letter', 'loan', 'email']);
});

test('tags the original case: a capitalised unknown word is a proper noun and is not kept', () => {
  assert.deepEqual(extract('Zorblatt refunded the deposit'), ['deposit']);
});

test('suffix rules do not turn known nouns into verbs or adjectives', () => {
  // natural's rules alone make these VBG / JJ / RB; see tagger-corrections and BrillTagger options
  assert.deepEqual(extract('The billing and the withdrawal hurt my family'), [
    'billing',
    'withdrawal',
    'family',
  ]);
});

test('options: keepTags, stopwords, minLength', () => {
  const onlySingular = createNounExtractor({ keepTags: ['NN'] });
  assert.deepEqual(onlySingular('the fees and the account'), ['account']);
  const noStop = createNounExtractor({ stopwords: new Set(['account']) });
  assert.deepEqual(noStop('the fees and the account'), ['fee']);
  const long = createNounExtractor({ minLength: 4 });
  assert.deepEqual(long('the fee and the account'), ['account']);
  const withProper = createNounExtractor({ keepTags: ['NN', 'NNS', 'NNP'] });
  assert.deepEqual(withProper('Zorblatt refunded the deposit'), ['zorblatt', 'deposit']);
});

test('empty and noun-less texts give empty arrays', () => {
  assert.deepEqual(extract(''), []);
  assert.deepEqual(extract('   \n'), []);
  assert.deepEqual(extract('It is what it is.'), []);
});

test('extractors are independent and repeatable', () => {
  const a = createNounExtractor();
  const text = 'Collectors called my employer about the debts twice.';
  assert.deepEqual(a(text), extract(text));
  assert.deepEqual(a(text), a(text));
});

test('importing and using the module prints nothing to stdout and never loads the package root of natural', () => {
  const modulePath = path.join(PROJECT_ROOT, 'dist/shared/core/nlp/noun-extractor.js');
  const script = `
    const { createNounExtractor } = require(${JSON.stringify(modulePath)});
    createNounExtractor()('The bank charged fees.');
    const root = Object.keys(require.cache).filter((k) => /node_modules[\\\\/]natural[\\\\/]lib[\\\\/]natural[\\\\/]index\\.js$/.test(k));
    if (root.length > 0) { process.stderr.write('natural root loaded: ' + root.join(',')); process.exit(3); }
  `;
  const child = spawnSync(process.execPath, ['-e', script], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  assert.equal(child.status, 0, child.stderr);
  assert.equal(child.stdout, '');
});
