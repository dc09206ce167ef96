import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { evaluateNouns, isContentToken, parseConllu } from '../../tools/eval/pos-eval';
import { EWT_FILE, PROJECT_ROOT, skipUnless } from './paths';

// Two handmade sentences: a multi-word token range (3-4) and an empty node (5.1) must be skipped.
const SNIPPET = [
  '# sent_id = t-1',
  '# text = The clerk mailed two letters.',
  '1\tThe\tthe\tDET\tDT\t_\t2\tdet\t_\t_',
  '2\tclerk\tclerk\tNOUN\tNN\t_\t3\tnsubj\t_\t_',
  '3\tmailed\tmail\tVERB\tVBD\t_\t0\troot\t_\t_',
  '4\ttwo\ttwo\tNUM\tCD\t_\t5\tnummod\t_\t_',
  '5\tletters\tletter\tNOUN\tNNS\t_\t3\tobj\t_\tSpaceAfter=No',
  '6\t.\t.\tPUNCT\t.\t_\t3\tpunct\t_\t_',
  '',
  "# text = Fees can't wait",
  '1\tFees\tfee\tNOUN\tNNS\t_\t4\tnsubj\t_\t_',
  "2-3\tcan't\t_\t_\t_\t_\t_\t_\t_\t_",
  '2\tca\tcan\tAUX\tMD\t_\t4\taux\t_\t_',
  "3\tn't\tnot\tPART\tRB\t_\t4\tadvmod\t_\t_",
  '4\twait\twait\tVERB\tVB\t_\t0\troot\t_\t_',
  '4.1\tghost\tghost\tNOUN\tNN\t_\t_\t_\t_\t_',
  '',
].join('\n');

test('parseConllu keeps syntactic words, text comments and gold columns', () => {
  const s = parseConllu(SNIPPET);
  assert.equal(s.length, 2);
  assert.equal(s[0]!.text, 'The clerk mailed two letters.');
  assert.deepEqual(
    s[0]!.tokens.map((t) => t.form),
    ['The', 'clerk', 'mailed', 'two', 'letters', '.'],
  );
  assert.deepEqual(
    s[1]!.tokens.map((t) => t.form),
    ['Fees', 'ca', "n't", 'wait'],
  );
  assert.deepEqual(s[0]!.tokens[4], { form: 'letters', lemma: 'letter', xpos: 'NNS' });
});

test('content tokens are alphabetic', () => {
  assert.deepEqual(['clerk', 'e-mail', "n't", '.', '2', 'Fees', ''].map(isContentToken), [
    true,
    false,
    false,
    false,
    false,
    true,
    false,
  ]);
});

test('scores on the snippet match a hand count', () => {
  const r = evaluateNouns(parseConllu(SNIPPET));
  assert.equal(r.sentences, 2);
  assert.equal(r.tokens, 10);
  // content: The clerk mailed two letters Fees ca wait (n't and . are not alphabetic)
  assert.equal(r.contentTokens, 8);
  assert.equal(r.goldNouns, 3); // clerk, letters, Fees
  const { tagger, extractor } = r;
  // The tagger finds clerk/NN, letters/NNS; "Fees" starts with a capital but the lexicon knows "fees";
  // "mailed" VBN, "two" CD (a correction), "wait" and "ca" are what the lexicon says.
  assert.equal(tagger.truePositives + tagger.falseNegatives, 3);
  assert.equal(extractor.truePositives + extractor.falseNegatives, 3);
  const expectF1 = (s: typeof tagger): number => (2 * s.precision * s.recall) / (s.precision + s.recall);
  assert.ok(Math.abs(tagger.f1 - expectF1(tagger)) < 1e-9);
  assert.equal(
    tagger.precision,
    (100 * tagger.truePositives) / (tagger.truePositives + tagger.falsePositives),
  );
  // lemmas: clerk → clerk, letters → letter, Fees → fee: all exact
  assert.equal(r.lemma.nouns, 3);
  assert.equal(r.lemma.accuracy, 100);
});

test('a sentence the tagger gets fully right scores 100', () => {
  const conllu =
    '# text = the fees\n1\tthe\tthe\tDET\tDT\t_\t2\tdet\t_\t_\n2\tfees\tfee\tNOUN\tNNS\t_\t0\troot\t_\t_\n';
  const r = evaluateNouns(parseConllu(conllu));
  for (const s of [r.tagger, r.extractor, r.endToEnd]) {
    assert.deepEqual([s.truePositives, s.falsePositives, s.falseNegatives, s.f1], [1, 0, 0, 100]);
  }
});

test('EWT test: noun F1 >= 85', { skip: skipUnless(EWT_FILE) }, () => {
  const r = evaluateNouns(parseConllu(fs.readFileSync(EWT_FILE, 'utf8')));
  assert.ok(r.goldNouns > 4000);
  assert.ok(r.extractor.f1 >= 85, `extractor F1 ${r.extractor.f1.toFixed(1)}`);
  assert.ok(r.tagger.f1 >= 85, `tagger F1 ${r.tagger.f1.toFixed(1)}`);
  assert.ok(r.lemma.accuracy > r.lemma.singularizeAll);
  // Pinned: the tagger and the filters are deterministic, so any change to what counts as a noun lemma
  // (e.g. keeping 2-letter lemmas) moves these counts even when F1 stays above the bar.
  const counts = (s: { truePositives: number; falsePositives: number; falseNegatives: number }) => [
    s.truePositives,
    s.falsePositives,
    s.falseNegatives,
  ];
  assert.equal(r.goldNouns, 4110);
  assert.deepEqual(counts(r.tagger), [3583, 718, 527]);
  assert.deepEqual(counts(r.extractor), [3552, 543, 558]);
  assert.deepEqual(counts(r.endToEnd), [3471, 614, 639]);
});

const SCRIPT = path.join(PROJECT_ROOT, 'dist/tools/eval/eval-pos.js');

test('eval-pos --json prints exactly one JSON object', { skip: skipUnless(EWT_FILE) }, () => {
  const child = spawnSync(process.execPath, [SCRIPT, '--json'], { encoding: 'utf8' });
  assert.equal(child.status, 0, child.stderr);
  const out = JSON.parse(child.stdout) as Record<string, unknown>;
  assert.equal(child.stdout.trim().split('\n').length, 1);
  for (const k of ['precision', 'recall', 'f1']) assert.equal(typeof out[k], 'number');
});

test('eval-pos: --help, --conllu on a small file, missing file', () => {
  const help = spawnSync(process.execPath, [SCRIPT, '--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /--conllu FILE/);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evalpos-'));
  try {
    const file = path.join(dir, 'tiny.conllu');
    fs.writeFileSync(file, SNIPPET);
    const ok = spawnSync(process.execPath, [SCRIPT, '--conllu', file, '--json'], { encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal((JSON.parse(ok.stdout) as { goldNouns: number }).goldNouns, 3);
    const missing = spawnSync(process.execPath, [SCRIPT, '--conllu', path.join(dir, 'nope.conllu')], {
      encoding: 'utf8',
    });
    assert.equal(missing.status, 1);
    assert.equal(missing.stdout, '');
    assert.match(missing.stderr, /cannot read the treebank .*nope\.conllu/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
