import { csvRow } from '../../../core/io/csv';
import { noNarrative, ReadStats } from '../../../core/dataset/read-tickets';
import { BadInputError } from '../../../core/errors';
import { ARTIFACTS, StageContext, TICKETS_COLUMNS, artifactKey, secondsSince } from '../context';
import { chunkOutputKey } from './chunk-files';
import { IndexedCsvWriter, appendIndexedPart } from '../../../core/io/row-index';
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
 * Concatenate the rows of chunks 0 … `chunks` − 1, in that order, under one header into `tickets.csv`,
 * with its row index. `ready(c)` resolves with chunk c's counts once its output is in storage: a merge
 * that awaits running chunks there appends each one as soon as it and those before it are done, so the
 * copying overlaps the later chunks' work instead of following it; a rejection (a chunk that failed for
 * good) fails the merge with it, and nothing is put in place. Fails as bad input when no chunk kept a
 * ticket: a dataset without a single non-empty narrative.
 */
export async function mergeChunks(
  ctx: StageContext,
  chunks: number,
  ready: (chunk: number) => Promise<ReadStats>,
): Promise<MergeChunksResult> {
  const start = performance.now();
  const key = artifactKey(ctx, ARTIFACTS.tickets);
  const out = await IndexedCsvWriter.open(ctx.store, key, csvRow(TICKETS_COLUMNS)).catch((err: unknown) => {
    throw storageProblem(ctx, err);
  });
  const parts: ReadStats[] = [];
  try {
    for (let c = 0; c < chunks; c++) {
      parts.push(await ready(c));
      // A cancelled run writes nothing more: abort rather than put tickets.csv in place.
      ctx.signal?.throwIfAborted();
      await appendIndexedPart(ctx.store, out, chunkOutputKey(ctx, c)).catch((err: unknown) => {
        throw storageProblem(ctx, err);
      });
    }
    const stats = sumStats(parts);
    if (stats.kept === 0) throw noNarrative(stats.file, stats.read);
    ctx.signal?.throwIfAborted();
    await out.commit().catch((err: unknown) => {
      throw storageProblem(ctx, err);
    });
    ctx.log.info(
      `read ${stats.read} records from ${stats.file}: kept ${stats.kept}, dropped ${droppedText(stats.dropped)}; merged ${chunks} chunk(s) into ${ARTIFACTS.tickets} in ${secondsSince(start)} s`,
    );
    return { stats, seconds: secondsSince(start) };
  } catch (err) {
    await out.abort();
    throw err;
  }
}

function storageProblem(ctx: StageContext, err: unknown): unknown {
  // a full or read-only disk (storage.ts) fails at once, with its own message
  if (err instanceof BadInputError) return err;
  return new Error(`merging text-processing chunks of run ${ctx.runId} failed: ${(err as Error).message}`, {
    cause: err,
  });
}
