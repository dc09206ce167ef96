import { readTickets, ReadStats } from '../../dataset/read-tickets';
import { AtomicWriter, openAtomicWriter } from '../../storage';
import { StageContext, secondsSince } from '../context';
import { ChunkLine, chunkInputPath } from './chunk-files';

export interface SplitDatasetResult {
  chunks: number;
  /** kept records per chunk, in chunk order */
  chunkSizes: number[];
  stats: ReadStats;
  seconds: number;
}

export function categoryOf(product: string, subProduct: string | null): string {
  return subProduct ? `${product} + ${subProduct}` : product;
}

/**
 * Read the dataset as a stream and cut its kept records into chunk files of `chunkSize` records, so chunk
 * jobs on any worker read only their own slice. Chunk files depend only on the dataset and `chunkSize`,
 * so a rerun rewrites the same bytes.
 */
export async function splitDataset(
  ctx: StageContext,
  datasetFile: string,
  chunkSize: number,
  /** called as soon as each chunk file is in place, so its processing can start while the split goes on */
  onChunk?: (chunk: number, rows: number) => Promise<void>,
): Promise<SplitDatasetResult> {
  const start = performance.now();
  const chunkSizes: number[] = [];
  let writer: AtomicWriter | null = null;
  let inChunk = 0;
  try {
    const stats = await readTickets(datasetFile, async (rec) => {
      if (writer === null || inChunk === chunkSize) {
        if (writer) {
          await writer.commit();
          await onChunk?.(chunkSizes.length - 1, inChunk);
        }
        writer = await openAtomicWriter(chunkInputPath(ctx, chunkSizes.length));
        chunkSizes.push(0);
        inChunk = 0;
      }
      const line: ChunkLine = { i: rec.index, n: rec.narrative, c: categoryOf(rec.product, rec.subProduct) };
      await writer.write(JSON.stringify(line) + '\n');
      inChunk++;
      chunkSizes[chunkSizes.length - 1] = inChunk;
    });
    if (writer) {
      await (writer as AtomicWriter).commit();
      writer = null;
      await onChunk?.(chunkSizes.length - 1, inChunk);
    }
    ctx.log.info(
      `read ${stats.read} records from ${datasetFile}: kept ${stats.kept}, dropped ${JSON.stringify(stats.dropped)}; ${chunkSizes.length} chunk(s) of up to ${chunkSize}`,
    );
    return { chunks: chunkSizes.length, chunkSizes, stats, seconds: secondsSince(start) };
  } finally {
    if (writer) await (writer as AtomicWriter).abort();
  }
}
