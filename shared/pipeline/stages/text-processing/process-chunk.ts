import { createTicketLemmatizer } from '../../../core/nlp/ticket-lemmas';
import { csvRow } from '../../../core/io/csv';
import { readTickets, ReadStats, TicketRange, DatasetFormat } from '../../../core/dataset/read-tickets';
import { DatasetFile } from '../../../core/dataset/open-dataset';
import { StageContext, secondsSince } from '../context';
import { categoryOf, chunkOutputKey, writeChunkStats } from './chunk-files';
import { IndexedCsvWriter } from '../../../core/io/row-index';

export interface ChunkInput {
  chunk: number;
  /**
   * the dataset: a path on this worker, or (in workers) the file already opened inside the worker's data
   * root, read through that descriptor
   */
  file: string | DatasetFile;
  format: DatasetFormat;
  range: TicketRange;
  /**
   * called after the range is read and before its output is put in place: throws when what was read
   * cannot be trusted (the dataset changed meanwhile), so no output of other bytes is kept for a retry
   */
  afterRead?: () => Promise<void>;
}

export interface ProcessChunkResult {
  chunk: number;
  rows: number;
  stats: ReadStats;
  seconds: number;
}

/** Dropped records by reason, for log lines: `0` or `3 (emptyNarrative 2, notAnObject 1)`. */
export function droppedText(dropped: Readonly<Record<string, number>>): string {
  const reasons = Object.entries(dropped).filter(([, n]) => n > 0);
  const total = reasons.reduce((sum, [, n]) => sum + n, 0);
  return reasons.length === 0 ? '0' : `${total} (${reasons.map(([r, n]) => `${r} ${n}`).join(', ')})`;
}

/** The ticket → processed-text function classification also uses (shared/core/nlp/ticket-lemmas.ts). */
let lemmatize: ((text: string) => string) | null = null;

/**
 * Load the tagger's lexicon and rules now rather than on the first ticket, so a process that starts
 * ahead of its first job (a pre-warmed sandbox) pays the ~0.2 s load before any chunk arrives.
 */
export function warmUpNounExtractor(): void {
  lemmatize ??= createTicketLemmatizer();
  lemmatize('I disputed the late fees on my credit card statement with the bank.');
}

/**
 * Read one chunk's byte range of the dataset — validating its records — and turn its tickets into
 * `tickets.csv` rows (narrative, category, noun lemmas). CPU-heavy: runs in a sandboxed processor.
 */
export async function processChunk(ctx: StageContext, input: ChunkInput): Promise<ProcessChunkResult> {
  const start = performance.now();
  lemmatize ??= createTicketLemmatizer();
  const lemmas = lemmatize;
  // The chunk's rows and their index: the merge joins both into tickets.csv and its index.
  const out = await IndexedCsvWriter.open(ctx.store, chunkOutputKey(ctx, input.chunk), null);
  let stats: ReadStats;
  try {
    stats = await readTickets(
      input.file,
      (rec) =>
        out.row(csvRow([rec.narrative, categoryOf(rec.product, rec.subProduct), lemmas(rec.narrative)])),
      { format: input.format, range: input.range },
    );
    await input.afterRead?.();
    await out.commit();
  } catch (err) {
    await out.abort();
    throw err;
  }
  await writeChunkStats(ctx, { chunk: input.chunk, range: input.range, stats, code: ctx.code ?? null });
  ctx.log.info(
    `chunk ${input.chunk}: read ${stats.read} records, kept ${stats.kept}, dropped ${droppedText(stats.dropped)} in ${secondsSince(start)} s`,
  );
  return { chunk: input.chunk, rows: stats.kept, stats, seconds: secondsSince(start) };
}
