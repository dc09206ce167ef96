import { ARTIFACTS, StageContext, artifactKey, secondsSince } from '../context';
import { putJsonInPieces } from '../../../core/io/json-pieces';
import { readArtifactJson } from '../read-artifact';
import { writeJsonObject } from '../../../core/io/json-lists';
import { SearchFile } from './search-file';
import { Candidate, describeCandidate } from './search-grid';
import {
  combineCandidateParts,
  featureView,
  fitCandidate,
  fitRowsOf,
  forScoreBlocks,
  probabilitiesOf,
  readTrainingData,
  requireTwoClasses,
} from './training-data';
import { readRefitParts } from './refit-parts';
import { evaluate, majorityClass, SplitMetrics } from './evaluate';
import { classCounts } from '../transform-split/labels';
import { DEFAULT_PIPELINE_PARAMS, PARAM_NAMES } from '../../../core/config/pipeline-params';
import {
  MODEL_FORMAT,
  MODEL_VERSION,
  ModelFile,
  ModelLineage,
  ThresholdChoice,
  ThresholdRow,
} from '../../model/model-file';
import { ESTIMATORS, FittedModel } from '../../model/estimator-table';
import { Predictor } from '../../model/estimator';
import {
  LOW_COVERAGE,
  THRESHOLD_GRID,
  calibrateThreshold,
  thresholdTable,
  topClasses,
} from '../../model/threshold';

export type { ModelFile } from '../../model/model-file';

export interface MetricsFile {
  classes: string[];
  train: SplitMetrics;
  test: SplitMetrics;
  /** Degenerate but completed model, e.g. test accuracy below the test split's majority-class rate. */
  warnings: string[];
  /**
   * The model's default abstention threshold, chosen on the test split for `targetPrecision` (the same
   * object as model.json's `threshold`). Absent in metrics of runs trained before model.json version 2.
   */
  threshold?: ThresholdChoice;
  /** Coverage and accuracy of the answered test predictions at a grid of thresholds and the chosen one. */
  thresholds?: ThresholdRow[];
  /** every candidate of the model search with its cross-validation scores; absent before the search */
  search?: SearchFile;
}

/** `test_predictions.json`: what training predicted for the test split, for parity checks of a loaded model. */
export interface TestPredictionsFile {
  /** row indices into tickets.csv, in split.json's test order */
  rows: number[];
  /** per row, the probability of each class in model.json's class order */
  probabilities: number[][];
}

export interface TrainingResult {
  metrics: MetricsFile;
  /** The same list as `metrics.warnings`; always present, empty for a healthy model. */
  warnings: string[];
  seconds: number;
}

/**
 * Stage 4's last step in one process: refit the search's winner (`search.json`) and write the model,
 * its test predictions and metrics.json with the search's summary.
 */
export async function runTraining(ctx: StageContext): Promise<TrainingResult> {
  const search = await readArtifactJson<SearchFile>(ctx, ARTIFACTS.search);
  const candidate = search.candidates.find((c) => c.id === search.winner);
  if (!candidate)
    throw new Error(`${ARTIFACTS.search} names winner ${search.winner}, which it does not list`);
  return writeTrainingMetrics(ctx, await runRefit(ctx, candidate), search);
}

/**
 * Refit `candidate` on the whole training split, score it once on the test split, calibrate the
 * abstention threshold and write model.json and test_predictions.json. It needs no search result, so a
 * search of one candidate can run it alongside the cross-validation; its metrics lack `search` until
 * writeTrainingMetrics adds the summary and writes metrics.json. With `parts` (the problems of a parted
 * fit, refit-parts.ts), the problems' jobs have fitted the model already: it joins their rows.
 */
export async function runRefit(
  ctx: StageContext,
  candidate: Candidate,
  parts: readonly number[] | null = null,
): Promise<TrainingResult> {
  return scoreRefit(ctx, candidate, await fitRefit(ctx, candidate, parts));
}

/** What a refit's fit leaves for its scoring: the model, and the training split's metrics and class counts. */
export interface RefitFitted {
  /** the estimator's section of model.json */
  section: ReturnType<FittedModel['write']>;
  model: Predictor;
  iterations: number;
  train: SplitMetrics;
  /** training rows per class */
  trainCounts: number[];
  /** seconds the fit took, with reading and scoring the training rows */
  seconds: number;
}

