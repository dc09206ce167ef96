import { CountVectorizerOptions, idfFromDocumentFrequencies } from '../../../core/numeric/vectorizer';
import {
  TermFrequencies,
  decodeTermFrequencies,
  mergeTermFrequencies,
  pruneTerms,
} from '../../../core/numeric/document-frequencies';
import { TermList } from '../../../core/numeric/term-list';
import { writeCsrFromParts } from '../../../core/io/csr-concat';
import { trainTestSplit } from '../../../core/numeric/split';
import { PipelineParams } from '../../../core/config/pipeline-params';
import { ARTIFACTS, StageContext, artifactKey, blocksOf, runPrefix, secondsSince } from '../context';
import { VectorizerSettings, countVectorizerOptions, tfidfOptions } from '../../model/model-file';
import { BadInputError } from '../../../core/errors';
import { CategoryClasses, categoryClasses, classCounts, presentClasses } from './labels';
import { TicketTextSettings } from '../../../core/nlp/ticket-lemmas';
import { maxNgrams } from '../training/search-grid';
import { readArtifactJson } from '../read-artifact';
import { TopicsFile } from '../feature-extraction/feature-extraction';
import { removeScratchDirs } from '../blocks/block-task';
import { BlockPlan, planBlocks } from '../blocks/plan-blocks';
import {
  BLOCK_FILES,
  BlockInput,
  BLOCK_TERMS_TASK,
  BlockTerms,
  COUNT_ROWS_TASK,
  DOCUMENT_FREQUENCIES_TASK,
  TS_STAGE,
  blockKey,
  bytesOf,
} from './block-tasks';
import { fitSettings } from './fit-settings';
import {
  handoffFiles,
  handoffKey,
  removeTermHandoff,
  termHandoffMissing,
} from '../feature-extraction/term-handoff';
import { writeSplitFile } from './split-file';

/**
 * The fitted count vocabulary and idf weights, and how they were made: enough to turn any text into the
 * features of every search candidate (a candidate with shorter n-grams keeps their columns).
 */
export interface FeaturesFile {
  /** what the vocabulary counts: noun lemmas (topic labels) or the narrative's words (category labels) */
  text: TicketTextSettings;
  vectorizer: VectorizerSettings;
  /** rows the vocabulary and idf were fitted on: every ticket (topics, as the seed) or the training split */
  fittedOn: 'all' | 'train';
  vocabulary: string[];
  idf: number[];
}

/** `labels.json`: the classes stage 4 learns and where they came from. */
export interface LabelsFile {
  source: PipelineParams['labels'];
  classes: string[];
  /** tickets per class, in `classes` order (kept tickets only) */
  counts: number[];
  /** category labels: tickets dropped as unmapped, unmapped values, classes merged into `other` */
  dropped: number;
  unmapped: number;
  unmappedValues: Record<string, number>;
  merged: string[];
}

export interface SplitFile {
  seed: number;
  testSize: number;
  stratified: boolean;
  train: number[];
  test: number[];
}

export interface TransformSplitResult {
  vocabularySize: number;
  trainSize: number;
  testSize: number;
  seconds: number;
}

/**
 * Stage 3 (the seed's CountVectorizer + train_test_split): the labels (topics, or the tickets' own
 * categories), the split into train and test (stratified by label unless the run asks for the seed's
 * plain shuffle) and the count vocabulary with its idf. Topic labels count noun lemmas fitted over every
 * ticket, as the seed; category labels count the narrative's words and n-grams fitted on the training
 * split only. The count matrix (every ticket row; dropped rows labelled −1) goes to a binary file for
 * stage 4, which weights it for each candidate.
 *
 * Map/reduce over fixed blocks of `tickets_topics.csv` (block-tasks.ts): a first round reads each block
 * once (its label values; its rows counted in its own terms; with topic labels, stage 2 usually handed
 * both on: term-handoff.ts, and the round is skipped), a second counts the document frequencies
 * of the training rows (category labels only: topic labels fit on every row, counted in the first), a
 * last maps each block's rows to the vocabulary's columns. This function only reduces: it merges the
 * label values and decides the classes, splits, merges the blocks' document frequencies (in block
 * order) into the vocabulary and idf, and concatenates the blocks' rows into `features.bin` as it
 * streams them. What it holds per ticket is a few typed arrays (labels, kept rows and their labels, the
 * split: at most 4 × 4 bytes + 1 byte × tickets), never a ticket's text; what it holds per term is the
 * merged terms of the fitted rows (the vocabulary before pruning).
 */
