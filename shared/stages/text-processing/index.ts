import fsp from 'node:fs/promises';
import { ReadStats } from '../../dataset/read-tickets';
import { ARTIFACTS, StageContext, artifactPath, secondsSince } from '../context';
import { splitDataset } from './split-dataset';
import { processChunk } from './process-chunk';
import { mergeChunks } from './merge-chunks';

export { splitDataset, categoryOf } from './split-dataset';
export { processChunk } from './process-chunk';
export { mergeChunks } from './merge-chunks';

/** What the text-processing stage returns (and stores as its job's return value). */
export interface TextProcessingResult {
  tickets: string;
  rows: number;
  chunks: number;
  stats: ReadStats;
  seconds: number;
}

/**
 * Stage 1 in one process: split, process every chunk, merge. The flow runs the same three steps as a
 * parent job with chunk children spread over workers; both give the same `tickets.csv`.
 */
export async function runTextProcessing(ctx: StageContext, datasetFile: string): Promise<TextProcessingResult> {
  const start = performance.now();
  const split = await splitDataset(ctx, datasetFile, ctx.params.chunkSize);
  for (let c = 0; c < split.chunks; c++) {
    await processChunk(ctx, c);
    await ctx.progress?.(Math.round((100 * (c + 1)) / split.chunks));
  }
  const merged = await mergeChunks(ctx, split.chunks, split.stats.kept);
  await removeChunkFiles(ctx);
  return { tickets: ARTIFACTS.tickets, rows: merged.rows, chunks: split.chunks, stats: split.stats, seconds: secondsSince(start) };
}

/** Chunk files are intermediate: once `tickets.csv` is in place they only take space. */
export async function removeChunkFiles(ctx: StageContext): Promise<void> {
  await fsp.rm(artifactPath(ctx, ARTIFACTS.chunksDir), { recursive: true, force: true });
}
