import type { ByteRange } from '../../../core/store/artifact-store';
import { encodeCsr } from '../../../core/io/csr-file';
import { BlockTermCounter, documentFrequencies, remapColumns } from '../../../core/numeric/block-counts';
import { TermList, positionsIn } from '../../../core/numeric/term-list';
import { countVectorizerOptions } from '../../model/model-file';
import { BlockTaskContext, BlockTaskDef, scratchDir } from '../blocks/block-task';
import { Block, readBlockRows } from '../blocks/plan-blocks';
import { ARTIFACTS, artifactKey } from '../context';
import { fitSettings, labelColumn } from './fit-settings';
import { decodeMatrix } from '../feature-extraction/block-files';
import { handoffFiles, handoffKey } from '../feature-extraction/term-handoff';
import { decodeTermFrequencies } from '../../../core/numeric/document-frequencies';

/**
 * Transform-split's block tasks (see blocks/block-mapper.ts), in rounds over the blocks of
 * `tickets_topics.csv`. The first reads each block once: its label values, and its rows counted in the
 * block's own terms (with, for topic labels, whose vocabulary is fitted on every row, their document
 * frequencies). For category labels, fitted on the training split, a second round counts the document
 * frequencies of the block's training rows. The last turns each block's rows into columns of the
 * vocabulary the stage fitted. Each text is tokenized once. Files live in the attempt's scratch folder (`blocks-transform-split/` first),
 * named by block number, so a task run twice writes the same file.
 */
export interface BlockInput {
  block: Block;
  /** bytes of the CSV's header line (BlockPlan.header) */
  header: number;
}

/** A block's label column and terms. */
export interface BlockTerms {
  /** the label column's distinct values in order of first appearance */
  values: string[];
  /** rows per value */
  counts: number[];
  /** the block's first row (0-based within the block) holding each value */
  first: number[];
  /** distinct terms of the block's texts */
  terms: number;
}

export const TS_STAGE = 'transform-split';

/** Files the tasks and the stage share, in the attempt's scratch folder (blockKey). */
export const BLOCK_FILES = {
  /** per row of a block, the index of its label value in BlockTerms.values (int32) */
  values: (block: number) => `values-${blockNumber(block)}.bin`,
  /** a block's distinct terms, in code-point order (a TermList's bytes) */
  terms: (block: number) => `terms-${blockNumber(block)}.json`,
  /** a block's rows counted in its terms' columns (LocalRows) */
  localRows: (block: number) => `local-${blockNumber(block)}.bin`,
  /** per term of a block, the fitted rows holding it (int32) */
  documentFrequencies: (block: number) => `df-${blockNumber(block)}.bin`,
  /** per ticket, 1 when the vocabulary is fitted on its text (uint8; category labels only) */
  fitRows: 'fit-rows.bin',
  /** per ticket, its label, −1 when dropped (int32) */
  labels: 'labels.bin',
  /** the fitted vocabulary, in code-point order (a TermList's bytes) */
  vocabulary: 'vocabulary.json',
  /** a block's count rows with their labels (a features matrix file of its rows) */
  rows: (block: number) => `rows-${blockNumber(block)}.bin`,
} as const;

function blockNumber(block: number): string {
  return String(block).padStart(6, '0');
}

/** The store key of one of the stage's block files. */
export function blockKey(
  ctx: Pick<BlockTaskContext, 'runId' | 'attempt' | 'generation'>,
  name: string,
): string {
  return artifactKey(ctx, scratchDir(TS_STAGE, ctx) + name);
}

function source(ctx: BlockTaskContext, header: number) {
  return { key: artifactKey(ctx, ARTIFACTS.ticketsTopics), header };
}

/**
 * One read of a block: its label values (each row's as an index, in a file), its terms and its rows
 * counted in them, and for a vocabulary fitted on every row, the terms' document frequencies.
 */
