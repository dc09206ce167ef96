import { csvRow } from '../../../core/io/csv';
import { readRowOffsets, rowIndexKey } from '../../../core/io/row-index';
import type { ArtifactStore } from '../../../core/store/artifact-store';
import { BlockTaskDef, StageTry } from '../blocks/block-task';
import { Block } from '../blocks/plan-blocks';
import { ARTIFACTS, artifactKey } from '../context';
import { FE_STAGE, feFiles, feKey } from './block-files';

/**
 * A block's rows of tickets_topics.csv: each is the ticket's line of tickets.csv with `,<topic name>`
 * before its newline. tickets.csv is written by csvRow (stage 1), so this is csvRow of the four fields,
 * without parsing the block's text again (its document-frequency task parsed and checked it).
 */

/** Block `block`'s lines of tickets.csv: its bytes, and where each line starts and ends before its newline. */
export interface TicketLines {
  text: Buffer;
  /** line r is text[from[r], to[r]) */
  from: Float64Array;
  to: Float64Array;
}

export async function ticketLines(
  ctx: { store: ArtifactStore; runId: string },
  block: Block,
): Promise<TicketLines> {
  const { store } = ctx;
  const tickets = artifactKey(ctx, ARTIFACTS.tickets);
  const [text, offsets] = await Promise.all([
    store.getRange(tickets, { start: block.start, end: block.end - 1 }),
    readRowOffsets(store, tickets, block.first, block.first + block.rows),
  ]);
  const from = new Float64Array(block.rows);
  const to = new Float64Array(block.rows);
  for (let r = 0; r < block.rows; r++) {
    from[r] = offsets[r]! - block.start;
    to[r] = rowEnd(text, from[r]!, offsets[r + 1]! - block.start);
  }
  return { text, from, to };
}

/** What each topic's rows end with: `,<name>\n`, by topic. */
export function topicSuffixes(names: readonly string[]): Buffer[] {
  return names.map((name) => Buffer.from(`,${csvRow([name])}`, 'utf8'));
}

/** Bytes of the rows of `lines` labelled `labels`. */
export function topicRowsBytes(lines: TicketLines, labels: Int32Array, suffixes: readonly Buffer[]): number {
  let total = 0;
  for (let r = 0; r < labels.length; r++)
    total += lines.to[r]! - lines.from[r]! + suffixes[labels[r]!]!.length;
  return total;
}

/** The rows, one after another, and each one's bytes. */
export function renderTopicRows(
  lines: TicketLines,
  labels: Int32Array,
  suffixes: readonly Buffer[],
): { rows: Buffer; lengths: Float64Array } {
  const rows = Buffer.allocUnsafe(topicRowsBytes(lines, labels, suffixes));
  const lengths = new Float64Array(labels.length);
  for (let r = 0, at = 0; r < labels.length; r++) {
    const suffix = suffixes[labels[r]!]!;
    // TypedArray#set: a plain memory copy, several times cheaper per call than Buffer#copy.
    rows.set(lines.text.subarray(lines.from[r]!, lines.to[r]!), at);
    at += lines.to[r]! - lines.from[r]!;
    rows.set(suffix, at);
    at += suffix.length;
    lengths[r] = lines.to[r]! - lines.from[r]! + suffix.length;
  }
  return { rows, lengths };
}

/** Block `block`'s topics, as its TOPICS_TASK wrote them. */
export async function readTopicLabels(
  ctx: { store: ArtifactStore; runId: string } & StageTry,
  block: Block,
): Promise<Int32Array> {
  const key = feKey(ctx, feFiles.topicLabels(block.index));
  const bytes = await ctx.store.get(key);
  if (bytes.byteLength !== 4 * block.rows)
    throw new Error(
      `${ctx.store.locate(key)} holds ${bytes.byteLength / 4} labels, not ${block.rows}: rerun the stage`,
    );
  return new Int32Array(new Uint8Array(bytes).buffer);
}

export interface TopicRowsInput {
  block: Block;
  names: string[];
  /** where the block's rows start in tickets_topics.csv, and their bytes */
  offset: number;
  bytes: number;
  /** the uploads of tickets_topics.csv and of its index (ArtifactStore.placed) */
  uploads: { csv: string; index: string };
}

/**
 * Writes block `block`'s rows of tickets_topics.csv, and their entries of its index, in place in the
 * stage's uploads: every block at once, each in its own process, where one process appending them in
 * turn was the stage's longest serial step (at 1.6M tickets 80 blocks of 25 MB, ~9 s). Runs again to the
 * same bytes; the uploads are the try's, so it names no files to reuse.
 */
export const TOPIC_ROWS_TASK: BlockTaskDef<TopicRowsInput, { rows: number }> = {
  name: 'fe.topic-rows',
  stage: FE_STAGE,
  async run(ctx, { block, names, offset, bytes, uploads }) {
    const placed = ctx.store.placed;
    if (placed === undefined) throw new Error(`${ctx.store.url} cannot write an artifact in place`);
    const [labels, lines] = await Promise.all([readTopicLabels(ctx, block), ticketLines(ctx, block)]);
    const { rows, lengths } = renderTopicRows(lines, labels, topicSuffixes(names));
    if (rows.length !== bytes)
      throw new Error(
        `block ${block.index}'s rows of ${ARTIFACTS.ticketsTopics} are ${rows.length} bytes, not the ${bytes} its place holds: a row of ${ARTIFACTS.tickets} does not end with one "\\n" (stage 1 writes them so); rerun the run from its first stage`,
      );
    // Index entries r + 1 … of the block's rows: where each ends.
    const ends = new Float64Array(block.rows);
    for (let r = 0, at = offset; r < block.rows; r++) ends[r] = at += lengths[r]!;
    const key = artifactKey(ctx, ARTIFACTS.ticketsTopics);
    await Promise.all([
      placed.write(key, uploads.csv, offset, rows),
      placed.write(rowIndexKey(key), uploads.index, 8 * (block.first + 1), new Uint8Array(ends.buffer)),
    ]);
    return { rows: block.rows };
  },
};

/** Where the row in text[from, to) ends before its newline (CRLF read as LF, as the CSV reader does). */
function rowEnd(text: Buffer, from: number, to: number): number {
  if (to > from && text[to - 1] === 10) return to - 1 > from && text[to - 2] === 13 ? to - 2 : to - 1;
  return to;
}
