/**
 * Stage-1 speed on a dataset (default <project>/../shared/data/complaints-dev.json), one process:
 *
 *   npm run bench:extract -- [FILE] [--rounds N]
 *
 * Prints, for the best of N rounds: read-only time (readTickets with a no-op callback), NLP-only time
 * (createNounExtractor over the narratives held in memory, after one warm-up round), and read + NLP in one
 * pass as stage 1 runs it; tickets/s and the share of JSON reading in the combined pass.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readTickets } from '../../shared/core/dataset/read-tickets';
import { createNounExtractor } from '../../shared/core/nlp/noun-extractor';

const PROJECT_ROOT = path.resolve(__dirname, '../../..');

function seconds(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const roundsAt = args.indexOf('--rounds');
  const rounds = roundsAt >= 0 ? Number(args[roundsAt + 1]) : 5;
  const file =
    args.find((a, i) => !a.startsWith('--') && (roundsAt < 0 || i !== roundsAt + 1)) ??
    path.resolve(PROJECT_ROOT, '../shared/data/complaints-dev.json');
  const bytes = fs.statSync(file).size;

  const t0 = process.hrtime.bigint();
  const extract = createNounExtractor();
  extract('warm up the lexicon');
  const loadSeconds = seconds(t0);

  const narratives: string[] = [];
  await readTickets(file, (r) => {
    narratives.push(r.narrative);
  });
  let words = 0;
  for (const n of narratives) for (const w of n.split(/\s+/)) if (w.length > 0) words++;
  for (const n of narratives) extract(n); // warm-up: JIT and the lemma caches

  let read = Infinity;
  let nlp = Infinity;
  let both = Infinity;
  let nouns = 0;
  for (let r = 0; r < rounds; r++) {
    let t = process.hrtime.bigint();
    await readTickets(file, () => undefined);
    read = Math.min(read, seconds(t));

    t = process.hrtime.bigint();
    nouns = 0;
    for (const n of narratives) nouns += extract(n).length;
    nlp = Math.min(nlp, seconds(t));

    t = process.hrtime.bigint();
    await readTickets(file, (rec) => {
      extract(rec.narrative);
    });
    both = Math.min(both, seconds(t));
  }
  const n = narratives.length;
  const rate = (s: number): string => `${Math.round(n / s).toLocaleString('en-US')} tickets/s`;
  process.stdout.write(
    [
      `${path.basename(file)}: ${n} tickets, ${(bytes / 1e6).toFixed(1)} MB, ${words.toLocaleString('en-US')} words, ` +
        `${nouns.toLocaleString('en-US')} nouns; lexicon load ${(loadSeconds * 1000).toFixed(0)} ms; best of ${rounds}`,
      `read only   ${read.toFixed(3)} s  ${(bytes / 1e6 / read).toFixed(0)} MB/s  ${rate(read)}`,
      `NLP only    ${nlp.toFixed(3)} s  ${rate(nlp)}  ${((nlp / n) * 1e6).toFixed(0)} µs/ticket  ` +
        `${(words / nlp / 1e6).toFixed(2)} M words/s`,
      `read + NLP  ${both.toFixed(3)} s  ${rate(both)}  (reading ≈ ${((100 * read) / both).toFixed(0)}% of it)`,
    ].join('\n') + '\n',
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exitCode = 1;
});
