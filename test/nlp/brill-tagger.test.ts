/**
 * BrillTagger must give exactly natural's tags (same lexicon, same rules, same order, same quirks).
 * The comparison runs natural's own BrillPOSTagger, deep-imported, on the same token sequences.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { test } from 'node:test';
import { readTickets } from '../../shared/core/dataset/read-tickets';
import { BrillTagger, englishBrillTagger, naturalEnglishData } from '../../shared/core/nlp/brill-tagger';
import { parseConllu } from '../../tools/eval/pos-eval';
import { EXTRA_LEXICON, EXTRA_RULES } from '../../shared/core/nlp/tagger-corrections';
import { tokenizeWords } from '../../shared/core/nlp/tokenize';
import { WordTable } from '../../shared/core/numeric/word-table';
import { DEV_FILE, EWT_FILE, skipUnless } from './paths';

interface NaturalLexicon {
  lexicon: Record<string, readonly string[]>;
}
interface NaturalRuleSet {
  addRule(rule: unknown): boolean;
}
interface NaturalTagger {
  tag(words: readonly string[]): { taggedWords: { token: string; tag: string | undefined }[] };
}
const natural = require('natural/lib/natural/brill_pos_tagger') as {
  BrillPOSTagger: new (lexicon: NaturalLexicon, rules: NaturalRuleSet) => NaturalTagger;
  Lexicon: new (
    language: string,
    defaultCategory: string,
    defaultCategoryCapitalised: string,
  ) => NaturalLexicon;
  RuleSet: new (language: string) => NaturalRuleSet;
};
const TransformationRule = require('natural/lib/natural/brill_pos_tagger/lib/TransformationRule') as new (
  c1: string,
  c2: string,
  predicate: string,
  p1?: string,
  p2?: string,
) => unknown;

/** natural's tagger, optionally with our corrections added through its own extension mechanisms. */
function naturalTagger(withCorrections: boolean): (words: readonly string[]) => string[] {
  const lexicon = new natural.Lexicon('EN', 'NN', 'NNP');
  const rules = new natural.RuleSet('EN');
  if (withCorrections) {
    // A copy: Lexicon's own extendedLexicon argument would Object.assign into the shared cached JSON.
    lexicon.lexicon = Object.assign({}, lexicon.lexicon, EXTRA_LEXICON);
    for (const r of EXTRA_RULES) {
      const [c1, c2, pred, p1, p2] = r.split(/\s+/) as [string, string, string, string?, string?];
      rules.addRule(new TransformationRule(c1, c2, pred, p1, p2));
    }
  }
  const tagger = new natural.BrillPOSTagger(lexicon, rules);
  return (words) => tagger.tag([...words]).taggedWords.map((w) => w.tag ?? '');
}

const data = naturalEnglishData();
const plain = new BrillTagger(data.lexicon, data.rules);
const corrected = new BrillTagger(data.lexicon, data.rules, {
  extraLexicon: EXTRA_LEXICON,
  extraRules: EXTRA_RULES,
});
const naturalPlain = naturalTagger(false);
const naturalCorrected = naturalTagger(true);

/** Tag names of `words` through a WordTable (tagWordIds), as stage 1's extractor tags them. */
function tagInterned(tagger: BrillTagger, words: readonly string[]): string[] {
  const table = new WordTable((w) => tagger.wordInfo(w));
  const ids = Int32Array.from(words, (w) => table.idOf(w, 0, w.length));
  const tags = tagger.tagWordIds(table, ids, ids.length, new Uint16Array(ids.length));
  return Array.from(tags, (t) => tagger.nameOf(t));
}

/** Number of tokens whose tags differ, with the first few differences for the failure message. */
function compare(
  sentences: Iterable<readonly string[]>,
  mine: BrillTagger,
  theirs: (w: readonly string[]) => string[],
): { tokens: number; diffs: string[] } {
  let tokens = 0;
  const diffs: string[] = [];
  for (const words of sentences) {
    const a = mine.tag(words);
    const b = theirs(words);
    const c = tagInterned(mine, words);
    tokens += words.length;
    for (let i = 0; i < words.length; i++) {
      if (a[i] !== b[i] && diffs.length < 20)
        diffs.push(`${words[i - 1] ?? ''} ${words[i]}: ours ${a[i]}, natural ${b[i]}`);
      if (c[i] !== b[i] && diffs.length < 20)
        diffs.push(`${words[i - 1] ?? ''} ${words[i]}: ours by word ids ${c[i]}, natural ${b[i]}`);
    }
  }
  return { tokens, diffs };
}

