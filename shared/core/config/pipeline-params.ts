import { BadInputError } from '../errors';

/** Pipeline parameters (the seed's config.py). A run may override any of them. */
export interface PipelineParams {
  /** Language of the narratives; only English has a tagger and stopword list. @defaultValue 'english' */
  language: 'english';
  /** Number of NMF topics, i.e. of classes the classifier learns. @defaultValue 3 */
  topics: number;
  /** TF-IDF `min_df` for topic modeling: an integer is a document count, a fraction a proportion. @defaultValue 2 */
  minDf: number;
  /** TF-IDF `max_df` for topic modeling. @defaultValue 0.95 */
  maxDf: number;
  /** NMF `random_state` (the seed's 123); NNDSVDa initialisation itself is deterministic. @defaultValue 123 */
  nmfSeed: number;
  /** NMF stopping tolerance. @defaultValue 1e-4 */
  nmfTol: number;
  /** NMF iteration cap. @defaultValue 200 */
  nmfMaxIter: number;
  /** Fraction of tickets held out for testing. @defaultValue 0.3 */
  testSize: number;
  /** Seed of the train/test split. @defaultValue 42 */
  splitSeed: number;
  /** Stratify the split by topic; false gives the seed's plain shuffle. @defaultValue true */
  stratify: boolean;
  /** Inverse L2 regularisation strength of logistic regression. @defaultValue 1.0 */
  C: number;
  /** Logistic regression penalty; only L2 is implemented. @defaultValue 'l2' */
  penalty: 'l2';
  /** L-BFGS iteration cap. @defaultValue 100 */
  maxIter: number;
  /**
   * Precision, on the test split, that the model's default abstention threshold is chosen for: the smallest
   * confidence threshold at which the answered (non-abstained) predictions are at least this precise.
   * In (0, 1]. @defaultValue 0.98 (`labels: "category"`: CATEGORY_DEFAULTS.targetPrecision)
   */
  targetPrecision: number;
  /**
   * Tickets per text-processing chunk job; more in a file larger than MAX_CHUNKS such chunks (each chunk
   * then holds 1/MAX_CHUNKS of the file's bytes). @defaultValue 2000
   */
  chunkSize: number;
  /**
   * Tickets per block of the later stages' block jobs: fixed blocks of `tickets.csv` rows, reduced in block
   * order, so any number of workers gives the same bytes. NMF sums its per-block aggregates in this
   * order, so another block size can change its low bits (it is in feature extraction's cache key).
   * @defaultValue 20000
   */
  blockSize: number;
  /**
   * What the classifier learns: `"topics"`, stage 2's NMF topics (pseudo-labels, the seed's behaviour), or
   * `"category"`, each ticket's own product from the dataset (see `labelField`, `labelMap`). Stage 2's
   * topics are computed and reported either way. @defaultValue 'topics'
   */
  labels: 'topics' | 'category';
  /**
   * With `labels: "category"`, the dataset field a ticket's raw label is: its `"product"`, or
   * `"category"`, its product and sub-product as `Product + Sub-product`. @defaultValue 'product'
   */
  labelField: 'product' | 'category';
  /**
   * Raw label → class (e.g. the rows of `product-labels.tsv`); null uses the raw values as classes. A raw
   * `"category"` value not in the map is looked up by its product too. @defaultValue null
   */
  labelMap: Record<string, string> | null;
  /** What a raw value `labelMap` does not list becomes: the class `"other"`, or `"drop"` the ticket. @defaultValue 'other' */
  unmappedLabel: 'other' | 'drop';
  /** Classes with fewer tickets than this are merged into `"other"` (category labels). @defaultValue 10 */
  minClassSize: number;
  /**
   * The `C` values the model search tries; null: `[C]` for topics (the seed's one model), `[1, 3, 10]` for
   * categories. @defaultValue null
   */
  searchC: number[] | null;
  /**
   * Class weightings the search tries (`"none"`, `"balanced"`); null: `["none"]` for topics,
   * `["none", "balanced"]` for categories. @defaultValue null
   */
  searchClassWeight: ('none' | 'balanced')[] | null;
  /**
   * Longest word n-gram of the category features the search tries (1: words, 2: words and bigrams); null:
   * `[1, 2]`. Topic labels always use the seed's noun-lemma features. @defaultValue null
   */
  searchNgrams: number[] | null;
  /** Folds of the stratified cross-validation on the training split. @defaultValue 3 */
  cvFolds: number;
  /**
   * What the search maximises: `"accuracy"`, `"macroF1"`, or `"auto"` (macro-F1 for categories, accuracy
   * for topics). @defaultValue 'auto'
   */
  searchScore: 'auto' | 'accuracy' | 'macroF1';
  /** `min_df` of the category features (words of the narrative): a count, or a proportion. @defaultValue 2 */
  featureMinDf: number;
  /** `max_df` of the category features. @defaultValue 0.95 */
  featureMaxDf: number;
  /**
   * Names for NMF topics: name → keywords. Each topic takes the name whose keywords weigh most in its top
   * words, each name used once; topics left without a name are called by their top three words.
   */
  topicDictionary: Record<string, string[]>;
}

