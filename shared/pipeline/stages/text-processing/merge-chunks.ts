import { csvRow } from '../../../core/io/csv';
import { noNarrative, ReadStats } from '../../../core/dataset/read-tickets';
import { BadInputError } from '../../../core/errors';
import { ARTIFACTS, StageContext, TICKETS_COLUMNS, artifactKey, secondsSince } from '../context';
import { chunkOutputKey } from './chunk-files';
import { concatIndexedParts } from '../../../core/io/row-index';
import { droppedText } from './process-chunk';

export interface MergeChunksResult {
  stats: ReadStats;
  seconds: number;
}

/** The whole file's counts from its chunks' counts. */
export function sumStats(parts: readonly ReadStats[]): ReadStats {
  const total: ReadStats = { file: parts[0]!.file, format: parts[0]!.format, read: 0, kept: 0, dropped: {} };
  for (const p of parts) {
    total.read += p.read;
    total.kept += p.kept;
    for (const [reason, n] of Object.entries(p.dropped))
      total.dropped[reason] = (total.dropped[reason] ?? 0) + n;
  }
  return total;
}

/**
 * Concatenate the chunks' rows in input order under one header into `tickets.csv`, with its row index. Fails as bad input
 * when no chunk kept a ticket: a dataset without a single non-empty narrative.
 */
export async function mergeChunks(
  ctx: StageContext,
  chunkStats: readonly ReadStats[],
): Promise<MergeChunksResult> {
  const start = performance.now();
  const stats = sumStats(chunkStats);
  if (stats.kept === 0) throw noNarrative(stats.file, stats.read);
  try {
    await concatIndexedParts(
      ctx.store,
      chunkStats.map((_, c) => chunkOutputKey(ctx, c)),
      artifactKey(ctx, ARTIFACTS.tickets),
      csvRow(TICKETS_COLUMNS),
      // A cancelled run writes nothing more: abort rather than put tickets.csv in place.
      () => ctx.signal?.throwIfAborted(),
    );
  } catch (err) {
    // a full or read-only disk (storage.ts) fails at once, with its own message
    if (err instanceof BadInputError) throw err;
    throw new Error(`merging text-processing chunks of run ${ctx.runId} failed: ${(err as Error).message}`, {
      cause: err,
    });
  }
  ctx.log.info(
    `read ${stats.read} records from ${stats.file}: kept ${stats.kept}, dropped ${droppedText(stats.dropped)}; merged ${chunkStats.length} chunk(s) into ${ARTIFACTS.tickets} in ${secondsSince(start)} s`,
  );
  return { stats, seconds: secondsSince(start) };
}