test('same tags as natural on quirky tokens', () => {
  const words = [
    '__proto__',
    'constructor',
    'toString',
    'hasOwnProperty',
    '__PROTO__',
    '',
    '3rd',
    '0th',
    'Infinity',
    '1e5',
    '0x1F',
    '-5',
    '.5',
    'NaN',
    'glasses',
    'cars',
    'bringing',
    'would',
    'Would',
    'need',
    'x.com',
    'I',
    'i',
    'lovely',
    'ly',
    'family',
    'one',
    'Two',
    'to',
    'pay',
    'will',
    'charge',
    'the',
    'run',
    'Zorblatt',
    'zorbling',
  ];
  for (const [mine, theirs] of [
    [plain, naturalPlain],
    [corrected, naturalCorrected],
  ] as const) {
    assert.deepEqual(mine.tag(words), theirs(words));
    // also each word alone (no left context) and in reverse order
    for (const w of words) assert.deepEqual(mine.tag([w]), theirs([w]), w);
    assert.deepEqual(mine.tag([...words].reverse()), theirs([...words].reverse()));
    assert.deepEqual(tagInterned(mine, words), theirs(words));
    assert.deepEqual(tagInterned(mine, [...words].reverse()), theirs([...words].reverse()));
  }
});

test('same tags as natural on all of EWT test (gold tokens)', { skip: skipUnless(EWT_FILE) }, () => {
  const sentences = parseConllu(fs.readFileSync(EWT_FILE, 'utf8')).map((s) => s.tokens.map((t) => t.form));
  for (const [mine, theirs] of [
    [plain, naturalPlain],
    [corrected, naturalCorrected],
  ] as const) {
    const { tokens, diffs } = compare(sentences, mine, theirs);
    assert.ok(tokens > 25_000);
    assert.deepEqual(diffs, []);
  }
});

test('same tags as natural on 2,000 complaint narratives', { skip: skipUnless(DEV_FILE) }, async () => {
  const narratives: string[][] = [];
  await readTickets(DEV_FILE, (rec) => {
    if (rec.index % 7 === 0 && narratives.length < 2000) narratives.push([...tokenizeWords(rec.narrative)]);
  });
  assert.equal(narratives.length, 2000);
  for (const [mine, theirs] of [
    [plain, naturalPlain],
    [corrected, naturalCorrected],
  ] as const) {
    const { tokens, diffs } = compare(narratives, mine, theirs);
    assert.ok(tokens > 200_000, `${tokens} tokens`);
    assert.deepEqual(diffs, []);
  }
});

test('suffixRulesForUnknownWordsOnly keeps lexicon nouns, still tags unknown words by suffix', () => {
  const words = [
    'the',
    'billing',
    'the',
    'withdrawal',
    'my',
    'family',
    'the',
    'zorbling',
    'the',
    'zorbal',
    'zorbly',
    'zorbs',
  ];
  const natural = plain.tag(words);
  assert.deepEqual([natural[1], natural[3], natural[5]], ['VBG', 'JJ', 'RB']);
  const fixed = new BrillTagger(data.lexicon, data.rules, { suffixRulesForUnknownWordsOnly: true }).tag(
    words,
  );
  assert.deepEqual([fixed[1], fixed[3], fixed[5]], ['NN', 'NN', 'NN']);
  assert.deepEqual([fixed[7], fixed[9], fixed[10], fixed[11]], ['VBG', 'JJ', 'RB', 'NNS']);
});

test('the stage-1 tagger is a singleton with the corrections and the unknown-word suffix rules', () => {
  const t = englishBrillTagger();
  assert.equal(englishBrillTagger(), t);
  assert.deepEqual(t.tag(['I', 'paid', 'one', 'bill', 'to', 'pay', 'the', 'billing']), [
    'PRP',
    'VBN',
    'CD',
    'NN',
    'TO',
    'VB',
    'DT',
    'NN',
  ]);
});

test('unsupported rule predicates fail loudly', () => {
  assert.throws(() => new BrillTagger({}, ['NN VB NEXT-TAG DT']), /not supported/);
});

test('a rule set with more word tests than a WordTable info holds fails loudly', () => {
  const suffixRules = (n: number): string[] =>
    Array.from({ length: n }, (_, i) => `NN JJ CURRENT-WORD-ENDS-WITH z${i}`);
  // The same test in two rules counts once; PREV-TAG rules have no word test.
  const sixteen = new BrillTagger(data.lexicon, [
    ...suffixRules(16),
    'NN VB CURRENT-WORD-ENDS-WITH z0',
    'NN VB PREV-TAG TO',
  ]);
  // az15 passes the 16th test: its bit is an int32 info's sign bit in a WordTable.
  assert.deepEqual(sixteen.tag(['the', 'az15', 'az3']), ['DT', 'JJ', 'JJ']);
  assert.deepEqual(tagInterned(sixteen, ['the', 'az15', 'az3']), ['DT', 'JJ', 'JJ']);
  assert.throws(
    () => new BrillTagger(data.lexicon, suffixRules(17)),
    /more than 16 distinct word tests at rule "NN JJ CURRENT-WORD-ENDS-WITH z16"/,
  );
});