export async function runTransformSplit(ctx: StageContext): Promise<TransformSplitResult> {
  const start = performance.now();
  const { params } = ctx;
  const blocks = blocksOf(ctx);
  const topics = await readArtifactJson<TopicsFile>(ctx, ARTIFACTS.topics);
  const plan = await planBlocks(ctx.store, artifactKey(ctx, ARTIFACTS.ticketsTopics), params.blockSize);
  const inputs: BlockInput[] = plan.blocks.map((block) => ({ block, header: plan.header }));
  try {
    // Stage 2's counts of the same terms, and its topics, when it left them; else one read of each block.
    const missing = await termHandoffMissing(ctx, plan.blocks);
    const seen = missing === null ? null : await blocks.map(BLOCK_TERMS_TASK, inputs);
    ctx.signal?.throwIfAborted();
    const category: CategoryClasses | null =
      seen !== null && params.labels === 'category' ? categoryClasses(valueCounts(seen), params) : null;
    const names = category?.names ?? topics.topics.map((t) => t.name);
    // One label per ticket (4 bytes × tickets), and the kept rows and their labels: the split needs all.
    const labels =
      seen === null
        ? await handedOnLabels(ctx, plan, names)
        : await gatherLabels(
            ctx,
            plan,
            category
              ? seen.map((s) => Int32Array.from(s.values, (v) => category.classOf.get(v)!))
              : topicTables(artifactKey(ctx, ARTIFACTS.ticketsTopics), plan, seen, names),
          );
    let keptCount = 0;
    for (const l of labels) if (l >= 0) keptCount++;
    const kept = new Int32Array(keptCount);
    const keptLabels = new Int32Array(keptCount);
    for (let r = 0, k = 0; r < labels.length; r++) {
      if (labels[r]! < 0) continue;
      kept[k] = r;
      keptLabels[k++] = labels[r]!;
    }
    const noun = category ? 'class' : 'topic';
    checkSplittable(keptLabels, names, params, noun);
    ctx.log.info(
      `read ${labels.length} tickets in ${plan.blocks.length} block(s)${seen === null ? ' (their terms and topics as feature extraction counted them)' : params.labels === 'topics' ? ` (tickets_topics.csv read again: ${missing})` : ''}: ${kept.length} labelled with ${names.length} ${category ? 'classes' : 'topics'}${category ? ` (${category.dropped} dropped as unmapped${category.merged.length > 0 ? `, ${category.merged.length} rare class(es) merged into "other"` : ''})` : ''} in ${secondsSince(start)} s`,
    );
    const split = trainTestSplit(kept.length, {
      testSize: params.testSize,
      seed: params.splitSeed,
      stratify: params.stratify ? keptLabels : null,
    });
    // Split positions are among the kept rows; the files speak of tickets.csv rows.
    const train = split.train.map((i) => kept[i]!);
    const test = split.test.map((i) => kept[i]!);
    checkFoldable(
      split.train.map((i) => keptLabels[i]!),
      names,
      params,
      noun,
    );

    const fitStart = performance.now();
    const fit = fitSettings(params);
    let fitted = plan.blocks.map((b) => b.rows);
    if (fit.fittedOn === 'train') {
      // Which rows the document frequencies count (1 byte × tickets), read by each block's range.
      const fitRows = new Uint8Array(labels.length);
      for (const r of train) fitRows[r] = 1;
      await ctx.store.put(blockKey(ctx, BLOCK_FILES.fitRows), fitRows);
      fitted = (await blocks.map(DOCUMENT_FREQUENCIES_TASK, inputs)).map((c) => c.docs);
      ctx.signal?.throwIfAborted();
    }
    const all = await mergeBlockFrequencies(ctx, plan, seen, fitted);
    const counting: CountVectorizerOptions = {
      ...countVectorizerOptions(fit.vectorizer),
      ...(category ? { minDf: params.featureMinDf, maxDf: params.featureMaxDf } : {}),
    };
    let pruned: ReturnType<typeof pruneTerms>;
    try {
      pruned = pruneTerms(all, counting);
    } catch (err) {
      if (err instanceof RangeError && category) {
        throw new BadInputError(
          `the narratives of the ${train.length} training tickets leave no word with featureMinDf ${params.featureMinDf} and featureMaxDf ${params.featureMaxDf}: lower featureMinDf or raise featureMaxDf`,
          { cause: err },
        );
      }
      throw err;
    }
    const { vocabulary } = pruned;
    const idf = idfFromDocumentFrequencies(pruned.df, all.docs, tfidfOptions(fit.vectorizer));
    await ctx.store.put(blockKey(ctx, BLOCK_FILES.vocabulary), pruned.terms.encode());
    await ctx.store.put(blockKey(ctx, BLOCK_FILES.labels), bytesOf(labels));
    const parts = await blocks.map(
      COUNT_ROWS_TASK,
      inputs.map((input) => ({ ...input, handedOn: seen === null })),
    );
    ctx.signal?.throwIfAborted();
    const nnz = parts.reduce((s, p) => s + p.nnz, 0);
    ctx.log.info(
      `count vectorizer (${category ? `narrative words, 1–${maxNgrams(params)}-grams, fitted on the training split` : 'noun lemmas'}): vocabulary ${vocabulary.length} terms, ${nnz} non-zeros, in ${secondsSince(fitStart)} s (${plan.blocks.length} block(s) of up to ${params.blockSize} tickets)`,
    );
    const features: FeaturesFile = {
      text: fit.text,
      vectorizer: fit.vectorizer,
      fittedOn: fit.fittedOn,
      vocabulary,
      idf: Array.from(idf),
    };
    const labelsFile: LabelsFile = {
      source: params.labels,
      classes: names,
      counts: classCounts(keptLabels, names.length),
      dropped: category?.dropped ?? 0,
      unmapped: category?.unmapped ?? 0,
      unmappedValues: category?.unmappedValues ?? {},
      merged: category?.merged ?? [],
    };
    await ctx.store.putJson(artifactKey(ctx, ARTIFACTS.features), features);
    const written = await writeCsrFromParts(
      ctx.store,
      artifactKey(ctx, ARTIFACTS.matrix),
      vocabulary.length,
      parts.map((p, i) => ({ key: blockKey(ctx, BLOCK_FILES.rows(plan.blocks[i]!.index)), ...p })),
    );
    if (written.rows !== labels.length)
      throw new Error(`the blocks' count rows hold ${written.rows} rows, the blocks ${labels.length}`);
    await writeSplitFile(ctx.store, artifactKey(ctx, ARTIFACTS.split), {
      seed: params.splitSeed,
      testSize: params.testSize,
      stratified: params.stratify,
      train,
      test,
    });
    await ctx.store.putJson(artifactKey(ctx, ARTIFACTS.labels), labelsFile);
    await removeBlockFiles(ctx);
    ctx.log.info(
      `split ${split.train.length} train / ${split.test.length} test tickets (testSize ${params.testSize}, ${params.stratify ? 'stratified' : 'plain shuffle'}, seed ${params.splitSeed}); wrote ${ARTIFACTS.features}, ${ARTIFACTS.matrix}, ${ARTIFACTS.split}, ${ARTIFACTS.labels} (${secondsSince(start)} s in all)`,
    );
    return {
      vocabularySize: vocabulary.length,
      trainSize: split.train.length,
      testSize: split.test.length,
      seconds: secondsSince(start),
    };
  } catch (err) {
    // Bad input ends the run: its block files serve no retry.
    if (err instanceof BadInputError) await removeBlockFiles(ctx);
    throw err;
  }
}

