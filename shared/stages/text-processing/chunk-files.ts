import path from 'node:path';
import { StageContext, artifactPath, ARTIFACTS } from '../context';

/** Chunk `i`'s output: its tickets.csv rows, without header. */
export function chunkOutputPath(ctx: Pick<StageContext, 'storageDir' | 'runId'>, chunk: number): string {
  return path.join(artifactPath(ctx, ARTIFACTS.chunksDir), `tickets-${String(chunk).padStart(5, '0')}.csv`);
}

export function categoryOf(product: string, subProduct: string | null): string {
  return subProduct ? `${product} + ${subProduct}` : product;
}
