import { argmaxRows } from '../../../core/numeric/nmf';
import { frobeniusCross } from '../../../core/numeric/nmf-blocks';
import { csvRow } from '../../../core/io/csv';
import { IndexedCsvWriter, readRowOffsets } from '../../../core/io/row-index';
import type { ArtifactStore } from '../../../core/store/artifact-store';
import { BlockTaskDef } from '../blocks/block-task';
import { Block } from '../blocks/plan-blocks';
import { ARTIFACTS, StageContext, artifactKey } from '../context';
import { FE_STAGE, feFiles, feKey, getFloat64, getMatrixCached } from './block-files';

export interface TopicsInput {
  block: Block;
  /** the NMF iteration whose W is final (Hᵀ's final value is `nmf/<iteration + 1>/ht`) */
  iteration: number;
  /** topic names by component */
  names: string[];
}

export interface TopicsOutput {
  /** tickets per topic */
  sizes: number[];
  /** Σ (X_b·Hᵀ)∘W_b, the block's cross term of the reconstruction error */
  cross: number;
}

/**
 * Each ticket's topic, the argmax of its final row of W, written as the block's labels
 * (`topics/labels-<b>.bin`, int32), with the block's topic sizes and cross term. The rows of
 * tickets_topics.csv are the stage's to write (appendTopicRows), in block order as the blocks complete:
 * a block's rows are read once and written once, where a part per block wrote them twice (at 1.6M
 * tickets 2 GB more to write, on a disk the run already keeps busy).
 */
export const TOPICS_TASK: BlockTaskDef<TopicsInput, TopicsOutput> = {
  name: 'fe.topics',
  stage: FE_STAGE,
  writes: ({ block }) => [feFiles.topicLabels(block.index)],
  async run(ctx, { block, iteration, names }) {
    const k = names.length;
    const X = await getMatrixCached(ctx.store, feKey(ctx, feFiles.tfidf(block.index)));
    const [W, Ht] = await Promise.all([
      getFloat64(ctx.store, feKey(ctx, feFiles.w(iteration, block.index)), X.rows * k),
      getFloat64(ctx.store, feKey(ctx, feFiles.ht(iteration + 1)), X.cols * k),
    ]);
    const labels = argmaxRows(W, X.rows, k);
    const sizes = new Array<number>(k).fill(0);
    for (const label of labels) sizes[label]!++;
    await ctx.store.put(
      feKey(ctx, feFiles.topicLabels(block.index)),
      new Uint8Array(labels.buffer, labels.byteOffset, labels.byteLength),
    );
    return { sizes, cross: frobeniusCross(X, W, Ht, k) };
  },
};

/**
 * Appends block `block`'s rows of tickets_topics.csv to `out`, from the labels its TOPICS_TASK wrote.
 * Each row is the ticket's line of tickets.csv with `,<topic name>` before its newline: tickets.csv is
 * written by csvRow (stage 1), so this is csvRow of the four fields, without parsing the block's text
 * again (its document-frequency task parsed and checked it).
 */
export async function appendTopicRows(
  ctx: StageContext,
  out: IndexedCsvWriter,
  block: Block,
  names: readonly string[],
): Promise<void> {
  const { store } = ctx;
  const labelsKey = feKey(ctx, feFiles.topicLabels(block.index));
  const tickets = artifactKey(ctx, ARTIFACTS.tickets);
  const [labelBytes, text, offsets] = await Promise.all([
    store.get(labelsKey),
    readRange(store, tickets, block.start, block.end),
    readRowOffsets(store, tickets, block.first, block.first + block.rows),
  ]);
  if (labelBytes.byteLength !== 4 * block.rows)
    throw new Error(
      `${store.locate(labelsKey)} holds ${labelBytes.byteLength / 4} labels, not ${block.rows}: rerun the stage`,
    );
  const labels = new Int32Array(new Uint8Array(labelBytes).buffer);
  const suffixes = names.map((name) => Buffer.from(`,${csvRow([name])}`, 'utf8'));
  const lengths = new Array<number>(block.rows);
  let total = 0;
  for (let r = 0; r < block.rows; r++) {
    lengths[r] =
      rowEnd(text, offsets[r]! - block.start, offsets[r + 1]! - block.start) - (offsets[r]! - block.start);
    total += lengths[r]! + suffixes[labels[r]!]!.length;
  }
  const rows = Buffer.allocUnsafe(total);
  for (let r = 0, at = 0; r < block.rows; r++) {
    const from = offsets[r]! - block.start;
    // TypedArray#set: a plain memory copy, several times cheaper per call than Buffer#copy.
    rows.set(text.subarray(from, from + lengths[r]!), at);
    at += lengths[r]!;
    rows.set(suffixes[labels[r]!]!, at);
    at += suffixes[labels[r]!]!.length;
    lengths[r]! += suffixes[labels[r]!]!.length;
  }
  await out.encodedRows(rows, lengths);
}

/** Where the row in text[from, to) ends before its newline (CRLF read as LF, as the CSV reader does). */
function rowEnd(text: Buffer, from: number, to: number): number {
  if (to > from && text[to - 1] === 10) return to - 1 > from && text[to - 2] === 13 ? to - 2 : to - 1;
  return to;
}

/** Bytes [start, end) of `key`, one ranged read. */
async function readRange(store: ArtifactStore, key: string, start: number, end: number): Promise<Buffer> {
  if (end <= start) return Buffer.alloc(0);
  const parts: Buffer[] = [];
  for await (const piece of await store.openRead(key, { start, end: end - 1 })) parts.push(piece as Buffer);
  const bytes = Buffer.concat(parts);
  if (bytes.length !== end - start)
    throw new Error(
      `${store.locate(key)}: bytes ${start}–${end - 1} asked, ${bytes.length} read: rerun the stage that wrote it`,
    );
  return bytes;
}