/**
 * Removes the stage's block files (this try's and earlier tries': removeScratchDirs) and what stage 2
 * handed on to it.
 */
async function removeBlockFiles(ctx: StageContext): Promise<void> {
  // No task of this or an earlier try may still read the files removed next.
  await blocksOf(ctx).settle?.();
  await removeScratchDirs(ctx.store, runPrefix(ctx), TS_STAGE, ctx);
  await removeTermHandoff(ctx);
}

/** Tickets per label value over all blocks. */
function valueCounts(seen: readonly BlockTerms[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const s of seen) s.values.forEach((v, i) => counts.set(v, (counts.get(v) ?? 0) + s.counts[i]!));
  return counts;
}

/**
 * Per block, the topic label of each of its values (an index into topics.json's names); a value
 * topics.json does not list fails naming the first row holding one.
 */
function topicTables(
  file: string,
  plan: BlockPlan,
  seen: readonly BlockTerms[],
  names: readonly string[],
): Int32Array[] {
  const index = new Map(names.map((n, i) => [n, i]));
  return seen.map((s, b) =>
    Int32Array.from(s.values, (name, i) => {
      const label = index.get(name);
      if (label === undefined)
        throw new Error(
          `${file}: row ${plan.blocks[b]!.first + s.first[i]!} has topic "${name}", which topics.json does not list: rerun feature extraction`,
        );
      return label;
    }),
  );
}

