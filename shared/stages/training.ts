import { readCsrFile } from '../io/csr-file';
import { selectRows } from '../numeric/csr';
import { fitLogisticRegression, predictProba } from '../numeric/logistic-regression';
import { readJson, writeJsonAtomic } from '../storage';
import { ARTIFACTS, StageContext, artifactPath, secondsSince } from './context';
import { TopicsFile } from './feature-extraction';
import { FeaturesFile, SplitFile } from './transform-split';
import { evaluate, majorityClass, SplitMetrics } from './evaluate';
import { BadInputError } from '../errors';
import { classCounts, presentClasses } from './labels';

export interface MetricsFile {
  classes: string[];
  train: SplitMetrics;
  test: SplitMetrics;
  /** Degenerate but completed model, e.g. test accuracy below the test split's majority-class rate. */
  warnings: string[];
}

/** Everything needed to classify a new ticket's processed text, in one file. */
export interface ModelFile {
  kind: 'logistic-regression';
  classes: string[];
  vocabulary: string[];
  idf: number[];
  coef: number[][];
  intercept: number[];
  multiClass: string;
  params: { C: number; penalty: string; maxIter: number };
  iterations: number;
}

export interface TrainingResult {
  metrics: MetricsFile;
  /** The same list as `metrics.warnings`; always present, empty for a healthy model. */
  warnings: string[];
  seconds: number;
}

/** Stage 4: logistic regression on the TF-IDF features of the train rows, scored on train and test. */
export async function runTraining(ctx: StageContext): Promise<TrainingResult> {
  const start = performance.now();
  const { params } = ctx;
  const names = (await readJson<TopicsFile>(artifactPath(ctx, ARTIFACTS.topics))).topics.map((t) => t.name);
  const features = await readJson<FeaturesFile>(artifactPath(ctx, ARTIFACTS.features));
  const split = await readJson<SplitFile>(artifactPath(ctx, ARTIFACTS.split));
  const { matrix: X, labels } = await readCsrFile(artifactPath(ctx, ARTIFACTS.matrix));
  const trainIdx = Int32Array.from(split.train);
  const testIdx = Int32Array.from(split.test);
  const pick = (idx: Int32Array): Int32Array => idx.map((i) => labels[i]!);
  const Xtrain = selectRows(X, trainIdx);
  const ytrain = pick(trainIdx);
  const Xtest = selectRows(X, testIdx);
  const ytest = pick(testIdx);
  await ctx.progress?.(10);

  const k = names.length;
  const trainClasses = presentClasses(classCounts(ytrain, k));
  if (trainClasses.length < 2) {
    const only = trainClasses[0];
    const held = only === undefined ? 'no ticket' : `only topic "${names[only]}" (${ytrain.length} tickets)`;
    throw new BadInputError(
      `the training split holds ${held}, and a classifier needs two topics or more: use more of the other topics' data or a different split (set "stratify": true, or change "splitSeed" or "testSize")`,
    );
  }
  const model = fitLogisticRegression(Xtrain, ytrain, k, { C: params.C, maxIter: params.maxIter });
  await ctx.progress?.(80);
  const train = evaluate(ytrain, predictProba(model, Xtrain), names, false);
  const test = evaluate(ytest, predictProba(model, Xtest), names, true);
  const warnings: string[] = [];
  const majority = majorityClass(ytest, k);
  if (test.rows > 0 && test.accuracy < majority.rate) {
    warnings.push(
      `test accuracy ${test.accuracy.toFixed(4)} is below the majority-class rate ${majority.rate.toFixed(4)} of the test split (always answering "${names[majority.label]}"): the model does worse than a constant guess`,
    );
  }
  for (const w of warnings) ctx.log.warn(w);
  const metrics: MetricsFile = { classes: names, train, test, warnings };
  const f = model.features;
  const modelFile: ModelFile = {
    kind: 'logistic-regression',
    classes: names,
    vocabulary: features.vocabulary,
    idf: features.idf,
    coef: names.map((_, c) => Array.from(model.coef.subarray(c * f, (c + 1) * f))),
    intercept: Array.from(model.intercept),
    multiClass: model.multiClass,
    params: { C: params.C, penalty: params.penalty, maxIter: params.maxIter },
    iterations: model.nIter,
  };
  await writeJsonAtomic(artifactPath(ctx, ARTIFACTS.model), modelFile);
  await writeJsonAtomic(artifactPath(ctx, ARTIFACTS.metrics), metrics);
  ctx.log.info(
    `trained in ${model.nIter} iterations: train accuracy ${metrics.train.accuracy.toFixed(4)}, test accuracy ${metrics.test.accuracy.toFixed(4)}`,
  );
  return { metrics, warnings, seconds: secondsSince(start) };
}
