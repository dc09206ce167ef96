import { accuracy, averagedScores } from '../../../core/numeric/metrics';
import { CountRows } from '../../../core/numeric/count-rows';
import { CsrMatrix, CsrValues } from '../../../core/numeric/csr';
import { stratifiedKFold } from '../../../core/numeric/kfold';
import { PipelineParams } from '../../../core/config/pipeline-params';
import {
  ARTIFACTS,
  RunArtifacts,
  StageContext,
  artifactKey,
  secondsSince,
  writtenByOwnCode,
} from '../context';
import { Candidate, describeCandidate, searchGrid, searchScore } from './search-grid';
import { CandidateSummary, SearchFile } from './search-file';
import {
  featureView,
  fitCandidate,
  fitRowsOf,
  forScoreBlocks,
  readTrainingData,
  requireTwoClasses,
} from './training-data';

/** One candidate fitted on the other folds of the training split and scored on one fold. */
export interface FoldResult {
  candidate: number;
  fold: number;
  accuracy: number;
  macroF1: number;
  /** the search's score of this fold (accuracy or macro-F1) */
  score: number;
  iterations: number;
  seconds: number;
}

/**
 * The folds of the training split, the same in every job of a run: stratified by label and seeded by
 * the split's seed. Positions index `split.train`.
 */
function foldsOf(y: Int32Array, params: Readonly<PipelineParams>) {
  return stratifiedKFold(y, params.cvFolds, params.splitSeed);
}

/** Fit candidate `id` without fold `fold` of the training split and score it on that fold. */
export async function runCvFold(ctx: StageContext, id: number, fold: number): Promise<FoldResult> {
  const start = performance.now();
  const { params } = ctx;
  const candidate = searchGrid(params)[id];
  if (!candidate) throw new Error(`search candidate ${id} is not in this run's grid`);
  const data = await readTrainingData(ctx);
  const k = data.classes.length;
  const view = featureView(data, candidate.ngrams);
  const yTrain = data.train.map((r) => data.labels[r]!);
  requireTwoClasses(yTrain, data.classes);
  const part = foldsOf(yTrain, params)[fold];
  if (!part) throw new Error(`fold ${fold} is not among the ${params.cvFolds} folds`);
  // The held-out rows are read once the fit rows are no longer needed, and a block at a time.
  let fit: { X: CsrMatrix<CsrValues> | CountRows; y: Int32Array } | null = await fitRowsOf(
    ctx,
    data,
    view,
    part.train.map((i) => data.train[i]!),
    candidate,
  );
  const fitRows = fit.y.length;
  const model = fitCandidate(fit.X, fit.y, k, candidate, params, 'cv');
  fit = null;
  const heldRows = part.validation.map((i) => data.train[i]!);
  const heldY = heldRows.map((r) => data.labels[r]!);
  const pred = new Int32Array(heldRows.length);
  await forScoreBlocks(ctx, data, view, heldRows, (X, positions) => {
    const p = model.predict(X);
    positions.forEach((q, i) => (pred[q] = p[i]!));
  });
  const acc = accuracy(heldY, pred);
  const macroF1 = averagedScores(heldY, pred, k).macro.f1;
  const score = searchScore(params) === 'accuracy' ? acc : macroF1;
  const seconds = secondsSince(start);
  const result: FoldResult = {
    candidate: id,
    fold,
    accuracy: acc,
    macroF1,
    score,
    iterations: model.iterations,
    seconds,
  };
  const file: FoldFile = {
    candidate,
    cvFolds: params.cvFolds,
    seed: params.splitSeed,
    code: ctx.code ?? null,
    result,
  };
  await ctx.store.putJson(foldFile(ctx, id, fold), file);
  ctx.log.info(
    `candidate ${id} ${describeCandidate(candidate)}, fold ${fold + 1}/${params.cvFolds}: ${fitRows} fit / ${heldY.length} held-out tickets, ${view.vocabulary.length} features, ${model.iterations} iterations; accuracy ${acc.toFixed(4)}, macro-F1 ${macroF1.toFixed(4)} in ${seconds} s`,
  );
  return result;
}

