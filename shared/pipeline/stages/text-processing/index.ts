import { ReadStats } from '../../../core/dataset/read-tickets';
import { planChunks } from '../../../core/dataset/plan-chunks';
import { DatasetFile, withDataset } from '../../../core/dataset/open-dataset';
import { ARTIFACTS, RunArtifacts, StageContext, secondsSince } from '../context';
import { processChunk } from './process-chunk';
import { firstChunks, mergeChunks } from './merge-chunks';
import { chunksPrefix } from './chunk-files';

export { processChunk } from './process-chunk';
export { firstChunks, mergeChunks, sumStats } from './merge-chunks';
export { categoryOf, readChunkStats } from './chunk-files';

/** What the text-processing stage returns (and stores as its job's return value). */
export interface TextProcessingResult {
  tickets: string;
  rows: number;
  chunks: number;
  stats: ReadStats;
  seconds: number;
}

/**
 * Stage 1 in one process: plan chunks, process each, merge. The flow runs the same steps as a parent
 * job with chunk children spread over workers; both give the same `tickets.csv`.
 */
export async function runTextProcessing(
  ctx: StageContext,
  datasetFile: string | DatasetFile,
): Promise<TextProcessingResult> {
  const start = performance.now();
  // One descriptor for the plan and every chunk: what was planned is what is read.
  const { plan, chunkStats } = await withDataset(datasetFile, async (file) => {
    const plan = await planChunks(file, ctx.params.chunkSize);
    const chunkStats: ReadStats[] = [];
    for (const [chunk, range] of plan.chunks.entries()) {
      chunkStats.push((await processChunk(ctx, { chunk, file, format: plan.format, range })).stats);
      await ctx.progress?.(Math.round((100 * (chunk + 1)) / plan.chunks.length));
    }
    return { plan, chunkStats };
  });
  const merged = await mergeChunks(
    ctx,
    firstChunks(chunkStats.length, (c) => Promise.resolve(chunkStats[c]!)),
  );
  await removeChunkFiles(ctx);
  return {
    tickets: ARTIFACTS.tickets,
    rows: merged.stats.kept,
    chunks: plan.chunks.length,
    stats: merged.stats,
    seconds: secondsSince(start),
  };
}

/** Chunk files are intermediate: once `tickets.csv` is in place they only take space. */
export async function removeChunkFiles(ctx: RunArtifacts): Promise<void> {
  await ctx.store.removePrefix(chunksPrefix(ctx));
}
