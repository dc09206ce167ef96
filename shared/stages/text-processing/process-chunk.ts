import { createTicketLemmatizer } from '../../nlp/ticket-lemmas';
import { csvRow } from '../../io/csv';
import { readTickets, ReadStats, TicketRange, DatasetFormat } from '../../dataset/read-tickets';
import { DatasetFile } from '../../dataset/open-dataset';
import { openAtomicWriter } from '../../storage';
import { StageContext, secondsSince } from '../context';
import { categoryOf, chunkOutputPath, writeChunkStats } from './chunk-files';

export interface ChunkInput {
  chunk: number;
  /**
   * the dataset: a path on this worker, or (in workers) the file already opened inside the worker's data
   * root, read through that descriptor
   */
  file: string | DatasetFile;
  format: DatasetFormat;
  range: TicketRange;
}

export interface ProcessChunkResult {
  chunk: number;
  rows: number;
  stats: ReadStats;
  seconds: number;
}

/** The ticket → processed-text function classification also uses (shared/nlp/ticket-lemmas.ts). */
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
  const out = await openAtomicWriter(chunkOutputPath(ctx, input.chunk));
  let stats: ReadStats;
  try {
    stats = await readTickets(
      input.file,
      (rec) =>
        out.write(csvRow([rec.narrative, categoryOf(rec.product, rec.subProduct), lemmas(rec.narrative)])),
      { format: input.format, range: input.range },
    );
    await out.commit();
  } catch (err) {
    await out.abort();
    throw err;
  }
  await writeChunkStats(ctx, { chunk: input.chunk, range: input.range, stats });
  ctx.log.debug(`chunk ${input.chunk}: ${stats.kept} tickets in ${secondsSince(start)} s`);
  return { chunk: input.chunk, rows: stats.kept, stats, seconds: secondsSince(start) };
}