/** Every ticket's label: each block's value indices (its file) through its table, block by block. */
async function gatherLabels(
  ctx: StageContext,
  plan: BlockPlan,
  tables: readonly Int32Array[],
): Promise<Int32Array> {
  const labels = new Int32Array(plan.rows);
  for (const block of plan.blocks) {
    const values = await blockInt32s(ctx, blockKey(ctx, BLOCK_FILES.values(block.index)), block.rows);
    const table = tables[block.index]!;
    for (let r = 0; r < block.rows; r++) labels[block.first + r] = table[values[r]!]!;
  }
  return labels;
}

/** A block's file of an int32 a row; fails naming it when it holds another number of rows. */
async function blockInt32s(ctx: StageContext, key: string, rows: number): Promise<Int32Array> {
  const bytes = await ctx.store.get(key);
  if (bytes.length !== 4 * rows)
    throw new Error(`${ctx.store.locate(key)}: ${bytes.length} bytes for ${rows} rows`);
  const out = new Int32Array(rows);
  bytesOf(out).set(bytes);
  return out;
}

/**
 * Every ticket's topic as stage 2 gave it (term-handoff.ts), block by block; a topic topics.json does
 * not list fails naming the file and row.
 */
async function handedOnLabels(
  ctx: StageContext,
  plan: BlockPlan,
  names: readonly string[],
): Promise<Int32Array> {
  const labels = new Int32Array(plan.rows);
  for (const block of plan.blocks) {
    const key = handoffKey(ctx, handoffFiles.topics(block.index));
    const part = await blockInt32s(ctx, key, block.rows);
    labels.set(part, block.first);
    const bad = part.findIndex((t) => t < 0 || t >= names.length);
    if (bad >= 0)
      throw new Error(
        `${ctx.store.locate(key)}: row ${block.first + bad} has topic ${part[bad]}, topics.json lists ${names.length}: rerun feature extraction`,
      );
  }
  return labels;
}

/**
 * The blocks' document frequencies (of the rows the vocabulary is fitted on: `fitted` per block) merged
 * in block order, one block's files read at a time: the stage holds the merged terms (the vocabulary
 * before pruning) and one block's, as bytes (TermList). `seen` null: the frequencies stage 2 handed on.
 */
