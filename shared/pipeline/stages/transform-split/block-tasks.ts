import type { ArtifactStore } from '../../../core/store/artifact-store';
import { encodeCsr } from '../../../core/io/csr-file';
import { countDocumentFrequencies } from '../../../core/numeric/document-frequencies';
import { transformCounts, vocabularyIndex } from '../../../core/numeric/vectorizer';
import { countVectorizerOptions } from '../../model/model-file';
import { BlockTaskContext, BlockTaskDef } from '../blocks/block-mapper';
import { Block, readBlockRows } from '../blocks/plan-blocks';
import { ARTIFACTS, artifactKey } from '../context';
import { fitSettings, labelColumn } from './fit-settings';

/**
 * Transform-split's block tasks (see blocks/block-mapper.ts), one round after another over the blocks of
 * `tickets_topics.csv`: each block's label values, the document frequencies of the texts the vocabulary
 * is fitted on, and each block's count rows. Their files live under `blocks/transform-split/`, named by
 * block number, so a task run twice writes the same file.
 */
export interface BlockInput {
  block: Block;
  /** bytes of the CSV's header line (BlockPlan.header) */
  header: number;
}

/** A block's label column: its distinct values in order of first appearance. */
export interface BlockLabelValues {
  values: string[];
  /** rows per value */
  counts: number[];
  /** the block's first row (0-based within the block) holding each value */
  first: number[];
}

/** Files the tasks and the stage share, keyed by the run. */
export const BLOCK_FILES = {
  dir: `${ARTIFACTS.blocksDir}/transform-split/`,
  /** per row of a block, the index of its label value in BlockLabelValues.values (int32) */
  values: (block: number) => `values-${blockNumber(block)}.bin`,
  /** per ticket, 1 when the vocabulary is fitted on its text (uint8; category labels only) */
  fitRows: 'fit-rows.bin',
  /** per ticket, its label, −1 when dropped (int32) */
  labels: 'labels.bin',
  /** a block's document frequencies (DocumentFrequencies as JSON) */
  documentFrequencies: (block: number) => `df-${blockNumber(block)}.json`,
  /** the fitted vocabulary (JSON array of terms) */
  vocabulary: 'vocabulary.json',
  /** a block's count rows with their labels (a features matrix file of its rows) */
  rows: (block: number) => `rows-${blockNumber(block)}.bin`,
} as const;

function blockNumber(block: number): string {
  return String(block).padStart(6, '0');
}

/** The store key of one of the stage's block files. */
export function blockKey(ctx: Pick<BlockTaskContext, 'runId'>, name: string): string {
  return artifactKey(ctx, `${BLOCK_FILES.dir}${name}`);
}

function source(ctx: BlockTaskContext, header: number) {
  return { key: artifactKey(ctx, ARTIFACTS.ticketsTopics), header };
}

/** The label column's values in one block, and each row's value (as an index) in a file. */
export const LABEL_VALUES_TASK: BlockTaskDef<BlockInput, BlockLabelValues> = {
  name: 'ts.label-values',
  async run(ctx, { block, header }) {
    const column = labelColumn(ctx.params);
    const at = new Map<string, number>();
    const out: BlockLabelValues = { values: [], counts: [], first: [] };
    const rows = new Int32Array(block.rows);
    await readBlockRows(ctx.store, source(ctx, header), block, [column], (row, r) => {
      const value = row[column]!;
      let i = at.get(value);
      if (i === undefined) {
        i = out.values.length;
        at.set(value, i);
        out.values.push(value);
        out.counts.push(0);
        out.first.push(r);
      }
      out.counts[i]!++;
      rows[r] = i;
    });
    await ctx.store.put(blockKey(ctx, BLOCK_FILES.values(block.index)), bytesOf(rows));
    return out;
  },
};

/**
 * The document frequencies of a block's texts that the vocabulary is fitted on (every row, or those
 * `fit-rows.bin` marks), tokenized as the vectorizer counts them; the terms go to a file.
 */
export const DOCUMENT_FREQUENCIES_TASK: BlockTaskDef<BlockInput, { docs: number; terms: number }> = {
  name: 'ts.document-frequencies',
  async run(ctx, { block, header }) {
    const fit = fitSettings(ctx.params);
    const mask =
      fit.fittedOn === 'train'
        ? await readRange(ctx.store, blockKey(ctx, BLOCK_FILES.fitRows), block.first, block.rows)
        : null;
    const docs: string[] = [];
    await readBlockRows(ctx.store, source(ctx, header), block, [fit.column], (row, r) => {
      if (mask === null || mask[r] === 1) docs.push(fit.textOf(row[fit.column]!));
    });
    const df = countDocumentFrequencies(
      (visit) => docs.forEach((d) => visit(d)),
      countVectorizerOptions(fit.vectorizer),
    );
    await ctx.store.put(blockKey(ctx, BLOCK_FILES.documentFrequencies(block.index)), JSON.stringify(df));
    return { docs: df.docs, terms: df.terms.length };
  },
};

/**
 * A block's count rows in the fitted vocabulary (every row, fitted on or not: transformCounts gives the
 * rows fitCountVectorizer would) with the rows' labels, as a features matrix file of the block's rows.
 */
export const COUNT_ROWS_TASK: BlockTaskDef<BlockInput, { rows: number; nnz: number }> = {
  name: 'ts.count-rows',
  async run(ctx, { block, header }) {
    const fit = fitSettings(ctx.params);
    const [vocabulary, labelBytes] = await Promise.all([
      ctx.store.get(blockKey(ctx, BLOCK_FILES.vocabulary)),
      readRange(ctx.store, blockKey(ctx, BLOCK_FILES.labels), 4 * block.first, 4 * block.rows),
    ]);
    const index = vocabularyIndex(JSON.parse(vocabulary.toString('utf8')) as string[]);
    const labels = new Int32Array(block.rows);
    bytesOf(labels).set(labelBytes);
    const docs: string[] = [];
    await readBlockRows(ctx.store, source(ctx, header), block, [fit.column], (row) => {
      docs.push(fit.textOf(row[fit.column]!));
    });
    const counts = transformCounts(docs, index, countVectorizerOptions(fit.vectorizer));
    await ctx.store.put(blockKey(ctx, BLOCK_FILES.rows(block.index)), encodeCsr(counts, labels));
    return { rows: counts.rows, nnz: counts.indptr[counts.rows]! };
  },
};

export const TRANSFORM_SPLIT_TASKS: readonly BlockTaskDef<never, unknown>[] = [
  LABEL_VALUES_TASK,
  DOCUMENT_FREQUENCIES_TASK,
  COUNT_ROWS_TASK,
];

/** A typed array's bytes, as a view. */
export function bytesOf(a: Int32Array | Uint8Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Bytes [start, start + length) of `key`, by one ranged read. */
export async function readRange(
  store: ArtifactStore,
  key: string,
  start: number,
  length: number,
): Promise<Buffer> {
  if (length === 0) return Buffer.alloc(0);
  const pieces: Buffer[] = [];
  for await (const piece of await store.openRead(key, { start, end: start + length - 1 }))
    pieces.push(piece as Buffer);
  const all = Buffer.concat(pieces);
  if (all.length !== length)
    throw new Error(`${store.locate(key)}: expected ${length} bytes at offset ${start}, read ${all.length}`);
  return all;
}
