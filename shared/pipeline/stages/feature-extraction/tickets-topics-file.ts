import { csvRow } from '../../../core/io/csv';
import { IndexedCsvWriter, rowIndexKey } from '../../../core/io/row-index';
import type { PlacedWrites } from '../../../core/store/artifact-store';
import { BlockMapper } from '../blocks/block-mapper';
import { Block } from '../blocks/plan-blocks';
import { ARTIFACTS, StageContext, TICKETS_TOPICS_COLUMNS, artifactKey } from '../context';
import { TOPICS_TASK, TopicsInput, TopicsOutput } from './topics-task';
import { TOPIC_ROWS_TASK, readTopicLabels, renderTopicRows, ticketLines, topicSuffixes } from './topic-rows';

/**
 * Each ticket's topic over the blocks (TOPICS_TASK), and `tickets_topics.csv` with its row index, put in
 * place whole or not at all. Where the store can write in place (ArtifactStore.placed: a shared folder)
 * and there are several blocks, every block writes its own rows at their offset, in parallel
 * (TOPIC_ROWS_TASK); elsewhere (S3) this process appends them in block order as the blocks complete. The
 * same bytes either way.
 */
export async function writeTicketsTopics(
  ctx: StageContext,
  mapper: BlockMapper,
  blocks: readonly Block[],
  iteration: number,
  names: string[],
): Promise<TopicsOutput[]> {
  // One block gains nothing from a round of its own (a job's round trip): this process appends it.
  const placed = blocks.length > 1 ? ctx.store.placed : undefined;
  const inputs = blocks.map((block) => ({ block, iteration, names }));
  if (placed === undefined) return appendInOrder(ctx, mapper, blocks, inputs, names);
  const labelled = await mapper.map(TOPICS_TASK, inputs);
  ctx.signal?.throwIfAborted();
  await writeInPlace(ctx, mapper, placed, blocks, names, labelled);
  return labelled;
}

async function writeInPlace(
  ctx: StageContext,
  mapper: BlockMapper,
  placed: PlacedWrites,
  blocks: readonly Block[],
  names: string[],
  labelled: readonly TopicsOutput[],
): Promise<void> {
  const header = Buffer.from(csvRow(TICKETS_TOPICS_COLUMNS), 'utf8');
  // A block's rows are its lines of tickets.csv, each with its topic's suffix in place of its newline:
  // sizes known from the blocks' byte ranges and topic counts, without reading them. tickets.csv is
  // stage 1's, every row of it ended by csvRow's one "\n"; each TOPIC_ROWS_TASK checks its own.
  const suffixes = topicSuffixes(names);
  const bytes = blocks.map(
    (b, i) =>
      b.end - b.start - b.rows + labelled[i]!.sizes.reduce((sum, n, t) => sum + n * suffixes[t]!.length, 0),
  );
  const offsets = [header.length];
  for (const b of bytes) offsets.push(offsets[offsets.length - 1]! + b);
  const rows = blocks.reduce((n, b) => n + b.rows, 0);
  const key = artifactKey(ctx, ARTIFACTS.ticketsTopics);
  const indexKey = rowIndexKey(key);
  const csv = await placed.start(key, offsets[offsets.length - 1]!);
  let index: string | undefined;
  try {
    index = await placed.start(indexKey, 8 * (rows + 1));
    await placed.write(key, csv, 0, header);
    await placed.write(indexKey, index, 0, new Uint8Array(Float64Array.of(header.length).buffer));
    const uploads = { csv, index };
    await mapper.map(
      TOPIC_ROWS_TASK,
      blocks.map((block, i) => ({ block, names, offset: offsets[i]!, bytes: bytes[i]!, uploads })),
    );
    // A cancelled run writes nothing more: abort rather than put tickets_topics.csv in place.
    ctx.signal?.throwIfAborted();
    // The index last, so an index is never there without its file (as IndexedCsvWriter commits).
    await placed.complete(key, csv);
    await placed.complete(indexKey, index);
  } catch (err) {
    await placed.abort(key, csv);
    if (index !== undefined) await placed.abort(indexKey, index);
    throw err;
  }
}

async function appendInOrder(
  ctx: StageContext,
  mapper: BlockMapper,
  blocks: readonly Block[],
  inputs: TopicsInput[],
  names: readonly string[],
): Promise<TopicsOutput[]> {
  const out = await IndexedCsvWriter.open(
    ctx.store,
    artifactKey(ctx, ARTIFACTS.ticketsTopics),
    csvRow(TICKETS_TOPICS_COLUMNS),
  );
  const suffixes = topicSuffixes(names);
  try {
    const labelled = await mapper.map(TOPICS_TASK, inputs, {
      // Each block's rows join tickets_topics.csv once it and the blocks before it are done: the writing
      // runs alongside the later blocks' work, not after.
      inOrder: async (_, i) => {
        const block = blocks[i]!;
        const [labels, lines] = await Promise.all([readTopicLabels(ctx, block), ticketLines(ctx, block)]);
        const { rows, lengths } = renderTopicRows(lines, labels, suffixes);
        await out.encodedRows(rows, lengths);
      },
    });
    ctx.signal?.throwIfAborted();
    const n = blocks.reduce((sum, b) => sum + b.rows, 0);
    if (out.rows !== n)
      throw new Error(
        `${ARTIFACTS.ticketsTopics} would hold ${out.rows} rows, not ${n}: a block's rows were not appended`,
      );
    await out.commit();
    return labelled;
  } catch (err) {
    await out.abort();
    throw err;
  }
}
