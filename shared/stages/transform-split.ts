import { applyTfidf, fitCountVectorizer, fitIdf } from '../numeric/vectorizer';
import { writeCsrFile } from '../io/csr-file';
import { trainTestSplit } from '../numeric/split';
import { writeJsonAtomic } from '../storage';
import { PipelineParams } from '../config/pipeline-params';
import { ARTIFACTS, StageContext, artifactPath, secondsSince } from './context';
import { FEATURE_VECTORIZER, countVectorizerOptions, tfidfOptions } from '../model/model-file';
import { BadInputError } from '../errors';
import { classCounts, presentClasses, readLabelledTexts } from './labels';

/** The fitted count vocabulary and TF-IDF idf weights: enough to turn any text into model features. */
export interface FeaturesFile {
  vocabulary: string[];
  idf: number[];
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
 * Stage 3 (the seed's CountVectorizer + TfidfTransformer + train_test_split): fit the count vocabulary and
 * idf over all tickets' processed text and split rows into train and test, stratified by topic unless the
 * run asks for the seed's plain shuffle. The TF-IDF matrix and labels go to a binary file for stage 4.
 */
export async function runTransformSplit(ctx: StageContext): Promise<TransformSplitResult> {
  const start = performance.now();
  const { params } = ctx;
  const { texts, labels, names } = await readLabelledTexts(ctx);
  checkSplittable(labels, names, params);
  ctx.log.info(`read ${texts.length} labelled tickets (${names.length} topics) in ${secondsSince(start)} s`);
  const fitStart = performance.now();
  // The settings every model file records, so classification transforms new text the same way.
  const { vocabulary, counts } = fitCountVectorizer(texts, countVectorizerOptions(FEATURE_VECTORIZER));
  const weighting = tfidfOptions(FEATURE_VECTORIZER);
  const idf = fitIdf(counts, weighting);
  ctx.log.info(
    `count vectorizer + TF-IDF: vocabulary ${vocabulary.length} terms, ${counts.data.length} non-zeros, in ${secondsSince(fitStart)} s`,
  );
  const split = trainTestSplit(texts.length, {
    testSize: params.testSize,
    seed: params.splitSeed,
    stratify: params.stratify ? labels : null,
  });
  const features: FeaturesFile = { vocabulary, idf: Array.from(idf) };
  const splitFile: SplitFile = {
    seed: params.splitSeed,
    testSize: params.testSize,
    stratified: params.stratify,
    train: Array.from(split.train),
    test: Array.from(split.test),
  };
  await writeJsonAtomic(artifactPath(ctx, ARTIFACTS.features), features);
  await writeCsrFile(artifactPath(ctx, ARTIFACTS.matrix), applyTfidf(counts, idf, weighting), labels);
  await writeJsonAtomic(artifactPath(ctx, ARTIFACTS.split), splitFile);
  ctx.log.info(
    `split ${split.train.length} train / ${split.test.length} test tickets (testSize ${params.testSize}, ${params.stratify ? 'stratified' : 'plain shuffle'}, seed ${params.splitSeed}); wrote ${ARTIFACTS.features}, ${ARTIFACTS.matrix}, ${ARTIFACTS.split} (${secondsSince(start)} s in all)`,
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
 * tickets, and every condition under which the stratified split itself refuses (shared/numeric/split.ts).
 */
export function checkSplittable(labels: Int32Array, names: readonly string[], params: PipelineParams): void {
  const n = labels.length;
  const counts = classCounts(labels, names.length);
  const present = presentClasses(counts);
  const largest = present[0];
  if (largest === undefined || present.length < 2) {
    const where =
      largest === undefined ? 'no ticket has a topic' : `all ${n} tickets fall in topic "${names[largest]}"`;
    throw new BadInputError(
      `after topic labelling ${where}, so there is nothing to classify: change "topics" (or "nmfSeed") or use a more varied dataset`,
    );
  }
  // Sizes as train_test_split computes them (shared/numeric/split.ts).
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
      `topic "${names[smallest]}" holds only ${counts[smallest]} ticket, too few for a stratified split (it needs one on each side): set "stratify": false, or change "topics"`,
    );
  }
  if (nTrain < present.length || nTest < present.length) {
    throw new BadInputError(
      `${sides}, fewer than the ${present.length} topics a stratified split puts on each side: change "testSize", set "stratify": false, or use a larger dataset`,
    );
  }
}
