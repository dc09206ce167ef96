/**
 * A copy of transform-split as one process computed it (every ticket's text in memory, one fit), kept
 * only so test/stages/transform-split-blocks.test.ts can check that the block-wise stage writes the same
 * bytes. Test-only: nothing outside test/ imports it.
 */
import {
  CountVectorizerOptions,
  compareCodePoints,
  fitCountVectorizer,
  fitIdf,
  transformCounts,
} from '../../shared/core/numeric/vectorizer';
import { CsrMatrix } from '../../shared/core/numeric/csr';
import { writeCsrFile } from '../../shared/core/io/csr-file';
import { trainTestSplit } from '../../shared/core/numeric/split';
import { PipelineParams } from '../../shared/core/config/pipeline-params';
import { ARTIFACTS, StageContext, artifactKey, secondsSince } from '../../shared/pipeline/stages/context';
import {
  CATEGORY_VECTORIZER,
  FEATURE_VECTORIZER,
  VectorizerSettings,
  countVectorizerOptions,
  tfidfOptions,
} from '../../shared/pipeline/model/model-file';
import { BadInputError } from '../../shared/core/errors';
import {
  NARRATIVE_TEXT,
  TEXT_PROCESSING,
  TicketTextSettings,
  narrativeText,
} from '../../shared/core/nlp/ticket-lemmas';
import { maxNgrams } from '../../shared/pipeline/stages/training/search-grid';
import { readArtifactJson } from '../../shared/pipeline/stages/read-artifact';
import { readTicketRows } from '../../shared/pipeline/stages/read-tickets-csv';
import { TopicsFile } from '../../shared/pipeline/stages/feature-extraction/feature-extraction';
import { CATEGORY_SEPARATOR } from '../../shared/pipeline/stages/text-processing/chunk-files';
import {
  FeaturesFile,
  LabelsFile,
  SplitFile,
  TransformSplitResult,
} from '../../shared/pipeline/stages/transform-split/transform-split';

/**
 * Stage 3 (the seed's CountVectorizer + train_test_split): the labels (topics, or the tickets' own
 * categories), the split into train and test (stratified by label unless the run asks for the seed's
 * plain shuffle) and the count vocabulary with its idf. Topic labels count noun lemmas fitted over every
 * ticket, as the seed; category labels count the narrative's words and n-grams fitted on the training
 * split only. The count matrix (every ticket row; dropped rows labelled −1) goes to a binary file for
 * stage 4, which weights it for each candidate.
 */
