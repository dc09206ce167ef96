import {
  CountVectorizerOptions,
  fitCountVectorizer,
  fitIdf,
  transformCounts,
} from '../../../core/numeric/vectorizer';
import { CsrMatrix } from '../../../core/numeric/csr';
import { writeCsrFile } from '../../../core/io/csr-file';
import { trainTestSplit } from '../../../core/numeric/split';
import { PipelineParams } from '../../../core/config/pipeline-params';
import { ARTIFACTS, StageContext, artifactKey, secondsSince } from '../context';
import {
  CATEGORY_VECTORIZER,
  FEATURE_VECTORIZER,
  VectorizerSettings,
  countVectorizerOptions,
  tfidfOptions,
} from '../../model/model-file';
import { BadInputError } from '../../../core/errors';
import { CategoryLabels, categoryLabels, classCounts, presentClasses, readLabelledTexts } from './labels';
import {
  NARRATIVE_TEXT,
  TEXT_PROCESSING,
  TicketTextSettings,
  narrativeText,
} from '../../../core/nlp/ticket-lemmas';
import { maxNgrams } from '../training/search-grid';

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
 */
export async function runTransformSplit(ctx: StageContext): Promise<TransformSplitResult> {
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