/**
 * The first half of runRefit: read the training rows, fit (or join `parts`), score the training rows.
 * Only this half holds the training rows; refit-fit.ts stores what it returns, for a scoring job.
 */
export async function fitRefit(
  ctx: StageContext,
  candidate: Candidate,
  parts: readonly number[] | null = null,
): Promise<RefitFitted> {
  const start = performance.now();
  const { params } = ctx;
  const data = await readTrainingData(ctx);
  const names = data.classes;
  const view = featureView(data, candidate.ngrams);
  const trainRows = await fitRowsOf(ctx, data, view, data.train, candidate);
  const ytrain = trainRows.y;
  await ctx.progress?.(10);
  ctx.log.info(
    `read ${data.counts.rows} × ${view.vocabulary.length} features: ${ytrain.length} train / ${data.test.length} test rows in ${secondsSince(start)} s`,
  );

  const k = names.length;
  requireTwoClasses(ytrain, names);
  const fitStart = performance.now();
  const F = view.vocabulary.length;
  const model =
    parts === null
      ? fitCandidate(trainRows.X, ytrain, k, candidate, params, 'refit')
      : combineCandidateParts(await readRefitParts(ctx, candidate, parts, names, F), k, F, candidate, params);
  ctx.log.info(
    `${ESTIMATORS[candidate.solver].title}: ${model.iterations} iterations (${model.iterations < params.maxIter ? 'converged' : `reached maxIter ${params.maxIter}, may not have converged`}), refit of the winner, candidate ${candidate.id} ${describeCandidate(candidate)}: ${model.features} features × ${k} classes, ${parts === null ? `in ${secondsSince(fitStart)} s` : `joined from ${parts.length} problems' jobs`}`,
  );
  await ctx.progress?.(80);
  return {
    section: model.write(),
    model,
    iterations: model.iterations,
    train: evaluate(ytrain, probabilitiesOf(model, trainRows.X), names, false),
    trainCounts: Array.from(classCounts(ytrain, k)),
    seconds: secondsSince(start),
  };
}

/**
 * The second half of runRefit: score `fitted` on the test split (its rows read a block at a time),
 * calibrate the threshold, write model.json and test_predictions.json. Its seconds include the fit's.
 */
