import fs from 'node:fs';
import readline from 'node:readline';
import { createNounExtractor } from '../../nlp/noun-extractor';
import { csvRow } from '../../io/csv';
import { openAtomicWriter } from '../../storage';
import { StageContext, secondsSince } from '../context';
import { ChunkLine, chunkInputPath, chunkOutputPath } from './chunk-files';

export interface ProcessChunkResult {
  chunk: number;
  rows: number;
  seconds: number;
}

let extractNouns: ((text: string) => string[]) | null = null;

/**
 * Load the tagger's lexicon and rules now rather than on the first ticket, so a process that starts
 * ahead of its first job (a pre-warmed sandbox) pays the ~0.2 s load before any chunk arrives.
 */
export function warmUpNounExtractor(): void {
  extractNouns ??= createNounExtractor();
  extractNouns('I disputed the late fees on my credit card statement with the bank.');
}

/**
 * Turn one chunk's records into `tickets.csv` rows (narrative, category, noun lemmas). CPU-heavy: runs in
 * a sandboxed processor. The extractor (tagger lexicon and rules) loads once per process.
 */
export async function processChunk(ctx: StageContext, chunk: number): Promise<ProcessChunkResult> {
  const start = performance.now();
  extractNouns ??= createNounExtractor();
  const input = chunkInputPath(ctx, chunk);
  const out = await openAtomicWriter(chunkOutputPath(ctx, chunk));
  let rows = 0;
  try {
    const lines = readline.createInterface({ input: fs.createReadStream(input, { encoding: 'utf8' }), crlfDelay: Infinity });
    for await (const text of lines) {
      if (text.length === 0) continue;
      const line = JSON.parse(text) as ChunkLine;
      await out.write(csvRow([line.n, line.c, extractNouns(line.n).join(' ')]));
      rows++;
    }
    await out.commit();
  } catch (err) {
    await out.abort();
    throw new Error(`text processing of chunk ${chunk} (${input}) failed: ${(err as Error).message}`, { cause: err });
  }
  ctx.log.debug(`chunk ${chunk}: ${rows} tickets in ${secondsSince(start)} s`);
  return { chunk, rows, seconds: secondsSince(start) };
}
