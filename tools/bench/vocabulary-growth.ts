/**
 * npm run bench:vocabulary -- [--data FILE]
 *
 * How the vocabularies grow with the number of distinct tickets, which `npm run bench -- --scale F`
 * cannot show: its copies repeat the same narratives, so every scale has the dev data's vocabulary. For
 * the first 1,000, 2,000, … tickets of the file and then all of them, it counts the distinct terms of
 * each feature set and those in at least `minDf` tickets (what the vectorizer keeps), fits a power law
 * (Heaps' law) to the points from 2,000 tickets on, and extrapolates to 10× and 100× as many distinct
 * tickets, with the memory those vocabularies would take where a process holds one: stage 3's merge
 * holds two unpruned term lists (UTF-8 bytes, a 4-byte offset and a 4-byte frequency a term), a category
 * model 5 classes × kept terms coefficients (8 bytes each).
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../../shared/core/config/config';
import { DEFAULT_PIPELINE_PARAMS } from '../../shared/core/config/pipeline-params';
import { readTickets } from '../../shared/core/dataset/read-tickets';
import { createTicketLemmatizer } from '../../shared/core/nlp/ticket-lemmas';
import { BlockTermCounter, documentFrequencies } from '../../shared/core/numeric/block-counts';
import { countVectorizerOptions } from '../../shared/pipeline/model/model-file';
import { fitSettings } from '../../shared/pipeline/stages/transform-split/fit-settings';

const DEV = path.resolve(PROJECT_ROOT, '..', 'shared', 'data', 'complaints-dev.json');
/** Tickets a category vocabulary is fitted on: the training split's share. */
const TRAIN_SHARE = 1 - DEFAULT_PIPELINE_PARAMS.testSize;
const CATEGORY_CLASSES = 5;

interface Point {
  tickets: number;
  terms: number;
  kept: number;
  /** mean UTF-8 bytes of a term */
  termBytes: number;
}

function measure(texts: readonly string[], settings: ReturnType<typeof fitSettings>, minDf: number): Point {
  const counter = new BlockTermCounter(countVectorizerOptions(settings.vectorizer));
  for (const t of texts) counter.add(t);
  const own = counter.finishCounts();
  const df = documentFrequencies(own, own.terms.count, null);
  let kept = 0;
  for (const d of df) if (d >= minDf) kept++;
  const { count, starts } = own.terms;
  return { tickets: texts.length, terms: count, kept, termBytes: starts[count]! / Math.max(1, count) };
}

/** Least-squares slope of log y on log x. */
function exponent(points: readonly Point[], y: (p: Point) => number): number {
  const xs = points.map((p) => Math.log(p.tickets));
  const ys = points.map((p) => Math.log(y(p)));
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  xs.forEach((x, i) => {
    num += (x - mx) * (ys[i]! - my);
    den += (x - mx) ** 2;
  });
  return num / den;
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(0)} MB`;
const count = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : Math.round(n).toLocaleString('en-US'));

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { data: { type: 'string' }, help: { type: 'boolean' } } });
  if (values.help) {
    console.log(
      'Usage: npm run bench:vocabulary -- [--data FILE]   (default ../shared/data/complaints-dev.json)',
    );
    return;
  }
  const file = values.data ?? DEV;
  const narratives: string[] = [];
  await readTickets(file, (rec) => void narratives.push(rec.narrative));
  const lemmas = createTicketLemmatizer();
  const category = fitSettings({ ...DEFAULT_PIPELINE_PARAMS, labels: 'category' });
  const sets = [
    {
      name: 'category features (narrative words and bigrams, fitted on the training split)',
      settings: category,
      texts: narratives.map((n) => category.textOf(n)),
      minDf: DEFAULT_PIPELINE_PARAMS.featureMinDf,
      share: TRAIN_SHARE,
      coefficients: true,
    },
    {
      name: "topic features (noun lemmas, fitted on every ticket; kept: stage 2's TF-IDF)",
      settings: fitSettings(DEFAULT_PIPELINE_PARAMS),
      texts: narratives.map((n) => lemmas(n)),
      minDf: DEFAULT_PIPELINE_PARAMS.minDf,
      share: 1,
      coefficients: false,
    },
  ];
  console.log(`${narratives.length} tickets in ${file}`);
  for (const set of sets) {
    const sizes: number[] = [];
    for (let n = 1000; n < set.texts.length; n *= 2) sizes.push(n);
    sizes.push(set.texts.length);
    const points = sizes.map((n) => measure(set.texts.slice(0, n), set.settings, set.minDf));
    const fitted = points.filter((p) => p.tickets >= 2000);
    const bTerms = exponent(fitted, (p) => p.terms);
    const bKept = exponent(fitted, (p) => p.kept);
    const last = points.at(-1)!;
    console.log(`\n${set.name}, minDf ${set.minDf}:\n`);
    console.log('| distinct tickets fitted on | terms | kept (df ≥ minDf) | bytes a term |');
    console.log('|---:|---:|---:|---:|');
    for (const p of points)
      console.log(
        `| ${count(p.tickets)} | ${count(p.terms)} | ${count(p.kept)} | ${p.termBytes.toFixed(1)} |`,
      );
    console.log(
      `\nfitted from ${count(fitted[0]!.tickets)} tickets on: terms ∝ n^${bTerms.toFixed(3)}, kept ∝ n^${bKept.toFixed(3)}`,
    );
    for (const scale of [10, 100]) {
      const n = last.tickets * scale;
      const fittedOn = n * set.share;
      // The points' tickets are tickets fitted on.
      const terms = last.terms * (fittedOn / last.tickets) ** bTerms;
      const kept = last.kept * (fittedOn / last.tickets) ** bKept;
      const lists = 2 * terms * (last.termBytes + 8);
      console.log(
        `  ${scale}× as many distinct tickets (${count(n)}, fitted on ${count(fittedOn)}): ~${count(terms)} terms, ~${count(kept)} kept;` +
          ` stage 3's merge ~${mb(lists)} for two lists` +
          (set.coefficients
            ? `, a ${CATEGORY_CLASSES}-class model ~${mb(CATEGORY_CLASSES * kept * 8)} of coefficients`
            : ''),
      );
    }
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