export async function scoreRefit(
  ctx: StageContext,
  candidate: Candidate,
  fitted: RefitFitted,
): Promise<TrainingResult> {
  const start = performance.now();
  const { params } = ctx;
  const { model, train, trainCounts } = fitted;
  const data = await readTrainingData(ctx);
  const names = data.classes;
  const k = names.length;
  const view = featureView(data, candidate.ngrams);
  const ytest = data.test.map((r) => data.labels[r]!);
  const testProba = new Float64Array(ytest.length * k);
  await forScoreBlocks(ctx, data, view, data.test, (X, positions) => {
    const P = model.probabilities(X);
    positions.forEach((q, i) => testProba.set(P.subarray(i * k, (i + 1) * k), q * k));
  });
  const test = evaluate(ytest, testProba, names, true);
  ctx.log.info(
    `accuracy: train ${train.accuracy.toFixed(4)}, test ${test.accuracy.toFixed(4)} (test weighted F1 ${test.f1.toFixed(4)}, macro-F1 ${test.macroF1.toFixed(4)})`,
  );
  const warnings: string[] = [];
  const majority = majorityClass(ytest, k);
  if (test.rows > 0 && test.accuracy < majority.rate) {
    warnings.push(
      `test accuracy ${test.accuracy.toFixed(4)} is below the majority-class rate ${majority.rate.toFixed(4)} of the test split (always answering "${names[majority.label]}"): the model does worse than a constant guess`,
    );
  }

  // The default abstention threshold, from the test split's confidences and outcomes.
  const targetPrecision = params.targetPrecision ?? DEFAULT_PIPELINE_PARAMS.targetPrecision;
  const top = topClasses(testProba, ytest.length, k);
  const correct = Uint8Array.from(ytest, (y, i) => (top.label[i] === y ? 1 : 0));
  const { choice: threshold, reached } = calibrateThreshold(top.confidence, correct, targetPrecision);
  ctx.log.info(
    `threshold ${threshold.value.toFixed(4)} for target precision ${targetPrecision}${reached ? '' : ' (not reached)'}: precision ${threshold.precision.toFixed(4)}, coverage ${(threshold.coverage * 100).toFixed(1)} % of test tickets`,
  );
  if (!reached) {
    warnings.push(
      `no confidence threshold reaches precision ${targetPrecision} on the test split: the default threshold ${threshold.value.toFixed(4)} gives the highest precision, ${threshold.precision.toFixed(4)}, answering ${(threshold.coverage * 100).toFixed(1)} % of tickets; lower "targetPrecision" or improve the model`,
    );
  }
  if (ytest.length > 0 && threshold.coverage < LOW_COVERAGE) {
    warnings.push(
      `the default threshold ${threshold.value.toFixed(4)} answers only ${(threshold.coverage * 100).toFixed(1)} % of test tickets (below ${LOW_COVERAGE * 100} %) for target precision ${targetPrecision}: the rest are "needs_review"; a lower "targetPrecision" answers more tickets at a lower precision (docs/models.md, "Coverage and precision")`,
    );
  }
  const thresholds = thresholdTable(top.confidence, correct, [...THRESHOLD_GRID, threshold.value]);
  for (const w of warnings) ctx.log.warn(w);
  const metrics: MetricsFile = { classes: names, train, test, warnings, threshold, thresholds };

  const trainTickets = trainCounts.reduce((a, b) => a + b, 0);
  const lineage: ModelLineage = {
    runId: ctx.runId,
    datasetSha256: ctx.run?.datasetSha256 ?? null,
    codeVersion: ctx.run?.codeVersion ?? null,
    // In PARAM_NAMES order, whatever order the job's params arrived in, so equal models are equal bytes.
    params: Object.fromEntries(
      PARAM_NAMES.filter((p) => p !== 'chunkSize').map((p) => [
        p,
        p === 'targetPrecision' ? targetPrecision : params[p],
      ]),
    ) as ModelLineage['params'],
    testMetrics: {
      accuracy: test.accuracy,
      precision: test.precision,
      recall: test.recall,
      f1: test.f1,
      rocAuc: test.rocAuc,
    },
  };
  const modelFile: ModelFile = {
    format: MODEL_FORMAT,
    version: MODEL_VERSION,
    kind: 'logistic-regression',
    classes: names,
    textProcessing:
      data.features.text.function === 'noun-lemmas'
        ? { ...data.features.text, keepTags: [...data.features.text.keepTags], language: params.language }
        : { ...data.features.text },
    vectorizer: {
      ...data.features.vectorizer,
      ...(candidate.ngrams > 1 || data.features.vectorizer.ngramRange
        ? { ngramRange: [1, candidate.ngrams] as [number, number] }
        : {}),
      vocabulary: view.vocabulary,
      idf: Array.from(view.idf),
    },
    ...fitted.section,
    lineage,
    threshold,
    trainingLabelMix: Object.fromEntries(
      names.map((name, c) => [name, trainTickets === 0 ? 0 : trainCounts[c]! / trainTickets]),
    ),
  };
  // In pieces: a model over ~2.9M terms is longer than V8's longest string (json-pieces.ts).
  await putJsonInPieces(ctx.store, artifactKey(ctx, ARTIFACTS.model), modelFile);
  // As putJson would write a TestPredictionsFile, without an array per test ticket.
  await writeJsonObject(ctx.store, artifactKey(ctx, ARTIFACTS.testPredictions), async (w) => {
    await w.numbers('rows', data.test);
    await w.rows('probabilities', testProba, k);
  });
  const seconds = Math.round((fitted.seconds + (performance.now() - start) / 1000) * 1000) / 1000;
  ctx.log.info(`wrote ${ARTIFACTS.model}, ${ARTIFACTS.testPredictions} (${seconds} s in all)`);
  return { metrics, warnings, seconds };
}

/** The refit's result with the search's summary, written as metrics.json (`search` is its last field). */
export async function writeTrainingMetrics(
  ctx: StageContext,
  refit: TrainingResult,
  search: SearchFile,
): Promise<TrainingResult> {
  const metrics: MetricsFile = { ...refit.metrics, search };
  await ctx.store.putJson(artifactKey(ctx, ARTIFACTS.metrics), metrics);
  return { ...refit, metrics };
}
