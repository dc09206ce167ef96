import {
  CsrFileLayout,
  ReadRowsOptions,
  readCsrLabels,
  readCsrLayout,
  readCsrRows,
} from '../../../core/io/csr-rows';
import { CountRows, countRowsBlock, isCountRows, tfidfCountRows } from '../../../core/numeric/count-rows';
import { CsrMatrix, CsrValues } from '../../../core/numeric/csr';
import { applyTfidfInPlace } from '../../../core/numeric/vectorizer';
import { balancedClassWeights, sampleWeightsFor } from '../../../core/numeric/class-weight';
import { PipelineParams } from '../../../core/config/pipeline-params';
import { ARTIFACTS, RunArtifacts, artifactKey } from '../context';
import { readArtifactJson } from '../read-artifact';
import { FeaturesFile, LabelsFile } from '../transform-split/transform-split';
import { readSplitFile } from '../transform-split/split-file';
import { classCounts, presentClasses } from '../transform-split/labels';
import { BadInputError } from '../../../core/errors';
import { Candidate } from './search-grid';
import { tfidfOptions } from '../../model/model-file';
import { ESTIMATORS, FittedModel } from '../../model/estimator-table';
import { FitData, FittedPart, Hyperparameters, Predictor } from '../../model/estimator';

/**
 * What stage 3 wrote, as stage 4 reads it: labels, split, vocabulary, and where the counts are. The counts
 * stay in features.bin: each job reads the rows it fits and scores (fitRowsOf, scoreRowsOf), so a process holds those
 * rows, never the whole matrix.
 */
export interface TrainingData {
  classes: string[];
  features: FeaturesFile;
  /** features.bin's shape and row pointers */
  counts: CsrFileLayout;
  /** per tickets.csv row; −1 for a dropped ticket */
  labels: Int32Array;
  train: Int32Array;
  test: Int32Array;
}

/**
 * The last run's data and feature views. Bounded whatever the jobs: per ticket, a label, a row pointer
 * and its place in the split (≈ 16 bytes, 25 MB at 1.6M tickets), and per view the vocabulary's terms
 * and idf; no matrix.
 */
let cached: { key: string; data: TrainingData; views: Map<number, FeatureView> } | null = null;

/**
 * Stage 3's outputs of a run. A sandboxed process runs many search jobs of one run in a row, so the last
 * run's data stays in memory, keyed by the objects' identity (the store's content tag: a rewritten file
 * has a new inode or mtime, a rewritten S3 object a new ETag).
 */
export async function readTrainingData(ctx: RunArtifacts): Promise<TrainingData> {
  const names = [ARTIFACTS.labels, ARTIFACTS.features, ARTIFACTS.split, ARTIFACTS.matrix];
  const keys = names.map((name) => artifactKey(ctx, name));
  const stats = await Promise.all(keys.map((k) => ctx.store.stat(k)));
  const missing = keys.find((_, i) => stats[i] === undefined);
  if (missing !== undefined) throw new Error(`cannot read ${missing}: run the stage that writes it first`);
  const key = keys.map((k, i) => `${k}:${stats[i]!.tag}:${stats[i]!.size}`).join('|');
  if (cached?.key === key) return cached.data;
  cached = null;
  const [labelsFile, features, split, layout] = await Promise.all([
    readArtifactJson<LabelsFile>(ctx, ARTIFACTS.labels),
    readArtifactJson<FeaturesFile>(ctx, ARTIFACTS.features),
    readSplitFile(ctx.store, keys[2]!),
    readCsrLayout(ctx.store, keys[3]!),
  ]);
  const data: TrainingData = {
    classes: labelsFile.classes,
    features,
    counts: layout,
    labels: await readCsrLabels(ctx.store, layout),
    train: split.train,
    test: split.test,
  };
  cached = { key, data, views: new Map() };
  return data;
}

/** A candidate's features: the vocabulary columns of its n-grams, weighted by TF-IDF. */
export interface FeatureView {
  /** column j of X is vocabulary term `columns[j]` */
  columns: Int32Array;
  vocabulary: string[];
  idf: Float64Array;
  /** the counted column's column in X, or −1 where the view drops it; null when it keeps every column */
  columnMap: Int32Array | null;
}

/** Words of an n-gram vocabulary term: its tokens are joined by single spaces and hold none. */
function termLength(term: string): number {
  let n = 1;
  for (let i = 0; i < term.length; i++) if (term.charCodeAt(i) === 32) n++;
  return n;
}

/**
 * TF-IDF features with n-grams up to `ngrams` words: the counted columns of those terms (document
 * frequencies, hence idf, do not depend on which other terms are kept), weighted with stage 3's settings.
 */
