import { readCsrFile } from '../../../core/io/csr-file';
import { CsrMatrix, selectRows } from '../../../core/numeric/csr';
import { applyTfidf } from '../../../core/numeric/vectorizer';
import { balancedClassWeights, sampleWeightsFor } from '../../../core/numeric/class-weight';
import { PipelineParams } from '../../../core/config/pipeline-params';
import { ARTIFACTS, RunArtifacts, artifactKey } from '../context';
import { readArtifactJson } from '../read-artifact';
import { FeaturesFile, LabelsFile, SplitFile } from '../transform-split/transform-split';
import { Candidate } from './search-grid';
import { tfidfOptions } from '../../model/model-file';
import { ESTIMATORS, FittedModel } from '../../model/estimator-table';

/** What stage 3 wrote, as stage 4 reads it: counts of every ticket, labels, split, vocabulary. */
export interface TrainingData {
  classes: string[];
  features: FeaturesFile;
  split: SplitFile;
  counts: CsrMatrix;
  /** per tickets.csv row; −1 for a dropped ticket */
  labels: Int32Array;
  train: Int32Array;
  test: Int32Array;
}

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
  const [labelsFile, features, split, matrix] = await Promise.all([
    readArtifactJson<LabelsFile>(ctx, ARTIFACTS.labels),
    readArtifactJson<FeaturesFile>(ctx, ARTIFACTS.features),
    readArtifactJson<SplitFile>(ctx, ARTIFACTS.split),
    readCsrFile(ctx.store, keys[3]!),
  ]);
  const data: TrainingData = {
    classes: labelsFile.classes,
    features,
    split,
    counts: matrix.matrix,
    labels: matrix.labels,
    train: Int32Array.from(split.train),
    test: Int32Array.from(split.test),
  };
  cached = { key, data, views: new Map() };
  return data;
}

/** A candidate's features: the vocabulary columns of its n-grams, weighted by TF-IDF, for every row. */
export interface FeatureView {
  /** column j of X is vocabulary term `columns[j]` */
  columns: Int32Array;
  vocabulary: string[];
  idf: Float64Array;
  X: CsrMatrix;
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
  const { vocabulary, idf, vectorizer } = data.features;
  const keep = vocabulary.flatMap((t, j) => (termLength(t) <= ngrams ? [j] : []));
  const columns = Int32Array.from(keep);
  const counts = keep.length === vocabulary.length ? data.counts : selectColumns(data.counts, columns);
  const subIdf = Float64Array.from(columns, (j) => idf[j]!);
  const view: FeatureView = {
    columns,
    vocabulary: keep.map((j) => vocabulary[j]!),
    idf: subIdf,
    X: applyTfidf(counts, subIdf, tfidfOptions(vectorizer)),
  };
  if (cached?.data === data) cached.views.set(ngrams, view);
  return view;
}

/** The columns `keep` (ascending) of `m`, renumbered 0 … keep.length − 1. */
function selectColumns(m: CsrMatrix, keep: Int32Array): CsrMatrix {
  const newCol = new Int32Array(m.cols).fill(-1);
  keep.forEach((j, q) => (newCol[j] = q));
  const indptr = new Int32Array(m.rows + 1);
  let nnz = 0;
  for (let p = 0; p < m.indptr[m.rows]!; p++) if (newCol[m.indices[p]!]! >= 0) nnz++;
  const indices = new Int32Array(nnz);
  const values = new Float64Array(nnz);
  let q = 0;
  for (let i = 0; i < m.rows; i++) {
    for (let p = m.indptr[i]!; p < m.indptr[i + 1]!; p++) {
      const j = newCol[m.indices[p]!]!;
      if (j >= 0) {
        indices[q] = j;
        values[q] = m.data[p]!;
        q++;
      }
    }
    indptr[i + 1] = q;
  }
  return { rows: m.rows, cols: keep.length, indptr, indices, data: values };
}

export function rowsOf(X: CsrMatrix, labels: Int32Array, rows: Int32Array): { X: CsrMatrix; y: Int32Array } {
  return { X: selectRows(X, rows), y: rows.map((r) => labels[r]!) };
}

/**
 * Fit one candidate with its estimator, C and class weighting (balanced = sklearn's
 * `class_weight="balanced"`, given to the estimator as per-sample weights).
 */
export function fitCandidate(
  X: CsrMatrix,
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
