import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';
import { readTickets } from '../../shared/core/dataset/read-tickets';
import { createNounExtractor, createNounLemmatizer } from '../../shared/core/nlp/noun-extractor';
import { tokenizeWords } from '../../shared/core/nlp/tokenize';
import { DEV_FILE, PROJECT_ROOT, skipUnless } from './paths';

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

/**
 * The extractor's steps on strings: tokenizeWords (no scan hashes), tagIdsOf (a fresh WordTable per text,
 * not one kept and cleared across texts) and the lemmatizer's Map caches (not arrays by word id).
 */
function extractByStrings(): (text: string) => string[] {
  const lemmatizer = createNounLemmatizer();
  return (text) => {
    const words = tokenizeWords(text);
    const tags = lemmatizer.tagger.tagIdsOf(words);
    const out: string[] = [];
    words.forEach((w, i) => {
      const lemma = lemmatizer.lemmaOf(w, tags[i]!);
      if (lemma !== null) out.push(lemma);
    });
    return out;
  };
}

test('the extractor, by word ids, gives the lemmas of the same steps on strings', () => {
  const byStrings = extractByStrings();
  const texts = [
    'The bank charged three late fees on my checking account after the payments cleared.',
    'Mail john.doe@example.com or see https://www.x.gov/a?b=1, the {$20.00} fee (twice) [redacted] ok',
    'Collectors called my employer; collectors CALLED again. Жду ответа about the proper sequence of fees',
    '__proto__ constructor toString the hasOwnProperty accounts',
  ];
  const a = createNounExtractor();
  for (const text of [...texts, ...texts]) assert.deepEqual(a(text), byStrings(text), text);
});

test('the extractor still agrees after its word table reaches its bound and is cleared', () => {
  const byStrings = extractByStrings();
  const a = createNounExtractor();
  // 210,000 distinct words (over the 200,000 bound), then words met before the clear.
  const many = Array.from({ length: 210_000 }, (_, i) => `zq${i.toString(36)}`).join(' ');
  assert.deepEqual(a(many), byStrings(many));
  const text = 'The lender sent letters about the loans and the fees; the lender called.';
  assert.deepEqual(a(text), byStrings(text));
  assert.deepEqual(a(text), ['lender', 'letter', 'loan', 'fee', 'lender']);
});

test(
  'the extractor, by word ids, agrees with the steps on strings on 3,000 complaint narratives',
  { skip: skipUnless(DEV_FILE) },
  async () => {
    const byStrings = extractByStrings();
    const a = createNounExtractor();
    let compared = 0;
    let nouns = 0;
    const diffs: number[] = [];
    await readTickets(DEV_FILE, (rec) => {
      if (rec.index % 5 !== 0 || compared >= 3000) return;
      compared++;
      const mine = a(rec.narrative);
      nouns += mine.length;
      if (mine.join(' ') !== byStrings(rec.narrative).join(' ') && diffs.length < 5) diffs.push(rec.index);
    });
    assert.equal(compared, 3000);
    assert.ok(nouns > 50_000, `${nouns} nouns`);
    assert.deepEqual(diffs, []);
  },
);
