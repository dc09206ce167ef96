import { ReadStats, TicketRange } from '../../../core/dataset/read-tickets';
import { RunArtifacts, StageContext, artifactKey, ARTIFACTS, writtenByOwnCode } from '../context';
import { rowIndexKey } from '../../../core/io/row-index';

/** The prefix of every chunk's files, ending with "/". */
export function chunksPrefix(ctx: Pick<RunArtifacts, 'runId'>): string {
  return artifactKey(ctx, `${ARTIFACTS.chunksDir}/`);
}

/** Chunk `i`'s output: its tickets.csv rows, without header. */
export function chunkOutputKey(ctx: Pick<RunArtifacts, 'runId'>, chunk: number): string {
  return `${chunksPrefix(ctx)}tickets-${String(chunk).padStart(5, '0')}.csv`;
}

/** Chunk `i`'s counts, written after its rows: its presence says the chunk is done. */
export function chunkStatsKey(ctx: Pick<RunArtifacts, 'runId'>, chunk: number): string {
  return `${chunksPrefix(ctx)}tickets-${String(chunk).padStart(5, '0')}.stats.json`;
}

export interface ChunkStatsFile {
  chunk: number;
  range: TicketRange;
  stats: ReadStats;
  /** the code identity that wrote the chunk's rows (StageContext.code; null in-process) */
  code: string | null;
}

export async function writeChunkStats(ctx: RunArtifacts, file: ChunkStatsFile): Promise<void> {
  await ctx.store.putJson(chunkStatsKey(ctx, file.chunk), file);
}

/**
 * A chunk's counts when its output for exactly this byte range, written by the context's code, is in
 * storage, else null. A retried run does not process such a chunk again.
 */
export async function readChunkStats(
  ctx: RunArtifacts & Pick<StageContext, 'code'>,
  chunk: number,
  range: TicketRange,
): Promise<ChunkStatsFile | null> {
  try {
    const file = await ctx.store.getJson<ChunkStatsFile>(chunkStatsKey(ctx, chunk));
    const same =
      file.range.start === range.start &&
      file.range.end === range.end &&
      file.range.firstRecord === range.firstRecord &&
      writtenByOwnCode(file.code, ctx);
    if (!same) return null;
    const key = chunkOutputKey(ctx, chunk);
    const [rows, index] = await Promise.all([ctx.store.stat(key), ctx.store.stat(rowIndexKey(key))]);
    return rows === undefined || index === undefined ? null : file;
  } catch {
    return null;
  }
}

/** Between product and sub-product in `tickets.csv`'s category column. */
export const CATEGORY_SEPARATOR = ' + ';

export function categoryOf(product: string, subProduct: string | null): string {
  return subProduct ? `${product}${CATEGORY_SEPARATOR}${subProduct}` : product;
}
