import fs from 'node:fs';
import { csvRow } from '../../io/csv';
import { openAtomicWriter } from '../../storage';
import { ARTIFACTS, StageContext, TICKETS_COLUMNS, artifactPath, secondsSince } from '../context';
import { chunkOutputPath } from './chunk-files';

export interface MergeChunksResult {
  rows: number;
  seconds: number;
}

/** Concatenate the chunks' rows in input order under one header into `tickets.csv`. */
export async function mergeChunks(ctx: StageContext, chunks: number, expectedRows: number): Promise<MergeChunksResult> {
  const start = performance.now();
  const out = await openAtomicWriter(artifactPath(ctx, ARTIFACTS.tickets));
  try {
    await out.write(csvRow(TICKETS_COLUMNS));
    for (let c = 0; c < chunks; c++) {
      const file = chunkOutputPath(ctx, c);
      for await (const piece of fs.createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
        await out.write(piece as string);
      }
    }
    await out.commit();
  } catch (err) {
    await out.abort();
    throw new Error(`merging text-processing chunks of run ${ctx.runId} failed: ${(err as Error).message}`, { cause: err });
  }
  return { rows: expectedRows, seconds: secondsSince(start) };
}
