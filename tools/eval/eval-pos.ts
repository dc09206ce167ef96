/**
 * `npm run eval:pos`: noun extraction measured against UD English EWT (gold PTB tags and lemmas).
 *
 *   node dist/tools/eval/eval-pos.js [--conllu FILE] [--json] [--help]
 *
 * Default file: <project>/../shared/data/en_ewt-ud-test.conllu. With --json, stdout is exactly one JSON
 * object (percentages); otherwise a small table. Scoring: tools/eval/pos-eval.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { evaluateNouns, parseConllu, type NounScores, type PosEvalResult } from './pos-eval';

const PROJECT_ROOT = path.resolve(__dirname, '../../..');
const DEFAULT_CONLLU = path.resolve(PROJECT_ROOT, '../shared/data/en_ewt-ud-test.conllu');

const USAGE = `Usage: npm run eval:pos -- [--conllu FILE] [--json]

Measures stage 1's noun extraction (Brill tagger, NN+NNS) against a CoNLL-U treebank with gold PTB
tags in column 5 and lemmas in column 3 (default: ${DEFAULT_CONLLU}).

  --conllu FILE  treebank to score against
  --json         print one JSON object {"precision", "recall", "f1", ...} (percent) and nothing else
  --help         this text

precision/recall/f1 are for the extractor's output on the gold tokenisation (tagging plus the
extractor's filters); "tagger" is the raw NN|NNS tags, "endToEnd" uses the extractor's own tokenizer
on the sentence text. Content tokens are alphabetic gold tokens.
`;

interface Args {
  conllu: string;
  json: boolean;
}

function parseArgs(argv: readonly string[]): Args | 'help' {
  const args: Args = { conllu: DEFAULT_CONLLU, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') return 'help';
    if (a === '--json') args.json = true;
    else if (a === '--conllu') {
      const v = argv[++i];
      if (v === undefined) throw new UsageError('--conllu needs a file');
      args.conllu = path.resolve(v);
    } else if (a.startsWith('--conllu=')) args.conllu = path.resolve(a.slice('--conllu='.length));
    else throw new UsageError(`unknown argument ${a}`);
  }
  return args;
}

class UsageError extends Error {}

function pct(x: number): number {
  return Math.round(x * 10) / 10;
}

function row(name: string, s: NounScores): string {
  return (
    `${name.padEnd(11)} ${pct(s.precision).toFixed(1).padStart(9)} ${pct(s.recall).toFixed(1).padStart(7)} ${pct(s.f1).toFixed(1).padStart(6)}` +
    `   (tp ${s.truePositives}, fp ${s.falsePositives}, fn ${s.falseNegatives})`
  );
}

function table(r: PosEvalResult, file: string, seconds: number): string {
  return [
    `Noun extraction vs ${path.basename(file)}: ${r.sentences} sentences, ${r.tokens} tokens, ` +
      `${r.contentTokens} content tokens, ${r.goldNouns} gold nouns (NN|NNS)`,
    '',
    `${''.padEnd(11)} precision  recall     F1`,
    row('extractor', r.extractor),
    row('tagger', r.tagger),
    row('end-to-end', r.endToEnd),
    '',
    `lemma accuracy on gold nouns: ${pct(r.lemma.accuracy).toFixed(1)}% ` +
      `(natural's singularize on every noun: ${pct(r.lemma.singularizeAll).toFixed(1)}%)`,
    `(${seconds.toFixed(2)} s)`,
  ].join('\n');
}

function main(): number {
  let args: Args | 'help';
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`eval:pos: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (args === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  let text: string;
  try {
    text = fs.readFileSync(args.conllu, 'utf8');
  } catch (err) {
    process.stderr.write(
      `eval:pos: cannot read the treebank ${args.conllu}: ${(err as Error).message}\n` +
        'Pass another file with --conllu FILE.\n',
    );
    return 1;
  }
  const t0 = process.hrtime.bigint();
  const result = evaluateNouns(parseConllu(text));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (result.sentences === 0) {
    process.stderr.write(`eval:pos: no sentences in ${args.conllu} (is it CoNLL-U?)\n`);
    return 1;
  }
  if (args.json) {
    const e = result.extractor;
    process.stdout.write(
      JSON.stringify({
        precision: pct(e.precision),
        recall: pct(e.recall),
        f1: pct(e.f1),
        tagger: {
          precision: pct(result.tagger.precision),
          recall: pct(result.tagger.recall),
          f1: pct(result.tagger.f1),
        },
        endToEnd: {
          precision: pct(result.endToEnd.precision),
          recall: pct(result.endToEnd.recall),
          f1: pct(result.endToEnd.f1),
        },
        lemmaAccuracy: pct(result.lemma.accuracy),
        lemmaAccuracySingularizeAll: pct(result.lemma.singularizeAll),
        sentences: result.sentences,
        tokens: result.tokens,
        contentTokens: result.contentTokens,
        goldNouns: result.goldNouns,
        file: args.conllu,
      }) + '\n',
    );
  } else {
    process.stdout.write(table(result, args.conllu, seconds) + '\n');
  }
  return 0;
}

process.exitCode = main();
