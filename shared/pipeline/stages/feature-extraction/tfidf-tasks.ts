import { BlockTermCounter, countsOverVocabulary } from '../../../core/numeric/block-counts';
import { decodeTermFrequencies, encodeTermFrequencies } from '../../../core/numeric/document-frequencies';
import { TermList } from '../../../core/numeric/term-list';
import { csrSquaredNorm } from '../../../core/numeric/csr';
import {
  DEFAULT_TOKEN_PATTERN,
  TfidfOptions,
  CountVectorizerOptions,
  applyTfidf,
} from '../../../core/numeric/vectorizer';
import { PipelineParams } from '../../../core/config/pipeline-params';
import { BlockTaskDef } from '../blocks/block-task';
import { Block, readBlockRows } from '../blocks/plan-blocks';
import { ARTIFACTS, RunArtifacts, TICKETS_COLUMNS, artifactKey } from '../context';
import {
  FE_STAGE,
  feFiles,
  feKey,
  getFloat64,
  getMatrix,
  putFloat64,
  putMatrix,
  putMatrixCached,
} from './block-files';

/** The TF-IDF options of stage 2 (fitTfidfVectorizer's defaults but for the df limits). */
export function tfidfOptions(params: PipelineParams): CountVectorizerOptions & TfidfOptions {
  return { minDf: params.minDf, maxDf: params.maxDf };
}

/** A block of tickets.csv (its header's length locates the block's rows). */
export interface TicketsBlock {
  block: Block;
  header: number;
}

export interface DfOutput {
  rows: number;
  /** whether some ticket of the block has a processed term (a token of the default pattern) */
  anyTerm: boolean;
  /** distinct terms in the block */
  terms: number;
}

/**
 * Tokenizes a block's processed text once: writes its terms with their document frequencies (for the
 * vocabulary) and its term counts (for its TF-IDF rows, once the vocabulary is known).
 */
export const DF_TASK: BlockTaskDef<TicketsBlock, DfOutput> = {
  name: 'fe.df',
  stage: FE_STAGE,
  writes: ({ block }) => [feFiles.counts(block.index), feFiles.terms(block.index)],
  async run(ctx, { block, header }) {
    const counter = new BlockTermCounter(tfidfOptions(ctx.params));
    const anyTerm = new RegExp(DEFAULT_TOKEN_PATTERN.source, 'u');
    let any = false;
    const key = artifactKey(ctx, ARTIFACTS.tickets);
    await readBlockRows(ctx.store, { key, header }, block, [TICKETS_COLUMNS[2]], (row) => {
      const text = row.processed_text!;
      if (!any && anyTerm.test(text)) any = true;
      counter.add(text);
    });
    const counted = counter.finish();
    await putMatrix(ctx.store, feKey(ctx, feFiles.counts(block.index)), counted.counts);
    await ctx.store.put(
      feKey(ctx, feFiles.terms(block.index)),
      encodeTermFrequencies(counted.terms, counted.df),
    );
    return { rows: counted.docs, anyTerm: any, terms: counted.terms.count };
  },
};

export interface TfidfOutput {
  rows: number;
  nnz: number;
  /** Σ of the block's TF-IDF values (for X's mean, NNDSVDa's fill) */
  sum: number;
  /** ‖X_b‖² (for the reconstruction error) */
  squaredNorm: number;
}

/** A block's TF-IDF rows over the merged vocabulary: fitTfidfVectorizer's rows for those tickets. */
export const TFIDF_TASK: BlockTaskDef<{ block: number }, TfidfOutput> = {
  name: 'fe.tfidf',
  stage: FE_STAGE,
  writes: ({ block }) => [feFiles.tfidf(block)],
  async run(ctx, { block }) {
    const termsKey = feKey(ctx, feFiles.terms(block));
    const vocabularyKey = feKey(ctx, feFiles.vocabulary);
    const [terms, counts, vocabulary, idf] = await Promise.all([
      ctx.store.get(termsKey),
      getMatrix(ctx.store, feKey(ctx, feFiles.counts(block))),
      ctx.store.get(vocabularyKey),
      getFloat64(ctx.store, feKey(ctx, feFiles.idf)),
    ]);
    const X = applyTfidf(
      countsOverVocabulary(
        counts,
        decodeTermFrequencies(terms, ctx.store.locate(termsKey)).terms,
        decodeTermFrequencies(vocabulary, ctx.store.locate(vocabularyKey)).terms,
      ),
      idf,
      tfidfOptions(ctx.params),
    );
    await putMatrixCached(ctx.store, feKey(ctx, feFiles.tfidf(block)), X);
    const nnz = X.indptr[X.rows]!;
    let sum = 0;
    for (let p = 0; p < nnz; p++) sum += X.data[p]!;
    return { rows: X.rows, nnz, sum, squaredNorm: csrSquaredNorm(X) };
  },
};

/** Writes the merged vocabulary (with its document frequencies) and idf for TFIDF_TASK. */
export async function putVocabulary(
  ctx: RunArtifacts,
  vocabulary: TermList,
  df: ArrayLike<number>,
  idf: Float64Array,
): Promise<void> {
  await ctx.store.put(feKey(ctx, feFiles.vocabulary), encodeTermFrequencies(vocabulary, df));
  await putFloat64(ctx.store, feKey(ctx, feFiles.idf), idf);
}
