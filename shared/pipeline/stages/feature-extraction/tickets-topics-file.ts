import { csvRow } from '../../../core/io/csv';
import { IndexedCsvWriter, RowIndexWriter, rowIndexKey } from '../../../core/io/row-index';
import type { ArtifactWriter, PlacedWrites } from '../../../core/store/artifact-store';
import { BlockMapper } from '../blocks/block-mapper';
import { Block } from '../blocks/plan-blocks';
import { ARTIFACTS, StageContext, TICKETS_TOPICS_COLUMNS, artifactKey } from '../context';
import { TOPICS_TASK, TopicsInput, TopicsOutput } from './topics-task';
import { TOPIC_ROWS_TASK, blockTopicRows, topicSuffixes } from './topic-rows';
import { feFiles, feKey, getFloat64 } from './block-files';

/**
 * Each ticket's topic over the blocks (TOPICS_TASK), and `tickets_topics.csv` with its row index, put in
 * place whole or not at all. Where the store can write an object in pieces from several processes
 * (ArtifactStore.placed: a shared folder, S3's multipart uploads) and the blocks make pieces it accepts,
 * every block writes its own rows, in parallel (TOPIC_ROWS_TASK); otherwise this process appends them in
 * block order as the blocks complete. The same bytes either way.
 */
export async function writeTicketsTopics(
  ctx: StageContext,
  mapper: BlockMapper,
  blocks: readonly Block[],
  iteration: number,
  names: string[],
): Promise<TopicsOutput[]> {
  const placed = ctx.store.placed;
  const inputs = blocks.map((block) => ({ block, iteration, names }));
  if (placed === undefined || !piecesFit(placed, blocks))
    return appendInOrder(ctx, mapper, blocks, inputs, names);
  const labelled = await mapper.map(TOPICS_TASK, inputs);
  ctx.signal?.throwIfAborted();
  await writeInPieces(ctx, mapper, placed, blocks, names, labelled);
  return labelled;
}

/**
 * Whether the blocks make pieces the store accepts: more than one (a round of its own for one block would
 * only add a job's round trip), each but the last at least `minPieceBytes` (a block's rows are at least
 * its bytes of tickets.csv less a newline a row; the topics only add).
 */
function piecesFit(placed: PlacedWrites, blocks: readonly Block[]): boolean {
  return (
    blocks.length > 1 && blocks.slice(0, -1).every((b) => b.end - b.start - b.rows >= placed.minPieceBytes)
  );
}

async function writeInPieces(
  ctx: StageContext,
  mapper: BlockMapper,
  placed: PlacedWrites,
  blocks: readonly Block[],
  names: string[],
  labelled: readonly TopicsOutput[],
): Promise<void> {
  const { store } = ctx;
  const header = csvRow(TICKETS_TOPICS_COLUMNS);
  const headerBytes = Buffer.byteLength(header, 'utf8');
  // A block's rows are its lines of tickets.csv, each with its topic's suffix in place of its newline:
  // sizes known from the blocks' byte ranges and topic counts, without reading them. tickets.csv is
  // stage 1's, every row of it ended by csvRow's one "\n"; each TOPIC_ROWS_TASK checks its own. Piece 0
  // holds the header too.
  const suffixes = topicSuffixes(names);
  const rowBytes = blocks.map(
    (b, i) =>
      b.end - b.start - b.rows + labelled[i]!.sizes.reduce((sum, n, t) => sum + n * suffixes[t]!.length, 0),
  );
  const pieces = rowBytes.map((bytes, i) => ({
    index: i,
    offset: 0,
    bytes: bytes + (i === 0 ? headerBytes : 0),
  }));
  for (let i = 1; i < pieces.length; i++) pieces[i]!.offset = pieces[i - 1]!.offset + pieces[i - 1]!.bytes;
  const size = pieces[pieces.length - 1]!.offset + pieces[pieces.length - 1]!.bytes;
  const key = artifactKey(ctx, ARTIFACTS.ticketsTopics);
  const upload = await placed.start(key, size);
  let indexOut: ArtifactWriter | undefined;
  try {
    const done = await mapper.map(
      TOPIC_ROWS_TASK,
      blocks.map((block, i) => ({
        block,
        names,
        piece: pieces[i]!,
        header: i === 0 ? header : null,
        upload,
      })),
    );
    // A cancelled run writes nothing more: abort rather than put tickets_topics.csv in place.
    ctx.signal?.throwIfAborted();
    // The index from the blocks' row offsets, committed after the file, so an index is never there without
    // its file (as IndexedCsvWriter commits).
    indexOut = await store.openWriter(rowIndexKey(key));
    const index = new RowIndexWriter(indexOut, headerBytes);
    for (const b of blocks)
      await index.part(await getFloat64(store, feKey(ctx, feFiles.topicRows(b.index)), b.rows + 1));
    await index.finish();
    const rows = blocks.reduce((n, b) => n + b.rows, 0);
    if (index.rows !== rows || index.end !== size)
      throw new Error(
        `${ARTIFACTS.ticketsTopics}'s index would hold ${index.rows} rows to byte ${index.end}, not ${rows} to ${size}: rerun the stage`,
      );
    await placed.complete(
      key,
      upload,
      done.map((d) => d.receipt),
    );
    await indexOut.commit();
  } catch (err) {
    await placed.abort(key, upload);
    await indexOut?.abort();
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
        const { rows, lengths } = await blockTopicRows(ctx, blocks[i]!, suffixes);
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
