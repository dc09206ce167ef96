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
  /** Tickets per text-processing chunk job. @defaultValue 2000 */
  chunkSize: number;
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
  chunkSize: 2000,
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
  chunkSize: isInt(1, 10_000_000),
  topicDictionary: isDictionary,
};

export const PARAM_NAMES = Object.keys(CHECKS) as (keyof PipelineParams)[];

/**
 * Overlay per-run overrides on the defaults. Unknown names and invalid values are rejected with one
 * message listing every problem, so a caller can fix them all at once.
 */
export function resolvePipelineParams(base: Readonly<PipelineParams>, overrides: unknown): PipelineParams {
  if (overrides === undefined || overrides === null) return { ...base };
  if (typeof overrides !== 'object' || Array.isArray(overrides)) {
    throw new BadInputError('params must be a JSON object of pipeline parameters');
  }
  const problems: string[] = [];
  const merged: Record<string, unknown> = { ...base };
  for (const [name, value] of Object.entries(overrides)) {
    const check = (CHECKS as Record<string, Check | undefined>)[name];
    if (!check) {
      problems.push(`unknown parameter "${name}" (known: ${PARAM_NAMES.join(', ')})`);
      continue;
    }
    const problem = check(value);
    if (problem) problems.push(`parameter "${name}" ${problem}, got ${JSON.stringify(value)}`);
    else merged[name] = value;
  }
  const params = merged as unknown as PipelineParams;
  if (
    problems.length === 0 &&
    isFraction(params.maxDf) &&
    isFraction(params.minDf) &&
    params.minDf > params.maxDf
  ) {
    problems.push(`parameter "minDf" (${params.minDf}) must not exceed "maxDf" (${params.maxDf})`);
  }
  if (problems.length > 0) throw new BadInputError(problems.join('; '));
  return params;
}

function isFraction(v: number): boolean {
  return !Number.isInteger(v) || v === 1;
}