export async function runTransformSplitReference(ctx: StageContext): Promise<TransformSplitResult> {
  const start = performance.now();
  const { params } = ctx;
  const read = await readLabelledTexts(ctx);
  const category: CategoryLabels | null =
    params.labels === 'category' ? categoryLabels(read.categories, params) : null;
  const names = category?.names ?? read.names;
  const labels = category?.labels ?? read.labels;
  const kept = Int32Array.from(labels.keys()).filter((r) => labels[r]! >= 0);
  const keptLabels = Int32Array.from(kept, (r) => labels[r]!);
  const noun = category ? 'class' : 'topic';
  checkSplittable(keptLabels, names, params, noun);
  ctx.log.info(
    `read ${labels.length} tickets: ${kept.length} labelled with ${names.length} ${noun}s${category ? ` (${category.dropped} dropped as unmapped${category.merged.length > 0 ? `, ${category.merged.length} rare class(es) merged into "other"` : ''})` : ''} in ${secondsSince(start)} s`,
  );
  const split = trainTestSplit(kept.length, {
    testSize: params.testSize,
    seed: params.splitSeed,
    stratify: params.stratify ? keptLabels : null,
  });
  // Split positions are among the kept rows; the files speak of tickets.csv rows.
  const train = Array.from(split.train, (i) => kept[i]!);
  const test = Array.from(split.test, (i) => kept[i]!);
  checkFoldable(
    Int32Array.from(split.train, (i) => keptLabels[i]!),
    names,
    params,
    noun,
  );

  const fitStart = performance.now();
  // The settings every model file records, so classification transforms new text the same way.
  const text: TicketTextSettings = category ? NARRATIVE_TEXT : TEXT_PROCESSING;
  const vectorizer: VectorizerSettings = category
    ? { ...CATEGORY_VECTORIZER, ngramRange: [1, maxNgrams(params)] }
    : FEATURE_VECTORIZER;
  const texts = category ? read.narratives.map(narrativeText()) : read.texts;
  const counting: CountVectorizerOptions = {
    ...countVectorizerOptions(vectorizer),
    ...(category ? { minDf: params.featureMinDf, maxDf: params.featureMaxDf } : {}),
  };
  const fitRows = category ? train : null;
  let fitted: ReturnType<typeof fitCountVectorizer>;
  try {
    fitted = fitCountVectorizer(fitRows ? fitRows.map((r) => texts[r]!) : texts, counting);
  } catch (err) {
    if (err instanceof RangeError && category) {
      throw new BadInputError(
        `the narratives of the ${train.length} training tickets leave no word with featureMinDf ${params.featureMinDf} and featureMaxDf ${params.featureMaxDf}: lower featureMinDf or raise featureMaxDf`,
        { cause: err },
      );
    }
    throw err;
  }
  const { vocabulary } = fitted;
  const idf = fitIdf(fitted.counts, tfidfOptions(vectorizer));
  const counts = fitRows ? withOtherRows(fitted.counts, fitRows, texts, vocabulary, counting) : fitted.counts;
  ctx.log.info(
    `count vectorizer (${category ? `narrative words, 1–${maxNgrams(params)}-grams, fitted on the training split` : 'noun lemmas'}): vocabulary ${vocabulary.length} terms, ${counts.data.length} non-zeros, in ${secondsSince(fitStart)} s`,
  );
  const features: FeaturesFile = {
    text,
    vectorizer,
    fittedOn: category ? 'train' : 'all',
    vocabulary,
    idf: Array.from(idf),
  };
  const splitFile: SplitFile = {
    seed: params.splitSeed,
    testSize: params.testSize,
    stratified: params.stratify,
    train,
    test,
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
  await writeCsrFile(ctx.store, artifactKey(ctx, ARTIFACTS.matrix), counts, labels);
  await ctx.store.putJson(artifactKey(ctx, ARTIFACTS.split), splitFile);
  await ctx.store.putJson(artifactKey(ctx, ARTIFACTS.labels), labelsFile);
  ctx.log.info(
    `split ${split.train.length} train / ${split.test.length} test tickets (testSize ${params.testSize}, ${params.stratify ? 'stratified' : 'plain shuffle'}, seed ${params.splitSeed}); wrote ${ARTIFACTS.features}, ${ARTIFACTS.matrix}, ${ARTIFACTS.split}, ${ARTIFACTS.labels} (${secondsSince(start)} s in all)`,
  );
  return {
    vocabularySize: vocabulary.length,
    trainSize: split.train.length,
    testSize: split.test.length,
    seconds: secondsSince(start),
  };
}

/**
 * Data-dependent failures of the topic labels and the split, as BadInputError naming what to change
 * (retrying cannot fix them): a single topic, a split leaving one side without two topics' worth of
 * tickets, and every condition under which the stratified split itself refuses (shared/core/numeric/split.ts).
 */
function checkSplittable(
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

/**
 * The counts of every row of `texts` when `fitted` holds those of `fitRows` (in that order): the other
 * rows are counted with the fitted vocabulary, the fitted rows not tokenized twice.
 */
function withOtherRows(
  fitted: CsrMatrix,
  fitRows: readonly number[],
  texts: readonly string[],
  vocabulary: readonly string[],
  counting: CountVectorizerOptions,
): CsrMatrix {
  const n = texts.length;
  const source = new Int32Array(n).fill(-1);
  fitRows.forEach((r, i) => (source[r] = i));
  const others = Int32Array.from(source.keys()).filter((r) => source[r]! < 0);
  const rest = transformCounts(
    Array.from(others, (r) => texts[r]!),
    vocabulary,
    counting,
  );
  others.forEach((r, i) => (source[r] = -2 - i));
  const indptr = new Int32Array(n + 1);
  for (let r = 0; r < n; r++) {
    const s = source[r]!;
    const len =
      s >= 0 ? fitted.indptr[s + 1]! - fitted.indptr[s]! : rest.indptr[-2 - s + 1]! - rest.indptr[-2 - s]!;
    indptr[r + 1] = indptr[r]! + len;
  }
  const indices = new Int32Array(indptr[n]!);
  const data = new Float64Array(indptr[n]!);
  for (let r = 0; r < n; r++) {
    const s = source[r]!;
    const [m, row] = s >= 0 ? [fitted, s] : [rest, -2 - s];
    const a = m.indptr[row]!;
    const b = m.indptr[row + 1]!;
    indices.set(m.indices.subarray(a, b), indptr[r]!);
    data.set(m.data.subarray(a, b), indptr[r]!);
  }
  return { rows: n, cols: vocabulary.length, indptr, indices, data };
}

/** Processed texts with their topic labels (indices into `names`), as stage 2 wrote them. */
interface LabelledTexts {
  texts: string[];
  /** the narratives and `tickets.csv` categories of the same rows */
  narratives: string[];
  categories: string[];
  labels: Int32Array;
  names: string[];
}

async function readLabelledTexts(ctx: StageContext): Promise<LabelledTexts> {
  const topics = await readArtifactJson<TopicsFile>(ctx, ARTIFACTS.topics);
  const names = topics.topics.map((t) => t.name);
  const index = new Map(names.map((n, i) => [n, i]));
  const file = artifactKey(ctx, ARTIFACTS.ticketsTopics);
  const rows = await readTicketRows(ctx, ARTIFACTS.ticketsTopics, true);
  const labels = new Int32Array(rows.topics.length);
  rows.topics.forEach((name, r) => {
    const label = index.get(name);
    if (label === undefined)
      throw new Error(
        `${file}: row ${r} has topic "${name}", which topics.json does not list: rerun feature extraction`,
      );
    labels[r] = label;
  });
  return { texts: rows.processed, narratives: rows.narratives, categories: rows.categories, labels, names };
}

/** Tickets per topic label: `counts[label]`, for labels 0 … k − 1. */
function classCounts(labels: Int32Array, k: number): number[] {
  const counts = new Array<number>(k).fill(0);
  for (const label of labels) counts[label] = (counts[label] ?? 0) + 1;
  return counts;
}

/** Labels present in `counts` (count > 0), largest first, then by label. */
function presentClasses(counts: readonly number[]): number[] {
  return counts
    .map((c, label) => ({ c, label }))
    .filter((x) => x.c > 0)
    .sort((a, b) => b.c - a.c || a.label - b.label)
    .map((x) => x.label);
}

/** The raw label of a `tickets.csv` category (`Product + Sub-product` or `Product`) for `labelField`. */
function rawLabel(category: string, field: PipelineParams['labelField']): string {
  if (field === 'category') return category;
  const at = category.indexOf(CATEGORY_SEPARATOR);
  return at < 0 ? category : category.slice(0, at);
}

/** The class tickets fall into when `labelMap` does not list their value, or their class is too rare. */
const OTHER_CLASS = 'other';

interface CategoryLabels {
  /** class names in code-point order; `labels` index them */
  names: string[];
  /** per ticket row, its class, or −1 when dropped (an unmapped value with `unmappedLabel: "drop"`) */
  labels: Int32Array;
  /** tickets per class, in `names` order */
  counts: number[];
  /** tickets dropped, and tickets whose raw value `labelMap` did not list (→ other or dropped) */
  dropped: number;
  unmapped: number;
  /** the most frequent raw values `labelMap` did not list, with their ticket counts (at most 20) */
  unmappedValues: Record<string, number>;
  /** classes with fewer than `minClassSize` tickets, merged into `other` */
  merged: string[];
}

/**
 * Category labels (`labels: "category"`) of the tickets, from their `tickets.csv` category: the raw value
 * for `labelField`, mapped through `labelMap` (a full `Product + Sub-product` value not in the map is
 * looked up by its product), unmapped values to `other` or dropped, then classes rarer than
 * `minClassSize` merged into `other`. Fails with BadInputError, naming the parameters to change, when
 * fewer than two classes are left.
 */
function categoryLabels(categories: readonly string[], params: Readonly<PipelineParams>): CategoryLabels {
  const map = params.labelMap;
  const lookup = (raw: string): string | undefined =>
    map !== null && Object.hasOwn(map, raw) ? map[raw] : undefined;
  const classOf: (string | null)[] = [];
  const unmappedCounts = new Map<string, number>();
  for (const category of categories) {
    const raw = rawLabel(category, params.labelField);
    if (map === null) {
      classOf.push(raw);
      continue;
    }
    const cls =
      lookup(raw) ?? (params.labelField === 'category' ? lookup(rawLabel(category, 'product')) : undefined);
    if (cls !== undefined) classOf.push(cls.trim());
    else {
      unmappedCounts.set(raw, (unmappedCounts.get(raw) ?? 0) + 1);
      classOf.push(params.unmappedLabel === 'drop' ? null : OTHER_CLASS);
    }
  }
  const sizes = new Map<string, number>();
  for (const c of classOf) if (c !== null) sizes.set(c, (sizes.get(c) ?? 0) + 1);
  const merged = [...sizes]
    .filter(([name, n]) => name !== OTHER_CLASS && n < params.minClassSize)
    .map(([name]) => name)
    .sort(compareCodePoints);
  const mergedSet = new Set(merged);
  const final = classOf.map((c) => (c !== null && mergedSet.has(c) ? OTHER_CLASS : c));
  const names = [...new Set(final.filter((c): c is string => c !== null))].sort(compareCodePoints);
  const index = new Map(names.map((n, i) => [n, i]));
  const labels = Int32Array.from(final, (c) => (c === null ? -1 : index.get(c)!));
  const counts = classCounts(
    labels.filter((l) => l >= 0),
    names.length,
  );
  const unmapped = [...unmappedCounts.values()].reduce((s, n) => s + n, 0);
  const unmappedValues = Object.fromEntries(
    [...unmappedCounts].sort((a, b) => b[1] - a[1] || compareCodePoints(a[0], b[0])).slice(0, 20),
  );
  const result: CategoryLabels = {
    names,
    labels,
    counts,
    dropped: params.unmappedLabel === 'drop' ? unmapped : 0,
    unmapped,
    unmappedValues,
    merged,
  };
  if (names.length < 2) throw new BadInputError(singleClassMessage(result, categories.length, params));
  return result;
}

function singleClassMessage(l: CategoryLabels, tickets: number, params: Readonly<PipelineParams>): string {
  const how = `"labels": "category" with "labelField": "${params.labelField}"${params.labelMap === null ? '' : `, a "labelMap" of ${Object.keys(params.labelMap).length} value(s)`}`;
  const only = l.names[0];
  const where =
    only === undefined
      ? `no ticket of ${tickets} is left (${l.dropped} dropped as unmapped)`
      : `all ${tickets - l.dropped} kept tickets fall in the single class "${only}"${l.merged.length > 0 ? ` (after merging ${l.merged.length} class(es) under minClassSize ${params.minClassSize} into "${OTHER_CLASS}")` : ''}${l.dropped > 0 ? `, ${l.dropped} dropped as unmapped` : ''}`;
  return `${how}: ${where}, and a classifier needs two classes or more: check that "labelMap" lists this dataset's values (unmapped: ${JSON.stringify(l.unmappedValues)}), lower "minClassSize", set "unmappedLabel": "other", or use "labels": "topics"`;
}