export const DEFAULT_PIPELINE_PARAMS: Readonly<PipelineParams> = Object.freeze({
  language: 'english',
  topics: 3,
  minDf: 2,
  maxDf: 0.95,
  nmfSeed: 123,
  nmfTol: 1e-4,
  nmfMaxIter: 200,
  testSize: 0.3,
  splitSeed: 42,
  stratify: true,
  C: 1.0,
  penalty: 'l2',
  maxIter: 100,
  targetPrecision: 0.98,
  chunkSize: 2000,
  blockSize: 20000,
  labels: 'topics',
  labelField: 'product',
  labelMap: null,
  unmappedLabel: 'other',
  minClassSize: 10,
  searchC: null,
  searchClassWeight: null,
  searchNgrams: null,
  cvFolds: 3,
  searchScore: 'auto',
  featureMinDf: 2,
  featureMaxDf: 0.95,
  topicDictionary: {
    'Bank Account Services': [
      'account',
      'bank',
      'check',
      'deposit',
      'fund',
      'branch',
      'transfer',
      'overdraft',
      'checking',
      'saving',
      'money',
      'transaction',
    ],
    'Credit Report or Prepaid Card': [
      'credit',
      'report',
      'card',
      'inquiry',
      'bureau',
      'score',
      'information',
      'equifax',
      'experian',
      'transunion',
      'dispute',
      'identity',
    ],
    'Mortgage/Loan': [
      'loan',
      'mortgage',
      'payment',
      'escrow',
      'modification',
      'home',
      'interest',
      'servicer',
      'foreclosure',
      'property',
      'rate',
      'student',
    ],
    'Debt Collection': [
      'debt',
      'collection',
      'collector',
      'agency',
      'validation',
      'letter',
      'call',
      'owe',
      'lawsuit',
      'court',
    ],
    'Credit Card Charges': [
      'charge',
      'fee',
      'merchant',
      'purchase',
      'refund',
      'limit',
      'balance',
      'statement',
      'fraud',
      'reward',
    ],
  },
});

/**
 * Defaults of a run with `labels: "category"` that differ from DEFAULT_PIPELINE_PARAMS, applied by
 * resolvePipelineParams when the run does not set the parameter itself. Product classes overlap far more
 * than NMF topics: at a target precision of 0.98 a category model answers about a fifth of held-out
 * tickets; 0.9 answers about three quarters (the trade-off, measured: docs/models.md).
 */
export const CATEGORY_DEFAULTS: Readonly<Pick<PipelineParams, 'targetPrecision'>> = Object.freeze({
  targetPrecision: 0.9,
});

type Check = (value: unknown) => string | null;

