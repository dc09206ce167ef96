import { argmaxRows } from '../../../core/numeric/nmf';
import { frobeniusCross } from '../../../core/numeric/nmf-blocks';
import { csvRow } from '../../../core/io/csv';
import { IndexedCsvWriter } from '../../../core/io/row-index';
import { BlockTaskDef } from '../blocks/block-mapper';
import { readBlockRows } from '../blocks/plan-blocks';
import { ARTIFACTS, TICKETS_COLUMNS, artifactKey } from '../context';
import { feFiles, feKey, getFloat64, getMatrix } from './block-files';
import { TicketsBlock } from './tfidf-tasks';

export interface TopicsInput extends TicketsBlock {
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
 * Each ticket's topic, the argmax of its final row of W: the block's rows of tickets_topics.csv (the
 * ticket's columns and its topic's name) as an indexed part, `topics/part-<b>.csv`.
 */
export const TOPICS_TASK: BlockTaskDef<TopicsInput, TopicsOutput> = {
  name: 'fe.topics',
  async run(ctx, { block, header, iteration, names }) {
    const k = names.length;
    const X = await getMatrix(ctx.store, feKey(ctx, feFiles.tfidf(block.index)));
    const [W, Ht] = await Promise.all([
      getFloat64(ctx.store, feKey(ctx, feFiles.w(iteration, block.index)), X.rows * k),
      getFloat64(ctx.store, feKey(ctx, feFiles.ht(iteration + 1)), X.cols * k),
    ]);
    const labels = argmaxRows(W, X.rows, k);
    const sizes = new Array<number>(k).fill(0);
    for (const label of labels) sizes[label]!++;
    const lines: string[] = [];
    await readBlockRows(
      ctx.store,
      { key: artifactKey(ctx, ARTIFACTS.tickets), header },
      block,
      TICKETS_COLUMNS,
      (row, r) => {
        lines.push(
          csvRow([row.complaint_what_happened!, row.category!, row.processed_text!, names[labels[r]!]!]),
        );
      },
    );
    const out = await IndexedCsvWriter.open(ctx.store, feKey(ctx, feFiles.topicsPart(block.index)), null);
    try {
      for (const line of lines) await out.row(line);
      await out.commit();
    } catch (err) {
      await out.abort();
      throw err;
    }
    return { sizes, cross: frobeniusCross(X, W, Ht, k) };
  },
};