export const BLOCK_TERMS_TASK: BlockTaskDef<BlockInput, BlockTerms> = {
  name: 'ts.block-terms',
  stage: TS_STAGE,
  writes: ({ block }, _, params) => [
    BLOCK_FILES.values(block.index),
    BLOCK_FILES.terms(block.index),
    BLOCK_FILES.localRows(block.index),
    ...(fitSettings(params).fittedOn === 'all' ? [BLOCK_FILES.documentFrequencies(block.index)] : []),
  ],
  async run(ctx, { block, header }) {
    const column = labelColumn(ctx.params);
    const fit = fitSettings(ctx.params);
    const at = new Map<string, number>();
    const out: BlockTerms = { values: [], counts: [], first: [], terms: 0 };
    const values = new Int32Array(block.rows);
    const counter = new BlockTermCounter(countVectorizerOptions(fit.vectorizer));
    await readBlockRows(ctx.store, source(ctx, header), block, [column, fit.column], (row, r) => {
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
      values[r] = i;
      counter.add(fit.textOf(row[fit.column]!));
    });
    const { terms, ...rows } = counter.finishCounts();
    out.terms = terms.count;
    const local: LocalRows = { ...rows, terms: terms.count };
    const writes = [
      ctx.store.put(blockKey(ctx, BLOCK_FILES.values(block.index)), bytesOf(values)),
      ctx.store.put(blockKey(ctx, BLOCK_FILES.terms(block.index)), terms.encode()),
      ctx.store.put(blockKey(ctx, BLOCK_FILES.localRows(block.index)), encodeLocalRows(local)),
    ];
    if (fit.fittedOn === 'all')
      writes.push(
        ctx.store.put(
          blockKey(ctx, BLOCK_FILES.documentFrequencies(block.index)),
          bytesOf(documentFrequencies(local, terms.count, null)),
        ),
      );
    await Promise.all(writes);
    return out;
  },
};

/**
 * The document frequencies of a block's terms over its rows `fit-rows.bin` marks (the training split):
 * from the rows the first round counted, without reading the block's text again.
 */
export const DOCUMENT_FREQUENCIES_TASK: BlockTaskDef<BlockInput, { docs: number }> = {
  name: 'ts.document-frequencies',
  stage: TS_STAGE,
  writes: ({ block }) => [BLOCK_FILES.documentFrequencies(block.index)],
  async run(ctx, { block }) {
    const [local, mask] = await Promise.all([
      ctx.store.get(blockKey(ctx, BLOCK_FILES.localRows(block.index))),
      ctx.store.getRange(blockKey(ctx, BLOCK_FILES.fitRows), rangeOf(block.first, block.rows)),
    ]);
    const rows = decodeLocalRows(local, block.rows);
    const df = documentFrequencies(rows, rows.terms, mask);
    await ctx.store.put(blockKey(ctx, BLOCK_FILES.documentFrequencies(block.index)), bytesOf(df));
    let docs = 0;
    for (const m of mask) docs += m;
    return { docs };
  },
};

export interface CountRowsInput extends BlockInput {
  /** the block's terms and counts are the ones stage 2 handed on (term-handoff.ts), not the first round's */
  handedOn: boolean;
}

/**
 * A block's rows in the fitted vocabulary's columns, with the rows' labels, as a features matrix file
 * of its rows: the block's rows counted in its own terms (the first round's, or stage 2's), each term
 * mapped to its column or dropped (pruned). Both term lists are in code-point order, so the mapping
 * keeps each row's columns sorted, and the counts are those transformCounts gives for the texts.
 */
export const COUNT_ROWS_TASK: BlockTaskDef<CountRowsInput, { rows: number; nnz: number }> = {
  name: 'ts.count-rows',
  stage: TS_STAGE,
  writes: ({ block }) => [BLOCK_FILES.rows(block.index)],
  async run(ctx, input) {
    const { block } = input;
    const vocabularyKey = blockKey(ctx, BLOCK_FILES.vocabulary);
    const [vocabulary, own, labelBytes] = await Promise.all([
      ctx.store.get(vocabularyKey),
      ownTermCounts(ctx, input),
      ctx.store.getRange(blockKey(ctx, BLOCK_FILES.labels), rangeOf(4 * block.first, 4 * block.rows)),
    ]);
    const merged = TermList.decode(vocabulary, ctx.store.locate(vocabularyKey));
    const column = positionsIn(own.terms, merged);
    const labels = new Int32Array(block.rows);
    bytesOf(labels).set(labelBytes);
    const counts = remapColumns(own.rows, own.counts, column, merged.count);
    await ctx.store.put(blockKey(ctx, BLOCK_FILES.rows(block.index)), encodeCsr(counts, labels));
    return { rows: counts.rows, nnz: counts.indptr[counts.rows]! };
  },
};