const isInt =
  (min: number, max = Number.MAX_SAFE_INTEGER): Check =>
  (v) =>
    typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max
      ? null
      : `must be an integer from ${min} to ${max}`;
const isNumber =
  (min: number, max: number, open = false): Check =>
  (v) =>
    typeof v === 'number' && Number.isFinite(v) && (open ? v > min && v < max : v >= min && v <= max)
      ? null
      : `must be a number ${open ? 'strictly ' : ''}between ${min} and ${max}`;
/** In (min, max]: above `min`, at most `max`. */
const isAbove =
  (min: number, max: number): Check =>
  (v) =>
    typeof v === 'number' && Number.isFinite(v) && v > min && v <= max
      ? null
      : `must be a number above ${min} and at most ${max}`;
const isDf: Check = (v) =>
  typeof v === 'number' && Number.isFinite(v) && v > 0 && (Number.isInteger(v) || v <= 1)
    ? null
    : 'must be a document count (integer ≥ 1) or a proportion in (0, 1]';
const isBool: Check = (v) => (typeof v === 'boolean' ? null : 'must be true or false');
const isOneOf =
  (...allowed: string[]): Check =>
  (v) =>
    typeof v === 'string' && allowed.includes(v)
      ? null
      : `must be one of ${allowed.map((a) => `"${a}"`).join(', ')}`;
const isDictionary: Check = (v) => {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    return 'must be an object of topic name → keyword list';
  for (const [name, words] of Object.entries(v)) {
    if (
      !Array.isArray(words) ||
      words.length === 0 ||
      !words.every((w) => typeof w === 'string' && w.length > 0)
    ) {
      return `entry "${name}" must be a non-empty list of keywords`;
    }
  }
  return null;
};

const isLabelMap: Check = (v) => {
  if (v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v)) return 'must be null or an object of raw label → class';
  const entries = Object.entries(v as Record<string, unknown>);
  if (entries.length === 0) return 'must map at least one raw label (or be null)';
  for (const [raw, cls] of entries) {
    if (typeof cls !== 'string' || cls.trim() === '')
      return `entry ${JSON.stringify(raw)} must map to a non-empty class name`;
  }
  return null;
};
const isListOf =
  (what: string, item: Check, max: number): Check =>
  (v) => {
    if (v === null) return null;
    if (!Array.isArray(v) || v.length === 0 || v.length > max)
      return `must be null or a list of 1 to ${max} ${what}`;
    for (const x of v) {
      const problem = item(x);
      if (problem) return `has ${JSON.stringify(x)}, which ${problem}`;
    }
    if (new Set(v).size !== v.length) return 'lists a value twice';
    return null;
  };

const CHECKS: { [K in keyof PipelineParams]: Check } = {
  language: isOneOf('english'),
  topics: isInt(2, 50),
  minDf: isDf,
  maxDf: isDf,
  nmfSeed: isInt(0, 2 ** 32 - 1),
  nmfTol: isNumber(0, 1, true),
  nmfMaxIter: isInt(1, 10_000),
  testSize: isNumber(0, 1, true),
  splitSeed: isInt(0, 2 ** 32 - 1),
  stratify: isBool,
  C: isNumber(0, 1e12, true),
  penalty: isOneOf('l2'),
  maxIter: isInt(1, 100_000),
  targetPrecision: isAbove(0, 1),
  chunkSize: isInt(1, 10_000_000),
  blockSize: isInt(1, 10_000_000),
  labels: isOneOf('topics', 'category'),
  labelField: isOneOf('product', 'category'),
  labelMap: isLabelMap,
  unmappedLabel: isOneOf('other', 'drop'),
  minClassSize: isInt(0, 1_000_000),
  searchC: isListOf('C values', isNumber(0, 1e12, true), 20),
  searchClassWeight: isListOf('class weightings', isOneOf('none', 'balanced'), 2),
  searchNgrams: isListOf('n-gram lengths', isInt(1, 3), 3),
  cvFolds: isInt(2, 20),
  searchScore: isOneOf('auto', 'accuracy', 'macroF1'),
  featureMinDf: isDf,
  featureMaxDf: isDf,
  topicDictionary: isDictionary,
};

