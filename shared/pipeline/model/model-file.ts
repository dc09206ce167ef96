/**
 * `model.json`, version 2: everything needed to classify a ticket's raw text the way the model was trained
 * — the lemma function's settings, the vectorizer's settings with its vocabulary and idf, the logistic
 * regression, the calibrated abstention threshold — and where the model came from (lineage).
 */
import { PipelineParams } from '../../core/config/pipeline-params';
import { TicketTextSettings } from '../../core/nlp/ticket-lemmas';
import { LinearModelSection } from './estimators/linear-model';
import { CountVectorizerOptions, DEFAULT_TOKEN_PATTERN, TfidfOptions } from '../../core/numeric/vectorizer';

export const MODEL_FORMAT = 'ticketflow-model';
export const MODEL_VERSION = 2;

/** How stage 3 turns processed text into features: CountVectorizer + TfidfTransformer settings. */
export interface VectorizerSettings {
  kind: 'count+tfidf';
  lowercase: boolean;
  /** the token regexp's source, compiled with the 'u' flag */
  tokenPattern: string;
  norm: 'l2' | 'l1' | null;
  smoothIdf: boolean;
  sublinearTf: boolean;
  /** word n-grams counted, like sklearn's `ngram_range`; absent: [1, 1] */
  ngramRange?: [number, number];
}

/** Stage 3's settings (shared/pipeline/stages/transform-split/transform-split.ts fits with exactly these). */
export const FEATURE_VECTORIZER: Readonly<VectorizerSettings> = Object.freeze({
  kind: 'count+tfidf',
  lowercase: true,
  tokenPattern: DEFAULT_TOKEN_PATTERN.source,
  norm: 'l2',
  smoothIdf: true,
  sublinearTf: false,
});

/**
 * Stage 3's settings for category labels: the narrative's words (and n-grams up to the search's longest,
 * set per run) with sublinear tf, which damps the words a long narrative repeats.
 */
export const CATEGORY_VECTORIZER: Readonly<VectorizerSettings> = Object.freeze({
  ...FEATURE_VECTORIZER,
  sublinearTf: true,
});

/** The vectorizer options of `settings`: stage 3 fits with them and a loaded model transforms with them. */
export function countVectorizerOptions(settings: Readonly<VectorizerSettings>): CountVectorizerOptions {
  return {
    lowercase: settings.lowercase,
    tokenPattern: new RegExp(settings.tokenPattern, 'gu'),
    ngramRange: settings.ngramRange ?? [1, 1],
  };
}

export function tfidfOptions(settings: Readonly<VectorizerSettings>): TfidfOptions {
  return { norm: settings.norm, smoothIdf: settings.smoothIdf, sublinearTf: settings.sublinearTf };
}

/** The abstention threshold chosen on the test split (see shared/pipeline/model/threshold.ts). */
export interface ThresholdChoice {
  /** the precision the threshold was chosen for (parameter `targetPrecision`) */
  targetPrecision: number;
  /** a prediction whose confidence (top class probability) is below this abstains */
  value: number;
  /** share of the test split not abstained at `value` */
  coverage: number;
  /** share of the test split's non-abstained predictions that are right at `value` */
  precision: number;
}

/** One row of the coverage / accuracy trade-off on the test split. */
export interface ThresholdRow {
  threshold: number;
  coverage: number;
  /** accuracy of the non-abstained predictions; null when every prediction abstains */
  accuracy: number | null;
}

/** Where a model came from. */
export interface ModelLineage {
  /** the run that trained it (a run that reused a cached model carries the training run's id) */
  runId: string;
  datasetSha256: string | null;
  codeVersion: string | null;
  /** every pipeline parameter that shapes the model (all but `chunkSize`, which changes no output) */
  params: Omit<PipelineParams, 'chunkSize'>;
  testMetrics: { accuracy: number; precision: number; recall: number; f1: number; rocAuc: number | null };
}

/**
 * The estimator's section (coef, intercept, multiClass, params, iterations) is written and read by the
 * estimator `params.solver` names (estimator-table.ts); it stands between `vectorizer` and `lineage`.
 */
export interface ModelFile extends LinearModelSection {
  format: typeof MODEL_FORMAT;
  version: typeof MODEL_VERSION;
  kind: 'logistic-regression';
  /** class names, in the order of `coef`, `intercept` and every probability vector */
  classes: string[];
  textProcessing: TicketTextSettings;
  vectorizer: VectorizerSettings & { vocabulary: string[]; idf: number[] };
  lineage: ModelLineage;
  threshold: ThresholdChoice;
  /** each class's share of the training split (a reference for label drift) */
  trainingLabelMix: Record<string, number>;
}