export function featureView(data: TrainingData, ngrams: number): FeatureView {
  const memo = cached?.data === data ? cached.views.get(ngrams) : undefined;
  if (memo) return memo;
  const { vocabulary, idf } = data.features;
  const keep = vocabulary.flatMap((t, j) => (termLength(t) <= ngrams ? [j] : []));
  const columns = Int32Array.from(keep);
  let columnMap: Int32Array | null = null;
  if (keep.length !== vocabulary.length) {
    columnMap = new Int32Array(data.counts.cols).fill(-1);
    keep.forEach((j, q) => (columnMap![j] = q));
  }
  const view: FeatureView = {
    columns,
    vocabulary: keep.map((j) => vocabulary[j]!),
    idf: Float64Array.from(columns, (j) => idf[j]!),
    columnMap,
  };
  if (cached?.data === data) cached.views.set(ngrams, view);
  return view;
}

/**
 * From this many non-zeros, rows an estimator fits as counts (`fitValues: 'count8'`) are read so: 5 bytes
 * a non-zero instead of single precision's 8. Below, single precision, which fits faster where the
 * matrix is small enough to stay in the caches (a dev-data fold's 1.5M non-zeros: 1.0 s a fit in single
 * precision, 1.3–1.5 s as counts, whose values are computed where they are used). At 100× the dev data a
 * refit's 247M non-zeros are 1.2 GB as counts and 2.0 GB in single precision.
 */
export const COUNT_ROWS_FROM_NNZ = 32_000_000;

/**
 * Rows `rows` of a view's TF-IDF matrix (in that order) and their labels, read from features.bin. A
 * TF-IDF row depends only on the row's counts and idf, so these equal the whole matrix's rows. Rows to
 * fit are read in the precision the candidate's estimator fits in (`fitValues`), rows to score in double,
 * as serving scores them.
 *
 * Memory: the rows' non-zeros × 12 bytes (int32 column, float64 value), 8 in single precision, 5 as
 * counts, plus 4 bytes per non-zero while a view drops columns, plus 4 bytes per row. The 100× dev data
 * (1.59M tickets) with words and bigrams holds 352M non-zeros: a CV fold's fit rows (47 % of the tickets)
 * are ≈ 165M non-zeros, 0.8 GB as counts; the refit's (the training split's 70 %) ≈ 247M, 1.2 GB.
 */
export async function fitRowsOf(
  ctx: RunArtifacts,
  data: TrainingData,
  view: FeatureView,
  rows: Int32Array,
  candidate: Candidate,
  countRowsFrom = COUNT_ROWS_FROM_NNZ,
): Promise<{ X: CsrMatrix<CsrValues> | CountRows; y: Int32Array }> {
  const values = ESTIMATORS[candidate.solver].fitValues;
  const opts = readOptions(view);
  const settings = tfidfOptions(data.features.vectorizer);
  const y = rows.map((r) => data.labels[r]!);
  let nnz = 0;
  for (const r of rows) nnz += data.counts.indptr[r + 1]! - data.counts.indptr[r]!;
  if (values === 'count8' && nnz >= countRowsFrom) {
    const counts = await readCsrRows(ctx.store, data.counts, rows, { ...opts, values });
    if (counts !== null) return { X: tfidfCountRows(counts, view.idf, settings), y };
  }
  const counts =
    values === 'float64'
      ? await readCsrRows(ctx.store, data.counts, rows, opts)
      : await readCsrRows(ctx.store, data.counts, rows, { ...opts, values: 'float32' });
  return { X: applyTfidfInPlace<CsrValues>(counts, view.idf, settings), y };
}

/** Rows to score, in double (fitRowsOf). */
async function scoreRowsOf(
  ctx: RunArtifacts,
  data: TrainingData,
  view: FeatureView,
  rows: Int32Array,
): Promise<CsrMatrix> {
  const counts = await readCsrRows(ctx.store, data.counts, rows, readOptions(view));
  return applyTfidfInPlace(counts, view.idf, tfidfOptions(data.features.vectorizer));
}

/**
 * Rows `rows` to score (scoreRowsOf), `blockRows` at a time, in file order: `use` gets each block's rows
 * and, per row, its position in `rows`. A process holds one block of them: at 100× the dev data the test
 * split's 478k rows would take 1.3 GB at once, on top of what the fit left for the collector. In file
 * order, because a split's rows are spread over the whole file and a block's read spans its rows: blocks
 * in the split's order would each read most of the file (at 100×, 4.2 GB a block).
 */
export async function forScoreBlocks(
  ctx: RunArtifacts,
  data: TrainingData,
  view: FeatureView,
  rows: Int32Array,
  use: (X: CsrMatrix, positions: Int32Array) => void,
  blockRows = SCORE_BLOCK_ROWS,
): Promise<void> {
  const order = Int32Array.from(rows.keys()).sort((a, b) => rows[a]! - rows[b]! || a - b);
  for (let at = 0; at < rows.length; at += blockRows) {
    const positions = order.subarray(at, at + blockRows);
    const X = await scoreRowsOf(
      ctx,
      data,
      view,
      positions.map((q) => rows[q]!),
    );
    use(X, positions);
  }
}

/** The view's column selection, as readCsrRows takes it. */
function readOptions(view: FeatureView): ReadRowsOptions {
  return view.columnMap ? { select: { map: view.columnMap, columns: view.columns.length } } : {};
}

/** Rows a block of scored rows holds (forScoreBlocks, probabilitiesOf): one block is all scoring adds. */
const SCORE_BLOCK_ROWS = 1 << 16;