export const PARAM_NAMES = Object.keys(CHECKS) as (keyof PipelineParams)[];

/**
 * Whether a `minDf`/`maxDf` value is a proportion of the tickets rather than a document count, exactly as
 * the vectorizer reads it (shared/core/numeric/vectorizer.ts). sklearn's rule is by type: an int is a count, a
 * float a proportion. JSON has no separate 1.0, so the value 1 takes sklearn's default type for each
 * parameter: `minDf: 1` is the count 1 (sklearn's `min_df=1`, every term kept) and `maxDf: 1` is 100 %
 * (sklearn's `max_df=1.0`). Every other integer (they are all > 1) is a count; every non-integer is a
 * proportion in (0, 1).
 */
export function isFraction(name: 'minDf' | 'maxDf', v: number): boolean {
  return !Number.isInteger(v) || (name === 'maxDf' && v === 1);
}

/**
 * Overlay per-run overrides on the defaults. Unknown names and invalid values are rejected with one
 * message listing every problem, so a caller can fix them all at once. Names are looked up as own
 * properties only: `__proto__`, `constructor`, `toString`… are unknown parameters like any other, and
 * nothing but a known parameter is ever assigned to the result.
 */
export function resolvePipelineParams(base: Readonly<PipelineParams>, overrides: unknown): PipelineParams {
  if (overrides === undefined || overrides === null) return withCategoryDefaults({ ...base }, {});
  if (typeof overrides !== 'object' || Array.isArray(overrides)) {
    throw new BadInputError('params must be a JSON object of pipeline parameters');
  }
  const problems: string[] = [];
  // Spread copies with define semantics, and only names CHECKS owns are assigned below, so an own
  // "__proto__" key of the overrides (JSON.parse makes one) can neither reach nor replace a prototype.
  const merged: Record<string, unknown> = { ...base };
  const invalid = new Set<string>();
  for (const [name, value] of Object.entries(overrides)) {
    const check = Object.hasOwn(CHECKS, name) ? CHECKS[name as keyof PipelineParams] : undefined;
    if (!check) {
      problems.push(`unknown parameter ${JSON.stringify(name)} (known: ${PARAM_NAMES.join(', ')})`);
      continue;
    }
    const problem = check(value);
    if (problem) {
      problems.push(`parameter "${name}" ${problem}, got ${JSON.stringify(value)}`);
      invalid.add(name);
    } else merged[name] = value;
  }
  const params = merged as unknown as PipelineParams;
  if (!invalid.has('minDf') && !invalid.has('maxDf')) problems.push(...dfOrderProblems(params));
  if (!invalid.has('featureMinDf') && !invalid.has('featureMaxDf'))
    problems.push(...dfOrderProblems(params, 'featureMinDf', 'featureMaxDf'));
  if (params.labels === 'topics') {
    const categoryOnly = (['labelMap', 'searchNgrams'] as const).filter(
      (p) => Object.hasOwn(overrides, p) && params[p] !== null,
    );
    for (const p of categoryOnly) {
      problems.push(
        `parameter "${p}" applies to "labels": "category" only (topic labels use the seed's noun-lemma features): set "labels": "category" or leave it out`,
      );
    }
  }
  if (problems.length > 0) throw new BadInputError(problems.join('; '));
  return withCategoryDefaults(params, overrides);
}

/** `params` with CATEGORY_DEFAULTS for a category run, for each parameter `overrides` does not set. */
function withCategoryDefaults(params: PipelineParams, overrides: object): PipelineParams {
  if (params.labels !== 'category') return params;
  for (const name of Object.keys(CATEGORY_DEFAULTS) as (keyof typeof CATEGORY_DEFAULTS)[])
    if (!Object.hasOwn(overrides, name)) params[name] = CATEGORY_DEFAULTS[name];
  return params;
}

