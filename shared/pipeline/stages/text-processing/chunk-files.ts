import fsp from 'node:fs/promises';
import path from 'node:path';
import { ReadStats, TicketRange } from '../../../core/dataset/read-tickets';
import { writeJsonAtomic } from '../../../core/storage';
import { StageContext, artifactPath, ARTIFACTS } from '../context';

type Where = Pick<StageContext, 'storageDir' | 'runId'>;

/** Chunk `i`'s output: its tickets.csv rows, without header. */
export function chunkOutputPath(ctx: Where, chunk: number): string {
  return path.join(artifactPath(ctx, ARTIFACTS.chunksDir), `tickets-${String(chunk).padStart(5, '0')}.csv`);
}

/** Chunk `i`'s counts, written after its rows: its presence says the chunk is done. */
export function chunkStatsPath(ctx: Where, chunk: number): string {
  return path.join(
    artifactPath(ctx, ARTIFACTS.chunksDir),
    `tickets-${String(chunk).padStart(5, '0')}.stats.json`,
  );
}

export interface ChunkStatsFile {
  chunk: number;
  range: TicketRange;
  stats: ReadStats;
}

export async function writeChunkStats(ctx: Where, file: ChunkStatsFile): Promise<void> {
  await writeJsonAtomic(chunkStatsPath(ctx, file.chunk), file);
}

/**
 * A chunk's counts when its output for exactly this byte range is in storage, else null. A retried run
 * does not process such a chunk again.
 */
export async function readChunkStats(
  ctx: Where,
  chunk: number,
  range: TicketRange,
): Promise<ChunkStatsFile | null> {
  try {
    const file = JSON.parse(await fsp.readFile(chunkStatsPath(ctx, chunk), 'utf8')) as ChunkStatsFile;
    const same =
      file.range.start === range.start &&
      file.range.end === range.end &&
      file.range.firstRecord === range.firstRecord;
    if (!same) return null;
    await fsp.access(chunkOutputPath(ctx, chunk));
    return file;
  } catch {
    return null;
  }
}

/** Between product and sub-product in `tickets.csv`'s category column. */
export const CATEGORY_SEPARATOR = ' + ';

export function categoryOf(product: string, subProduct: string | null): string {
  return subProduct ? `${product}${CATEGORY_SEPARATOR}${subProduct}` : product;
}