/** A block's terms and its rows counted in them: the first round's files, or those stage 2 handed on. */
async function ownTermCounts(
  ctx: BlockTaskContext,
  { block, handedOn }: CountRowsInput,
): Promise<{
  terms: TermList;
  rows: Pick<LocalRows, 'rows' | 'indptr' | 'indices'>;
  counts: ArrayLike<number>;
}> {
  if (handedOn) {
    const termsKey = handoffKey(ctx, handoffFiles.terms(block.index));
    const countsKey = handoffKey(ctx, handoffFiles.counts(block.index));
    const [terms, counts] = await Promise.all([ctx.store.get(termsKey), ctx.store.get(countsKey)]);
    const m = decodeMatrix(counts, ctx.store.locate(countsKey));
    if (m.rows !== block.rows)
      throw new Error(`${ctx.store.locate(countsKey)}: ${m.rows} rows, the block ${block.rows}`);
    return { terms: decodeTermFrequencies(terms, ctx.store.locate(termsKey)).terms, rows: m, counts: m.data };
  }
  const termsKey = blockKey(ctx, BLOCK_FILES.terms(block.index));
  const [terms, local] = await Promise.all([
    ctx.store.get(termsKey),
    ctx.store.get(blockKey(ctx, BLOCK_FILES.localRows(block.index))),
  ]);
  const rows = decodeLocalRows(local, block.rows);
  return { terms: TermList.decode(terms, ctx.store.locate(termsKey)), rows, counts: rows.counts };
}

export const TRANSFORM_SPLIT_TASKS: readonly BlockTaskDef<never, unknown>[] = [
  BLOCK_TERMS_TASK,
  DOCUMENT_FREQUENCIES_TASK,
  COUNT_ROWS_TASK,
];

/** A block's rows counted in the block's own terms: term ids sorted within each row, integer counts. */
interface LocalRows {
  rows: number;
  terms: number;
  indptr: Int32Array;
  indices: Int32Array;
  counts: Int32Array;
}

/** LocalRows as bytes: terms, then indptr, indices and counts (int32 each). */
function encodeLocalRows(m: LocalRows): Uint8Array {
  const nnz = m.indptr[m.rows]!;
  const out = new Int32Array(1 + m.rows + 1 + 2 * nnz);
  out[0] = m.terms;
  out.set(m.indptr, 1);
  out.set(m.indices.subarray(0, nnz), m.rows + 2);
  out.set(m.counts.subarray(0, nnz), m.rows + 2 + nnz);
  return bytesOf(out);
}

function decodeLocalRows(bytes: Buffer, rows: number): LocalRows {
  const all = int32s(bytes);
  const nnz = (all.length - rows - 2) / 2;
  if (!Number.isInteger(nnz) || nnz < 0 || all[rows + 1] !== nnz)
    throw new Error(`a block's counted rows: ${bytes.length} bytes do not hold ${rows} rows`);
  return {
    rows,
    terms: all[0]!,
    indptr: all.subarray(1, rows + 2),
    indices: all.subarray(rows + 2, rows + 2 + nnz),
    counts: all.subarray(rows + 2 + nnz),
  };
}

/** A typed array's bytes, as a view. */
export function bytesOf(a: Int32Array | Uint8Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** `bytes` as int32s: a view when they are aligned (a whole file read usually is), else a copy. */
export function int32s(bytes: Buffer): Int32Array {
  if (bytes.byteOffset % 4 === 0) return new Int32Array(bytes.buffer, bytes.byteOffset, bytes.length >> 2);
  const copy = new Int32Array(bytes.length >> 2);
  bytesOf(copy).set(bytes);
  return copy;
}

/** Bytes [start, start + length) as a ByteRange. */
function rangeOf(start: number, length: number): ByteRange {
  return { start, end: start + length - 1 };
}