/**
 * A predictor's probabilities of rows read to fit (fitRowsOf): double rows as they are, others scored in
 * double a block of rows at a time (count rows with applyTfidf's values, single-precision rows with theirs).
 */
export function probabilitiesOf(model: Predictor, X: CsrMatrix<CsrValues> | CountRows): Float64Array {
  if (!isCountRows(X) && X.data instanceof Float64Array) return model.probabilities({ ...X, data: X.data });
  const K = model.classes;
  const out = new Float64Array(X.rows * K);
  for (let r0 = 0; r0 < X.rows; r0 += SCORE_BLOCK_ROWS) {
    const r1 = Math.min(X.rows, r0 + SCORE_BLOCK_ROWS);
    let block: CsrMatrix;
    if (isCountRows(X)) block = countRowsBlock(X, r0, r1);
    else {
      const p0 = X.indptr[r0]!;
      const p1 = X.indptr[r1]!;
      block = {
        rows: r1 - r0,
        cols: X.cols,
        indptr: X.indptr.subarray(r0, r1 + 1).map((p) => p - p0),
        indices: X.indices.subarray(p0, p1),
        data: Float64Array.from(X.data.subarray(p0, p1)),
      };
    }
    out.set(model.probabilities(block), r0 * K);
  }
  return out;
}

/**
 * Fit one candidate with its estimator, C and class weighting (balanced = sklearn's
 * `class_weight="balanced"`, given to the estimator as per-sample weights).
 */
export function fitCandidate(
  X: CsrMatrix<CsrValues> | CountRows,
  y: Int32Array,
  classes: number,
  candidate: Candidate,
  params: Readonly<PipelineParams>,
  purpose: 'cv' | 'refit',
): FittedModel {
  return ESTIMATORS[candidate.solver].fit(
    fitData(X, y, classes, candidate),
    hyperparameters(candidate, params, purpose),
  );
}

/** The rows a candidate fits, with its class weighting as per-sample weights. */
function fitData(
  X: CsrMatrix<CsrValues> | CountRows,
  y: Int32Array,
  classes: number,
  candidate: Candidate,
): FitData {
  const sampleWeight =
    candidate.classWeight === 'balanced' ? sampleWeightsFor(y, balancedClassWeights(y, classes)) : null;
  return { X, y, classes, sampleWeight };
}

/** The hyper-parameters a candidate's fit runs with. */
export function hyperparameters(
  candidate: Candidate,
  params: Readonly<PipelineParams>,
  purpose: 'cv' | 'refit',
): Hyperparameters {
  return {
    C: candidate.C,
    classWeight: candidate.classWeight,
    maxIter: params.maxIter,
    penalty: params.penalty,
    seed: params.splitSeed,
    purpose,
  };
}

/** Whether the candidate's estimator fits independent problems (PartedFit) that may be solved apart. */
export function fitsInParts(candidate: Candidate): boolean {
  return ESTIMATORS[candidate.solver].parts !== undefined;
}

function partsOf(candidate: Candidate) {
  const parts = ESTIMATORS[candidate.solver].parts;
  if (!parts) throw new Error(`the ${candidate.solver} estimator fits as a whole, not in parts`);
  return parts;
}

/**
 * The refit's problems, when its estimator's fit is independent problems (PartedFit): solved one per
 * job, then combined. Null for an estimator that fits as a whole.
 */
export function refitProblems(candidate: Candidate, classes: number): number[] | null {
  return fitsInParts(candidate) ? partsOf(candidate).problems(classes) : null;
}

/** One of the refit's problems (refitProblems), fitted as fitCandidate would within the whole fit. */
export function fitCandidatePart(
  X: CsrMatrix<CsrValues> | CountRows,
  y: Int32Array,
  classes: number,
  candidate: Candidate,
  params: Readonly<PipelineParams>,
  problem: number,
): FittedPart {
  return partsOf(candidate).fitPart(
    fitData(X, y, classes, candidate),
    hyperparameters(candidate, params, 'refit'),
    problem,
  );
}

/** The refit's model from every problem's part: what fitCandidate(…, 'refit') gives, bit for bit. */
export function combineCandidateParts(
  parts: readonly FittedPart[],
  classes: number,
  features: number,
  candidate: Candidate,
  params: Readonly<PipelineParams>,
): FittedModel {
  return partsOf(candidate).combine(parts, classes, features, hyperparameters(candidate, params, 'refit'));
}

/** A classifier needs two classes in its training rows: bad input (a split or labels to change) if not. */
export function requireTwoClasses(ytrain: Int32Array, names: readonly string[]): void {
  const trainClasses = presentClasses(classCounts(ytrain, names.length));
  if (trainClasses.length >= 2) return;
  const only = trainClasses[0];
  const held = only === undefined ? 'no ticket' : `only topic "${names[only]}" (${ytrain.length} tickets)`;
  throw new BadInputError(
    `the training split holds ${held}, and a classifier needs two classes or more: use more of the other topics' data or a different split (set "stratify": true, or change "splitSeed" or "testSize")`,
  );
}
