import { PipelineParams } from '../../../core/config/pipeline-params';
import { EstimatorKind } from '../../model/estimator-table';

/** One model the search cross-validates: an estimator, its `C`, class weighting and features. */
export interface Candidate {
  /** position in the grid: ties in CV score go to the lower id */
  id: number;
  C: number;
  classWeight: 'none' | 'balanced';
  /** longest word n-gram of the features (topic labels: 1, the seed's noun lemmas) */
  ngrams: number;
  /** the estimator (estimator-table.ts), the model file's `params.solver` */
  solver: EstimatorKind;
}

export type SearchScore = 'accuracy' | 'macroF1';

/** Grid defaults per label source: topics keep the seed's one model unless the run widens the grid. */
const GRID_DEFAULTS = {
  topics: { classWeight: ['none'] as const, ngrams: [1] },
  category: { C: [1, 3, 10], classWeight: ['none', 'balanced'] as const, ngrams: [1, 2] },
};

/**
 * The estimator per label source: topics the seed's multinomial L-BFGS; categories one-vs-rest dual
 * coordinate descent, which fits the 100k+ word and bigram features in about a second where L-BFGS
 * needs several.
 */
const ESTIMATOR_FOR: Record<PipelineParams['labels'], EstimatorKind> = {
  topics: 'lbfgs',
  category: 'dual-cd',
};

/** The candidates a run's search tries, in a fixed order (n-grams, then class weighting, then C). */
export function searchGrid(params: Readonly<PipelineParams>): Candidate[] {
  const topics = params.labels === 'topics';
  const Cs = params.searchC ?? (topics ? [params.C] : GRID_DEFAULTS.category.C);
  const weights = params.searchClassWeight ?? GRID_DEFAULTS[params.labels].classWeight;
  const ngrams = topics
    ? GRID_DEFAULTS.topics.ngrams
    : (params.searchNgrams ?? GRID_DEFAULTS.category.ngrams);
  const solver = ESTIMATOR_FOR[params.labels];
  const out: Candidate[] = [];
  for (const n of [...ngrams].sort((a, b) => a - b))
    for (const classWeight of weights)
      for (const C of [...Cs].sort((a, b) => a - b))
        out.push({ id: out.length, C, classWeight, ngrams: n, solver });
  return out;
}

/** The score the search maximises: `searchScore`, or macro-F1 for categories and accuracy for topics. */
export function searchScore(params: Readonly<PipelineParams>): SearchScore {
  if (params.searchScore !== 'auto') return params.searchScore;
  return params.labels === 'category' ? 'macroF1' : 'accuracy';
}

/** Longest n-gram any candidate needs: stage 3 counts n-grams up to it. */
export function maxNgrams(params: Readonly<PipelineParams>): number {
  return Math.max(...searchGrid(params).map((c) => c.ngrams));
}

export function describeCandidate(c: Candidate): string {
  return `C=${c.C} ${c.classWeight === 'balanced' ? 'balanced' : 'unweighted'} ${c.ngrams === 1 ? 'words' : `1–${c.ngrams}-grams`} (${c.solver})`;
}