/**
 * `search/cv-<candidate>-<fold>.json`: one fold's result with what it was computed for. A retry of the
 * run reuses every fold result of the same candidate, folds and seed, computed by the same code, as text
 * processing reuses chunks; the folder goes once the winner is refitted.
 */
interface FoldFile {
  candidate: Candidate;
  cvFolds: number;
  seed: number;
  /** the code identity that scored the fold (StageContext.code; null in-process) */
  code: string | null;
  result: FoldResult;
}

function foldFile(ctx: Pick<StageContext, 'runId'>, id: number, fold: number): string {
  return artifactKey(ctx, `${ARTIFACTS.searchDir}/cv-${id}-${fold}.json`);
}

/**
 * The fold results already in storage for this run's grid (see FoldFile) and the context's code, keyed
 * `candidate/fold`.
 */
export async function readFoldResults(ctx: StageContext): Promise<Map<string, FoldResult>> {
  const { params } = ctx;
  const found = new Map<string, FoldResult>();
  for (const c of searchGrid(params)) {
    for (let fold = 0; fold < params.cvFolds; fold++) {
      const file = await ctx.store.getJson<FoldFile>(foldFile(ctx, c.id, fold)).catch(() => null);
      const same =
        file !== null &&
        file.cvFolds === params.cvFolds &&
        file.seed === params.splitSeed &&
        JSON.stringify(file.candidate) === JSON.stringify(c) &&
        writtenByOwnCode(file.code, ctx) &&
        file.result.candidate === c.id &&
        file.result.fold === fold;
      if (same) found.set(foldKey(c.id, fold), file.result);
    }
  }
  return found;
}

export function foldKey(candidate: number, fold: number): string {
  return `${candidate}/${fold}`;
}

/** The per-fold files: search.json holds their summary once the winner is chosen. */
export async function removeFoldFiles(ctx: RunArtifacts): Promise<void> {
  await ctx.store.removePrefix(artifactKey(ctx, `${ARTIFACTS.searchDir}/`));
}

/**
 * Every candidate's mean ± std over its folds, and the winner: the highest mean score, ties to the
 * lower candidate id (the grid lists simpler models first). Fails if a fold result is missing.
 */
export function summarizeSearch(
  params: Readonly<PipelineParams>,
  results: readonly FoldResult[],
): SearchFile {
  const grid = searchGrid(params);
  const folds = params.cvFolds;
  const summaries: CandidateSummary[] = grid.map((c) => {
    const mine = results.filter((r) => r.candidate === c.id).sort((a, b) => a.fold - b.fold);
    if (mine.length !== folds || mine.some((r, f) => r.fold !== f)) {
      throw new Error(
        `search candidate ${c.id} has ${mine.length} of ${folds} fold results: a search job's result is missing`,
      );
    }
    const scores = mine.map((r) => r.score);
    const mean = scores.reduce((s, v) => s + v, 0) / folds;
    const variance = scores.reduce((s, v) => s + (v - mean) ** 2, 0) / folds;
    return {
      ...c,
      meanScore: mean,
      stdScore: Math.sqrt(variance),
      meanAccuracy: mine.reduce((s, r) => s + r.accuracy, 0) / folds,
      meanMacroF1: mine.reduce((s, r) => s + r.macroF1, 0) / folds,
      seconds: Math.round(mine.reduce((s, r) => s + r.seconds, 0) * 1000) / 1000,
      folds: scores,
      winner: false,
    };
  });
  let best = summaries[0]!;
  for (const s of summaries) if (s.meanScore > best.meanScore) best = s;
  best.winner = true;
  return { score: searchScore(params), folds, candidates: summaries, winner: best.id };
}

export async function writeSearchFile(ctx: StageContext, file: SearchFile): Promise<void> {
  await ctx.store.putJson(artifactKey(ctx, ARTIFACTS.search), file);
}
