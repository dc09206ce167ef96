import { Candidate, SearchScore } from './search-grid';

/** A candidate's cross-validation: mean and standard deviation (population, like sklearn's cv_results_). */
export interface CandidateSummary extends Candidate {
  meanScore: number;
  stdScore: number;
  meanAccuracy: number;
  meanMacroF1: number;
  /** fitting and scoring time summed over the folds */
  seconds: number;
  folds: number[];
  winner: boolean;
}

/** `search.json`: every candidate with its CV scores, the score used and the chosen one. */
export interface SearchFile {
  score: SearchScore;
  folds: number;
  candidates: CandidateSummary[];
  winner: number;
}
