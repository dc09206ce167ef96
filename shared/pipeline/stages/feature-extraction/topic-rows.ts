import { csvRow } from '../../../core/io/csv';
import { readRowOffsets } from '../../../core/io/row-index';
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

async function ticketLines(ctx: { store: ArtifactStore; runId: string }, block: Block): Promise<TicketLines> {
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
function topicRowsBytes(lines: TicketLines, labels: Int32Array, suffixes: readonly Buffer[]): number {
  let total = 0;
  for (let r = 0; r < labels.length; r++)
    total += lines.to[r]! - lines.from[r]! + suffixes[labels[r]!]!.length;
  return total;
}

/** The rows, one after another, and each one's bytes. */
function renderTopicRows(
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

/** Block `block`'s rows of tickets_topics.csv, from its TOPICS_TASK's labels and its tickets.csv lines. */
export async function blockTopicRows(
  ctx: { store: ArtifactStore; runId: string } & StageTry,
  block: Block,
  suffixes: readonly Buffer[],
): Promise<{ rows: Buffer; lengths: Float64Array }> {
  const [labels, lines] = await Promise.all([readTopicLabels(ctx, block), ticketLines(ctx, block)]);
  return renderTopicRows(lines, labels, suffixes);
}

/** Block `block`'s topics, as its TOPICS_TASK wrote them. */
async function readTopicLabels(
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
  /** the block's piece of tickets_topics.csv: its number, where it starts, its bytes (header included) */
  piece: { index: number; offset: number; bytes: number };
  /** the header, which piece 0 starts with; null for the others */
  header: string | null;
  /** the upload of tickets_topics.csv (ArtifactStore.placed) */
  upload: string;
}

/**
 * Writes block `block`'s rows of tickets_topics.csv as its piece of the stage's upload, and their offsets
 * (`topics/rows-<b>.idx`, float64, from 0 to the rows' bytes) for the stage to append to the index:
 * every block at once, each in its own process, where one process appending them in turn was the stage's
 * longest serial step (at 1.6M tickets 80 blocks of 25 MB, ~9 s). Runs again to the same bytes; the
 * upload is the try's, so it names no files to reuse.
 */
export const TOPIC_ROWS_TASK: BlockTaskDef<TopicRowsInput, { receipt: string }> = {
  name: 'fe.topic-rows',
  stage: FE_STAGE,
  async run(ctx, { block, names, piece, header, upload }) {
    const placed = ctx.store.placed;
    if (placed === undefined) throw new Error(`${ctx.store.url} cannot write an artifact in pieces`);
    const rendered = await blockTopicRows(ctx, block, topicSuffixes(names));
    const head = header === null ? null : Buffer.from(header, 'utf8');
    const data = head === null ? rendered.rows : Buffer.concat([head, rendered.rows]);
    if (data.length !== piece.bytes)
      throw new Error(
        `block ${block.index}'s rows of ${ARTIFACTS.ticketsTopics} are ${rendered.rows.length} bytes, not the ${piece.bytes - (head?.length ?? 0)} their place holds: a row of ${ARTIFACTS.tickets} does not end with one "\\n" (stage 1 writes them so); rerun the run from its first stage`,
      );
    const offsets = new Float64Array(block.rows + 1);
    for (let r = 0; r < block.rows; r++) offsets[r + 1] = offsets[r]! + rendered.lengths[r]!;
    await ctx.store.put(feKey(ctx, feFiles.topicRows(block.index)), new Uint8Array(offsets.buffer));
    const key = artifactKey(ctx, ARTIFACTS.ticketsTopics);
    return { receipt: await placed.write(key, upload, piece, data) };
  },
};

/** Where the row in text[from, to) ends before its newline (CRLF read as LF, as the CSV reader does). */
function rowEnd(text: Buffer, from: number, to: number): number {
  if (to > from && text[to - 1] === 10) return to - 1 > from && text[to - 2] === 13 ? to - 2 : to - 1;
  return to;
}