async function mergeBlockFrequencies(
  ctx: StageContext,
  plan: BlockPlan,
  seen: readonly BlockTerms[] | null,
  fitted: readonly number[],
): Promise<TermFrequencies> {
  let all: TermFrequencies = { docs: 0, terms: TermList.of([]), df: new Int32Array(0) };
  for (const block of plan.blocks) {
    let part: TermFrequencies = { docs: fitted[block.index]!, terms: TermList.of([]), df: new Int32Array(0) };
    if (seen === null) {
      const key = handoffKey(ctx, handoffFiles.terms(block.index));
      part = { ...part, ...decodeTermFrequencies(await ctx.store.get(key), ctx.store.locate(key)) };
    } else if (seen[block.index]!.terms > 0) {
      const termsKey = blockKey(ctx, BLOCK_FILES.terms(block.index));
      const [terms, bytes] = await Promise.all([
        ctx.store.get(termsKey),
        ctx.store.get(blockKey(ctx, BLOCK_FILES.documentFrequencies(block.index))),
      ]);
      const df = new Int32Array(bytes.length >> 2);
      bytesOf(df).set(bytes);
      // Terms only rows outside the fitted ones hold (a frequency of 0) are not the fit's: the merge
      // leaves them out.
      part = { ...part, terms: TermList.decode(terms, ctx.store.locate(termsKey)), df };
    }
    all = mergeTermFrequencies(all, part);
  }
  return all;
}

/**
 * Data-dependent failures of the topic labels and the split, as BadInputError naming what to change
 * (retrying cannot fix them): a single topic, a split leaving one side without two topics' worth of
 * tickets, and every condition under which the stratified split itself refuses (shared/core/numeric/split.ts).
 */
export function checkSplittable(
  labels: Int32Array,
  names: readonly string[],
  params: PipelineParams,
  noun: 'topic' | 'class' = 'topic',
): void {
  const n = labels.length;
  const counts = classCounts(labels, names.length);
  const present = presentClasses(counts);
  const largest = present[0];
  if (largest === undefined || present.length < 2) {
    const where =
      largest === undefined
        ? `no ticket has a ${noun}`
        : `all ${n} tickets fall in ${noun} "${names[largest]}"`;
    throw new BadInputError(
      noun === 'topic'
        ? `after topic labelling ${where}, so there is nothing to classify: change "topics" (or "nmfSeed") or use a more varied dataset`
        : `after category labelling ${where}, so there is nothing to classify: check "labelMap", "labelField" and "minClassSize"`,
    );
  }
  // Sizes as train_test_split computes them (shared/core/numeric/split.ts).
  const nTest = Math.ceil(params.testSize * n);
  const nTrain = n - nTest;
  const sides = `a testSize ${params.testSize} split of ${n} tickets gives ${nTrain} train / ${nTest} test tickets`;
  if (nTrain === 0 || nTest === 0) {
    throw new BadInputError(`${sides}, leaving one side empty: lower "testSize" or use a larger dataset`);
  }
  if (!params.stratify) return;
  const smallest = present[present.length - 1]!;
  if (counts[smallest]! < 2) {
    throw new BadInputError(
      `${noun} "${names[smallest]}" holds only ${counts[smallest]} ticket, too few for a stratified split (it needs one on each side): ${noun === 'topic' ? 'set "stratify": false, or change "topics"' : 'raise "minClassSize" to merge it into "other", or set "stratify": false'}`,
    );
  }
  if (nTrain < present.length || nTest < present.length) {
    throw new BadInputError(
      `${sides}, fewer than the ${present.length} ${noun}s a stratified split puts on each side: change "testSize", set "stratify": false, or use a larger dataset`,
    );
  }
}

/**
 * Stage 4's stratified cross-validation puts every class in every fold: a class with fewer training
 * tickets than `cvFolds` fails now, on the first attempt, naming what to change.
 */
function checkFoldable(
  yTrain: Int32Array,
  names: readonly string[],
  params: PipelineParams,
  noun: 'topic' | 'class',
): void {
  const counts = classCounts(yTrain, names.length);
  const rare = presentClasses(counts).filter((c) => counts[c]! < params.cvFolds);
  if (rare.length === 0) return;
  const list = rare.map((c) => `"${names[c]}" (${counts[c]})`).join(', ');
  throw new BadInputError(
    `the training split holds fewer than cvFolds ${params.cvFolds} tickets of ${noun} ${list}, too few for a stratified ${params.cvFolds}-fold cross-validation: lower "cvFolds"${noun === 'class' ? ', or raise "minClassSize" to merge rare classes into "other"' : ', or change "topics"'}`,
  );
}
