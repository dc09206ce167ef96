import { applyTfidf, fitCountVectorizer, fitIdf } from '../numeric/vectorizer';
import { writeCsrFile } from '../io/csr-file';
import { trainTestSplit } from '../numeric/split';
import { writeJsonAtomic } from '../storage';
import { ARTIFACTS, StageContext, artifactPath, secondsSince } from './context';
import { readLabelledTexts } from './labels';

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
  const { texts, labels } = await readLabelledTexts(ctx);
  const { vocabulary, counts } = fitCountVectorizer(texts);
  const idf = fitIdf(counts);
  const split = trainTestSplit(texts.length, {
    testSize: params.testSize,
    seed: params.splitSeed,
    stratify: params.stratify ? labels : null,
  });
  if (split.train.length === 0 || split.test.length === 0) {
    throw new Error(
      `a ${params.testSize} test split of ${texts.length} ticket(s) leaves one side empty: use a larger dataset`,
    );
  }
  const features: FeaturesFile = { vocabulary, idf: Array.from(idf) };
  const splitFile: SplitFile = {
    seed: params.splitSeed,
    testSize: params.testSize,
    stratified: params.stratify,
    train: Array.from(split.train),
    test: Array.from(split.test),
  };
  await writeJsonAtomic(artifactPath(ctx, ARTIFACTS.features), features);
  await writeCsrFile(artifactPath(ctx, ARTIFACTS.matrix), applyTfidf(counts, idf), labels);
  await writeJsonAtomic(artifactPath(ctx, ARTIFACTS.split), splitFile);
  ctx.log.info(
    `vocabulary ${vocabulary.length}; ${split.train.length} train / ${split.test.length} test tickets`,
  );
  return {
    vocabularySize: vocabulary.length,
    trainSize: split.train.length,
    testSize: split.test.length,
    seconds: secondsSince(start),
  };
}
