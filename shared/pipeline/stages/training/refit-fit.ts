import { ARTIFACTS, StageContext, artifactKey } from '../context';
import { readArtifactJson } from '../read-artifact';
import { LabelsFile } from '../transform-split/transform-split';
import { ArtifactNotFound } from '../../../core/store/artifact-store';
import { putJsonInPieces } from '../../../core/io/json-pieces';
import { ESTIMATORS } from '../../model/estimator-table';
import { Candidate, describeCandidate } from './search-grid';
import { StoredFitHeader, candidateFields, sameFit } from './refit-parts';
import { RefitFitted, TrainingResult, fitRefit, scoreRefit } from './training';
import { readTrainingData } from './training-data';

/**
 * A refit of one job per half: a search of one candidate runs its refit alongside the cross-validation,
 * and the refit's fit is the stage's longest job. Its fit job (`refit-fit`) fits and scores the training
 * rows, then stores the model here; the refit job, its parent in the flow, starts once it completes and
 * scores the test split. The scoring then runs on whichever worker is free instead of after the fit on
 * the fit's, which ends the stage sooner on two workers or more (docs/scaling.md).
 *
 * `search/refit-<candidate>-fit.json`: the fit's candidate, parameters and code, and what RefitFitted
 * holds but the predictor (read back from the section, as serving reads model.json: the same doubles, the
 * same probabilities). A retry of the run reuses it for the same candidate, parameters and code; it goes
 * with the search's folder once the model is written.
 */
interface FitFile extends StoredFitHeader {
  classes: string[];
  features: number;
  iterations: number;
  train: RefitFitted['train'];
  trainCounts: number[];
  seconds: number;
  section: RefitFitted['section'];
}

/** What a fit job returns: small, for its log and the stage's timeline. */
export interface RefitFitResult {
  kind: 'refit-fit';
  candidate: number;
  iterations: number;
  seconds: number;
}

function fitKey(ctx: Pick<StageContext, 'runId'>, candidate: number): string {
  return artifactKey(ctx, `${ARTIFACTS.searchDir}/refit-${candidate}-fit.json`);
}

/** Fit `candidate` on the whole training split and store the model for the refit job that scores it. */
export async function runRefitFit(ctx: StageContext, candidate: Candidate): Promise<RefitFitResult> {
  const fitted = await fitRefit(ctx, candidate);
  const data = await readTrainingData(ctx);
  const file: FitFile = {
    candidate: candidateFields(candidate),
    seed: ctx.params.splitSeed,
    maxIter: ctx.params.maxIter,
    classes: data.classes,
    features: fitted.model.features,
    code: ctx.code ?? null,
    iterations: fitted.iterations,
    train: fitted.train,
    trainCounts: fitted.trainCounts,
    seconds: fitted.seconds,
    section: fitted.section,
  };
  await putJsonInPieces(ctx.store, fitKey(ctx, candidate.id), file);
  ctx.log.info(
    `refit of candidate ${candidate.id} ${describeCandidate(candidate)} fitted and stored for its scoring (${fitted.seconds} s)`,
  );
  return {
    kind: 'refit-fit',
    candidate: candidate.id,
    iterations: fitted.iterations,
    seconds: fitted.seconds,
  };
}

/**
 * The stored fit of `candidate` for these parameters by the context's code, with its predictor; null when
 * there is none (or it is another fit's). A file that is there but unreadable fails, naming it.
 */
export async function readRefitFit(ctx: StageContext, candidate: Candidate): Promise<RefitFitted | null> {
  const key = fitKey(ctx, candidate.id);
  let file: FitFile;
  try {
    file = await ctx.store.getJson<FitFile>(key);
  } catch (err) {
    if (err instanceof ArtifactNotFound) return null;
    throw new Error(`${ctx.store.locate(key)}: not a stored refit (${(err as Error).message})`, {
      cause: err,
    });
  }
  // The classes from labels.json: the training job asks too (storedRefitFit), and holds no per-ticket data.
  const { classes } = await readArtifactJson<LabelsFile>(ctx, ARTIFACTS.labels);
  if (!sameFit(ctx, file, candidate) || JSON.stringify(file.classes) !== JSON.stringify(classes)) return null;
  const estimator = ESTIMATORS[candidate.solver];
  const k = classes.length;
  const problem = estimator.sectionProblem(
    file.section as unknown as Record<string, unknown>,
    k,
    file.features,
  );
  if (problem !== null) throw new Error(`${ctx.store.locate(key)}: not a stored refit (${problem})`);
  const { coef: _coef, intercept: _intercept, ...header } = file.section;
  return {
    section: file.section,
    model: estimator.read(header, estimator.pack(file.section), k),
    iterations: file.iterations,
    train: file.train,
    trainCounts: file.trainCounts,
    seconds: file.seconds,
  };
}

/** Whether a fit of `candidate` that this run can score is stored (a retry then adds no fit job). */
export async function storedRefitFit(ctx: StageContext, candidate: Candidate): Promise<boolean> {
  // A file that cannot be read is fitted again.
  return (await readRefitFit(ctx, candidate).catch(() => null)) !== null;
}

/**
 * The refit job of a refit in two halves: score the stored fit on the test split and write the model.
 * Fails (retryably) when the fit is not there: the flow starts this job only once its fit job completed.
 */
export async function scoreStoredRefit(ctx: StageContext, candidate: Candidate): Promise<TrainingResult> {
  const fitted = await readRefitFit(ctx, candidate);
  if (!fitted)
    throw new Error(
      `${ctx.store.locate(fitKey(ctx, candidate.id))}: no fit of candidate ${candidate.id} for this run's parameters and code to score`,
    );
  return scoreRefit(ctx, candidate, fitted);
}
