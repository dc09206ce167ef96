import { argmaxRows } from '../../../core/numeric/nmf';
import { frobeniusCross } from '../../../core/numeric/nmf-blocks';
import { BlockTaskDef } from '../blocks/block-task';
import { Block } from '../blocks/plan-blocks';
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
 * (`topics/labels-<b>.bin`, int32), with the block's topic sizes and cross term. tickets_topics.csv
 * is written from the labels (tickets-topics-file.ts): a block's rows are read once and written once,
 * where a part per block to concatenate wrote them twice (at 1.6M tickets 2 GB more to write).
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