/**
 * `minDf` ≤ `maxDf` when both are of one kind (both counts or both proportions). A count against a
 * proportion depends on the number of tickets: `checkParamsAgainstData` checks it.
 */
function dfOrderProblems(
  params: Readonly<PipelineParams>,
  minName: 'minDf' | 'featureMinDf' = 'minDf',
  maxName: 'maxDf' | 'featureMaxDf' = 'maxDf',
): string[] {
  const minDf = params[minName];
  const maxDf = params[maxName];
  const minIsFraction = isFraction('minDf', minDf);
  if (minIsFraction !== isFraction('maxDf', maxDf) || minDf <= maxDf) return [];
  const kind = minIsFraction ? 'proportions of the tickets' : 'document counts';
  return [`parameter "${minName}" (${minDf}) must not exceed "${maxName}" (${maxDf}) when both are ${kind}`];
}

/** Test tickets of a split of `tickets` rows, like sklearn's train_test_split (shared/core/numeric/split.ts). */
function testCount(testSize: number, tickets: number): number {
  return Math.ceil(testSize * tickets);
}

/**
 * Problems of valid parameters with a dataset of `tickets` kept tickets (the rows of `tickets.csv`),
 * each naming the parameter to change; empty when none is certain. Pure: the API can call it when it
 * knows the ticket count of a dataset from an earlier run, and feature extraction calls it before
 * fitting anything, so that such a run fails at once instead of after a topic model. It reports only
 * failures that are certain from the count alone (vocabulary and topic sizes need the text).
 */
export function checkParamsAgainstData(params: Readonly<PipelineParams>, tickets: number): string[] {
  const problems: string[] = [];
  const n = tickets;
  if (n <= params.topics) {
    problems.push(
      `parameter "topics" (${params.topics}) must be below the number of tickets (${n}): use fewer topics or a larger dataset`,
    );
  }
  // The vectorizer keeps the terms whose document frequency df satisfies low ≤ df ≤ high (same
  // arithmetic as its docCountLimits), and every term has 1 ≤ df ≤ n.
  const { minDf, maxDf } = params;
  const low = isFraction('minDf', minDf) ? minDf * n : minDf;
  const high = isFraction('maxDf', maxDf) ? maxDf * n : maxDf;
  const describe = (name: string, v: number, limit: number, fraction: boolean) =>
    fraction ? `"${name}" ${v} (${+limit.toFixed(2)} of ${n} tickets)` : `"${name}" ${v}`;
  if (!isFraction('minDf', minDf) && minDf > n) {
    problems.push(
      `parameter "minDf" (${minDf}) exceeds the number of tickets (${n}): no term can occur in ${minDf} of them; lower minDf`,
    );
  } else if (Math.max(1, Math.ceil(low)) > Math.min(n, Math.floor(high))) {
    problems.push(
      `${describe('minDf', minDf, low, isFraction('minDf', minDf))} and ${describe('maxDf', maxDf, high, isFraction('maxDf', maxDf))} keep no term: a term would have to occur in at least ${Math.max(1, Math.ceil(low))} and at most ${Math.floor(high)} tickets; lower minDf or raise maxDf`,
    );
  }
  // A model needs at least two topics on each side: training fits two or more classes, and a stratified
  // split puts every topic on both sides.
  const nTest = testCount(params.testSize, n);
  const nTrain = n - nTest;
  if (n > 0 && nTrain < 2) {
    problems.push(
      `parameter "testSize" (${params.testSize}) leaves ${nTrain} of ${n} tickets for training, fewer than 2: lower testSize or use a larger dataset`,
    );
  }
  if (n > 0 && params.stratify && nTest < 2) {
    problems.push(
      `parameter "testSize" (${params.testSize}) leaves ${nTest} of ${n} tickets for testing, fewer than the 2 topics a stratified split needs there: raise testSize, set "stratify": false or use a larger dataset`,
    );
  }
  return problems;
}
