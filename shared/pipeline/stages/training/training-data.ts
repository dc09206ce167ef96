import {
  CsrFileLayout,
  ReadRowsOptions,
  readCsrLabels,
  readCsrLayout,
  readCsrRows,
} from '../../../core/io/csr-rows';
import { CsrMatrix, CsrValues } from '../../../core/numeric/csr';
import { applyTfidfInPlace } from '../../../core/numeric/vectorizer';
import { balancedClassWeights, sampleWeightsFor } from '../../../core/numeric/class-weight';
import { PipelineParams } from '../../../core/config/pipeline-params';
import { ARTIFACTS, RunArtifacts, artifactKey } from '../context';
import { readArtifactJson } from '../read-artifact';
import { FeaturesFile, LabelsFile, SplitFile } from '../transform-split/transform-split';
import { Candidate } from './search-grid';
import { tfidfOptions } from '../../model/model-file';
import { ESTIMATORS, FittedModel } from '../../model/estimator-table';
import { Predictor } from '../../model/estimator';

/**
 * What stage 3 wrote, as stage 4 reads it: labels, split, vocabulary, and where the counts are. The counts
 * stay in features.bin: each job reads the rows it fits and scores (fitRowsOf, scoreRowsOf), so a process holds those
 * rows, never the whole matrix.
 */
export interface TrainingData {
  classes: string[];
  features: FeaturesFile;
  split: SplitFile;
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
    readArtifactJson<SplitFile>(ctx, ARTIFACTS.split),
    readCsrLayout(ctx.store, keys[3]!),
  ]);
  const data: TrainingData = {
    classes: labelsFile.classes,
    features,
    split,
    counts: layout,
    labels: await readCsrLabels(ctx.store, layout),
    train: Int32Array.from(split.train),
    test: Int32Array.from(split.test),
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
 * Rows `rows` of a view's TF-IDF matrix (in that order) and their labels, read from features.bin. A
 * TF-IDF row depends only on the row's counts and idf, so these equal the whole matrix's rows. Rows to
 * fit are read in the precision the candidate's estimator fits in (`fitValues`), rows to score in double,
 * as serving scores them.
 *
 * Memory: the rows' non-zeros × 12 bytes (int32 column, float64 value), 8 in single precision, plus 4
 * bytes per non-zero while a view drops columns, plus 4 bytes per row. The 100× dev data (1.59M
 * tickets) with words and bigrams holds 352M non-zeros: a CV fold's fit rows (47 % of the tickets) are
 * ≈ 165M non-zeros, 1.3 GB in single precision; the refit's (the training split's 70 %) ≈ 247M, 2.0 GB.
 */
export async function fitRowsOf(
  ctx: RunArtifacts,
  data: TrainingData,
  view: FeatureView,
  rows: Int32Array,
  candidate: Candidate,
): Promise<{ X: CsrMatrix<CsrValues>; y: Int32Array }> {
  const single = ESTIMATORS[candidate.solver].fitValues === 'float32';
  const opts = readOptions(view);
  const counts = single
    ? await readCsrRows(ctx.store, data.counts, rows, { ...opts, values: 'float32' })
    : await readCsrRows(ctx.store, data.counts, rows, opts);
  const X = applyTfidfInPlace<CsrValues>(counts, view.idf, tfidfOptions(data.features.vectorizer));
  return { X, y: rows.map((r) => data.labels[r]!) };
}

/** Rows to score, in double (fitRowsOf). */
export async function scoreRowsOf(
  ctx: RunArtifacts,
  data: TrainingData,
  view: FeatureView,
  rows: Int32Array,
): Promise<{ X: CsrMatrix; y: Int32Array }> {
  const counts = await readCsrRows(ctx.store, data.counts, rows, readOptions(view));
  const X = applyTfidfInPlace(counts, view.idf, tfidfOptions(data.features.vectorizer));
  return { X, y: rows.map((r) => data.labels[r]!) };
}

/** The view's column selection, as readCsrRows takes it. */
function readOptions(view: FeatureView): ReadRowsOptions {
  return view.columnMap ? { select: { map: view.columnMap, columns: view.columns.length } } : {};
}

/** Rows scored per block when single-precision rows are scored: a block's double copy is all it adds. */
const SCORE_BLOCK_ROWS = 1 << 16;

/** A predictor's probabilities of rows in either precision (single-precision rows in double, by blocks). */
export function probabilitiesOf(model: Predictor, X: CsrMatrix<CsrValues>): Float64Array {
  const { data } = X;
  if (data instanceof Float64Array) return model.probabilities({ ...X, data });
  const K = model.classes;
  const out = new Float64Array(X.rows * K);
  for (let r0 = 0; r0 < X.rows; r0 += SCORE_BLOCK_ROWS) {
    const r1 = Math.min(X.rows, r0 + SCORE_BLOCK_ROWS);
    const p0 = X.indptr[r0]!;
    const p1 = X.indptr[r1]!;
    const block: CsrMatrix = {
      rows: r1 - r0,
      cols: X.cols,
      indptr: X.indptr.subarray(r0, r1 + 1).map((p) => p - p0),
      indices: X.indices.subarray(p0, p1),
      data: Float64Array.from(data.subarray(p0, p1)),
    };
    out.set(model.probabilities(block), r0 * K);
  }
  return out;
}

/**
 * Fit one candidate with its estimator, C and class weighting (balanced = sklearn's
 * `class_weight="balanced"`, given to the estimator as per-sample weights).
 */
export function fitCandidate(
  X: CsrMatrix<CsrValues>,
  y: Int32Array,
  classes: number,
  candidate: Candidate,
  params: Readonly<PipelineParams>,
  purpose: 'cv' | 'refit',
): FittedModel {
  const sampleWeight =
    candidate.classWeight === 'balanced' ? sampleWeightsFor(y, balancedClassWeights(y, classes)) : null;
  return ESTIMATORS[candidate.solver].fit(
    { X, y, classes, sampleWeight },
    {
      C: candidate.C,
      classWeight: candidate.classWeight,
      maxIter: params.maxIter,
      penalty: params.penalty,
      seed: params.splitSeed,
      purpose,
    },
  );
}
