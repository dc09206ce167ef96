import path from 'node:path';
import { StageContext, artifactPath, ARTIFACTS } from '../context';

/** Chunk `i`'s input (normalised records, JSON Lines) and output (CSV rows without header). */
export function chunkInputPath(ctx: Pick<StageContext, 'storageDir' | 'runId'>, chunk: number): string {
  return path.join(artifactPath(ctx, ARTIFACTS.chunksDir), `input-${String(chunk).padStart(5, '0')}.jsonl`);
}

export function chunkOutputPath(ctx: Pick<StageContext, 'storageDir' | 'runId'>, chunk: number): string {
  return path.join(artifactPath(ctx, ARTIFACTS.chunksDir), `tickets-${String(chunk).padStart(5, '0')}.csv`);
}

/** One kept record in a chunk input file; short keys keep the files small. */
export interface ChunkLine {
  /** record index in the dataset */
  i: number;
  /** narrative */
  n: string;
  /** category: product, plus " + sub_product" when present */
  c: string;
}
