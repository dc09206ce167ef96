import { csvRow } from '../../../core/io/csv';
import { noNarrative, ReadStats } from '../../../core/dataset/read-tickets';
import { BadInputError } from '../../../core/errors';
import { ARTIFACTS, StageContext, TICKETS_COLUMNS, artifactKey, secondsSince } from '../context';
import { chunkOutputKey } from './chunk-files';
import { IndexedCsvWriter, appendIndexedPart } from '../../../core/io/row-index';
import { droppedText } from './process-chunk';

export interface MergeChunksResult {
  /** chunks merged */
  chunks: number;
  stats: ReadStats;
  seconds: number;
}

/** `ready` for mergeChunks over `chunks` chunks whose counts `counts(c)` gives. */
export function firstChunks(
  chunks: number,
  counts: (chunk: number) => Promise<ReadStats>,
): (chunk: number) => Promise<ReadStats | null> {
  return (c) => (c < chunks ? counts(c) : Promise.resolve(null));
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
 * Concatenate the rows of chunks 0, 1, … in that order, under one header into `tickets.csv`, with its row
 * index. `ready(c)` resolves with chunk c's counts once its output is in storage, or with null when there
 * is no chunk c (the chunks end before it): a merge that awaits running chunks there appends each one as
 * soon as it and those before it are done, so the copying overlaps the later chunks' work instead of
 * following it (even before the split has found the later chunks); a rejection (a chunk that failed for
 * good) fails the merge with it, and nothing is put in place. Fails as bad input when no chunk kept a
 * ticket: a dataset without a single non-empty narrative.
 */
export async function mergeChunks(
  ctx: StageContext,
  ready: (chunk: number) => Promise<ReadStats | null>,
): Promise<MergeChunksResult> {
  const start = performance.now();
  const key = artifactKey(ctx, ARTIFACTS.tickets);
  const out = await IndexedCsvWriter.open(ctx.store, key, csvRow(TICKETS_COLUMNS)).catch((err: unknown) => {
    throw storageProblem(ctx, err);
  });
  const parts: ReadStats[] = [];
  try {
    for (let c = 0; ; c++) {
      const counts = await ready(c);
      if (counts === null) break;
      parts.push(counts);
      // A cancelled run writes nothing more: abort rather than put tickets.csv in place.
      ctx.signal?.throwIfAborted();
      await appendIndexedPart(ctx.store, out, chunkOutputKey(ctx, c)).catch((err: unknown) => {
        throw storageProblem(ctx, err);
      });
    }
    if (parts.length === 0) throw new Error(`text-processing of run ${ctx.runId}: no chunk to merge`);
    const stats = sumStats(parts);
    if (stats.kept === 0) throw noNarrative(stats.file, stats.read);
    ctx.signal?.throwIfAborted();
    await out.commit().catch((err: unknown) => {
      throw storageProblem(ctx, err);
    });
    ctx.log.info(
      `read ${stats.read} records from ${stats.file}: kept ${stats.kept}, dropped ${droppedText(stats.dropped)}; merged ${parts.length} chunk(s) into ${ARTIFACTS.tickets} in ${secondsSince(start)} s`,
    );
    return { chunks: parts.length, stats, seconds: secondsSince(start) };
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
