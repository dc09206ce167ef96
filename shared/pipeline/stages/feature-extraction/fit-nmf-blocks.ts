import { cdSweep } from '../../../core/numeric/nmf';
import { addInto, nndsvdaStart, NndsvdaStart } from '../../../core/numeric/nmf-blocks';
import { BlockMapper } from '../blocks/block-mapper';
import { StageContext } from '../context';
import { feFiles, feKey, getFloat64, putFloat64 } from './block-files';
import { NMF_INIT_TASK, NMF_PROJECT_TASK, NMF_W_TASK } from './nmf-tasks';

/**
 * NMF's NNDSVDa start needs X's top-k singular vectors; the SVD runs in one task on the TF-IDF rows of at
 * most this many tickets. With no more tickets than this it sees all of them, and the start is fitNmf's
 * own. With more, it sees ⌈INIT_SAMPLE_ROWS / blockSize⌉ blocks spread evenly over the file (not only
 * its head, which may be one period or product), takes their right singular vectors V, and the start
 * follows from X·V over all blocks (nmf-blocks.ts): the task's memory stays bounded, and the start only
 * seeds the solver, whose iterations then see every ticket.
 */
export const INIT_SAMPLE_ROWS = 100_000;

export interface BlockNmfResult {
  /** iterations as sklearn counts them; also the iteration whose `nmf/<i>/w-<b>` files hold W's final value */
  nIter: number;
  /** Hᵀ's final value (cols × k), also in `nmf/<nIter + 1>/ht` */
  Ht: Float64Array;
  /** WᵀW of the final W (k × k) */
  WtW: Float64Array;
  /** rows the SVD of the start saw */
  initRows: number;
}

/**
 * fitNmf (nmf.ts: sklearn's coordinate descent from NNDSVDa) over X's blocks (`tfidf-<b>` files): per
 * iteration one map of the W sweep over the blocks, then here, over the summed partial sums (in block
 * order), the Hᵀ sweep and sklearn's stopping rule. Only the files of the last two iterations are kept.
 */
export async function fitNmfOverBlocks(
  ctx: StageContext,
  mapper: BlockMapper,
  blocks: readonly number[],
  cols: number,
  mean: number,
  sampleRows: number,
): Promise<BlockNmfResult> {
  const { params, store } = ctx;
  const k = params.topics;
  const nb = blocks.length;
  const m = Math.min(nb, Math.max(1, Math.ceil(sampleRows / params.blockSize)));
  const all = m === nb;
  const sample = all ? [...blocks] : Array.from({ length: m }, (_, i) => blocks[Math.floor((i * nb) / m)]!);
  const [init] = await mapper.map(NMF_INIT_TASK, [{ blocks: sample, all }]);
  let Ht: Float64Array;
  let start: Omit<NndsvdaStart, 'Ht'> | undefined;
  if (all) {
    Ht = Float64Array.from(await getFloat64(store, feKey(ctx, feFiles.ht(1)), cols * k));
  } else {
    ctx.signal?.throwIfAborted();
    const projections = await mapper.map(
      NMF_PROJECT_TASK,
      blocks.map((block) => ({ block })),
    );
    const positive2 = new Float64Array(k);
    const negative2 = new Float64Array(k);
    for (const p of projections) {
      addInto(positive2, p.positive2);
      addInto(negative2, p.negative2);
    }
    const Vt = await getFloat64(store, feKey(ctx, feFiles.initVt), cols * k);
    const s = nndsvdaStart(Vt, cols, k, Array.from(positive2), Array.from(negative2), mean);
    Ht = s.Ht;
    start = { scale: s.scale, part: s.part, mean: s.mean };
    await putFloat64(store, feKey(ctx, feFiles.ht(1)), Ht);
  }

  const WtW = new Float64Array(k * k);
  const XtW = new Float64Array(cols * k);
  let violationInit = 0;
  let it = 1;
  for (; it <= params.nmfMaxIter; it++) {
    ctx.signal?.throwIfAborted();
    const iteration = it;
    const outs = await mapper.map(
      NMF_W_TASK,
      blocks.map((block) => ({ block, iteration, ...(iteration === 1 && start ? { start } : {}) })),
    );
    let violation = 0;
    WtW.fill(0);
    for (const o of outs) {
      violation += o.violation;
      addInto(WtW, o.WtW);
    }
    XtW.fill(0);
    // Summed in block order, the next block's partial read while this one is added.
    let next = getFloat64(store, feKey(ctx, feFiles.xtw(iteration, blocks[0]!)), cols * k);
    for (let b = 0; b < nb; b++) {
      const part = await next;
      if (b + 1 < nb) next = getFloat64(store, feKey(ctx, feFiles.xtw(iteration, blocks[b + 1]!)), cols * k);
      addInto(XtW, part);
    }
    violation += cdSweep(Ht, WtW, XtW, cols, k);
    await putFloat64(store, feKey(ctx, feFiles.ht(iteration + 1)), Ht);
    // Iteration i − 1's W (read by iteration i's tasks, all done) and its sums are no longer needed.
    await store.removePrefix(feKey(ctx, feFiles.iteration(iteration - 1)));
    if (iteration === 1) violationInit = violation;
    if (violationInit === 0) break;
    if (violation / violationInit <= params.nmfTol) break;
  }
  return { nIter: Math.min(it, params.nmfMaxIter), Ht, WtW, initRows: init!.rows };
}
