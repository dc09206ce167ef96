import { Readable } from 'node:stream';
import type { ArtifactStore } from '../../../core/store/artifact-store';
import { readCsv } from '../../../core/io/read-csv';
import { indexedRows, readRowOffsets, writeMissingIndex } from '../../../core/io/row-index';

/**
 * A fixed block of a CSV artifact's rows: rows `first` … `first + rows − 1`, bytes [start, end). Blocks
 * are cut every `blockSize` rows from the first, whatever the number of workers, so what is computed per
 * block and reduced in block order is the same bytes on any deployment.
 */
export interface Block {
  index: number;
  first: number;
  rows: number;
  start: number;
  end: number;
}

export interface BlockPlan {
  /** the CSV's key */
  key: string;
  /** bytes of its header line */
  header: number;
  rows: number;
  blockSize: number;
  blocks: Block[];
}

/**
 * The blocks of `key` (a CSV with a row index beside it; one is written first if missing): one ranged
 * read of the index per block boundary, nothing of the CSV itself.
 */
export async function planBlocks(store: ArtifactStore, key: string, blockSize: number): Promise<BlockPlan> {
  if (!Number.isInteger(blockSize) || blockSize < 1)
    throw new RangeError(`blockSize must be a whole number ≥ 1, got ${blockSize}`);
  await writeMissingIndex(store, key);
  const rows = (await indexedRows(store, key))!;
  const header = (await readRowOffsets(store, key, 0, 0))[0]!;
  const blocks: Block[] = [];
  for (let first = 0, index = 0; first < rows; first += blockSize, index++) {
    const last = Math.min(rows, first + blockSize);
    const [start, end] = await Promise.all([
      readRowOffsets(store, key, first, first),
      readRowOffsets(store, key, last, last),
    ]);
    blocks.push({ index, first, rows: last - first, start: start[0]!, end: end[0]! });
  }
  return { key, header, rows, blockSize, blocks };
}

/**
 * Streams one block's rows through the CSV reader (its header, then the block's bytes: two ranged
 * reads); `onRow` gets each row's `columns` and its row number within the block.
 */
export async function readBlockRows(
  store: ArtifactStore,
  plan: Pick<BlockPlan, 'key' | 'header'>,
  block: Block,
  columns: readonly string[],
  onRow: (row: Record<string, string>, index: number) => void,
): Promise<number> {
  const header = await store.openRead(plan.key, { start: 0, end: plan.header - 1 });
  async function* bytes() {
    for await (const piece of header) yield piece as Buffer;
    if (block.end > block.start) {
      for await (const piece of await store.openRead(plan.key, { start: block.start, end: block.end - 1 }))
        yield piece as Buffer;
    }
  }
  const read = await readCsv(
    Readable.from(bytes()),
    `${store.locate(plan.key)} (rows ${block.first}–${block.first + block.rows - 1})`,
    columns,
    onRow,
  );
  if (read !== block.rows)
    throw new Error(
      `${store.locate(plan.key)}: block ${block.index} should hold ${block.rows} rows, it holds ${read}: its index does not match it; rerun the stage that wrote it`,
    );
  return read;
}
