import { writeNarrative } from './narrative';
import { Rng } from './prng';
import { PRODUCTS, type ProductSpec } from './vocabulary';

/** The 18 `_source` fields of the Kaggle "automatic ticket classification" file, in its order. */
export interface ComplaintSource {
  tags: string | null;
  zip_code: string | null;
  complaint_id: string;
  issue: string;
  date_received: string;
  state: string | null;
  consumer_disputed: string;
  product: string;
  company_response: string;
  company: string;
  submitted_via: string;
  date_sent_to_company: string;
  company_public_response: string | null;
  sub_product: string | null;
  timely: string;
  complaint_what_happened: string;
  sub_issue: string | null;
  consumer_consent_provided: string | null;
}

/** One element of the file's top-level array (an Elasticsearch hit). */
export interface ComplaintHit {
  _index: 'complaint-public-v2';
  _type: 'complaint';
  _id: string;
  _score: number;
  _source: ComplaintSource;
}

export interface SampleOptions {
  /** Number of tickets. @defaultValue 1200 */
  count?: number;
  /** PRNG seed (an unsigned 32-bit integer). @defaultValue 2024 */
  seed?: number;
}

export const DEFAULT_COUNT = 1200;
export const DEFAULT_SEED = 2024;
export const MAX_COUNT = 100_000;
/** Share of tickets with an empty narrative (consent not given): the pipeline must drop them. */
export const EMPTY_NARRATIVE_RATE = 0.05;
/** Chance that a ticket's `sub_product` is `null`: the pipeline must keep those. */
export const NULL_SUB_PRODUCT_RATE = 0.03;
/** Share of narratives that also talk at length about a second product (makes the task less trivial). */
export const MIXED_NARRATIVE_RATE = 0.12;

const FIRST_ID = 3_100_000;
/** Ids grow from FIRST_ID by random steps whose total stays below this, so they keep 7 digits. */
const ID_SPAN = 6_800_000;
const FIRST_DAY = Date.UTC(2019, 0, 1);
const DAYS = 1826; // 2019-01-01 .. 2023-12-31
const DAY_MS = 86_400_000;

/** States with the first three digits of their ZIP codes, weighted roughly by population. */
const STATES: readonly (readonly [readonly [string, number, number], number])[] = [
  [['CA', 900, 961], 12],
  [['TX', 750, 799], 9],
  [['FL', 320, 349], 9],
  [['NY', 100, 149], 6],
  [['GA', 300, 319], 5],
  [['IL', 600, 629], 4],
  [['PA', 150, 196], 4],
  [['NC', 270, 289], 4],
  [['OH', 430, 458], 3],
  [['NJ', 70, 89], 3],
  [['VA', 220, 246], 3],
  [['MD', 206, 219], 3],
  [['MI', 480, 499], 3],
  [['AZ', 850, 865], 2],
  [['WA', 980, 994], 2],
  [['TN', 370, 385], 2],
  [['MA', 10, 27], 2],
  [['CO', 800, 816], 2],
  [['SC', 290, 299], 2],
  [['NV', 889, 898], 1],
  [['AL', 350, 369], 1],
  [['LA', 700, 714], 1],
  [['MO', 630, 658], 1],
  [['IN', 460, 479], 1],
  [['MN', 550, 567], 1],
  [['WI', 530, 549], 1],
  [['OR', 970, 979], 1],
  [['CT', 60, 69], 1],
];

const TAGS: readonly (readonly [string | null, number])[] = [
  [null, 85],
  ['Older American', 8],
  ['Servicemember', 5],
  ['Older American, Servicemember', 2],
];

const RESPONSES: readonly (readonly [string, number])[] = [
  ['Closed with explanation', 80],
  ['Closed with non-monetary relief', 10],
  ['Closed with monetary relief', 7],
  ['In progress', 2],
  ['Untimely response', 1],
];

const PUBLIC_RESPONSES: readonly (readonly [string | null, number])[] = [
  [null, 88],
  ['Company has responded to the consumer and the CFPB and chooses not to provide a public response', 9],
  ['Company believes it acted appropriately as authorized by contract or law', 3],
];

/** Channels and consent of tickets without a narrative (narratives are only published from web forms). */
const CHANNELS_WITHOUT_NARRATIVE: readonly (readonly [string, number])[] = [
  ['Web', 55],
  ['Referral', 20],
  ['Phone', 15],
  ['Postal mail', 8],
  ['Fax', 2],
];
const CONSENT_WITHOUT_NARRATIVE: readonly (readonly [string | null, number])[] = [
  ['Consent not provided', 50],
  ['N/A', 25],
  ['Other', 10],
  ['Consent withdrawn', 5],
  [null, 10],
];

/** How many tickets of each product: shares by weight, rounded by largest remainder (sums to `count`). */
export function productQuotas(count: number): number[] {
  const total = PRODUCTS.reduce((sum, p) => sum + p.weight, 0);
  const exact = PRODUCTS.map((p) => (p.weight * count) / total);
  const quotas = exact.map(Math.floor);
  let left = count - quotas.reduce((a, b) => a + b, 0);
  const byRemainder = exact
    .map((x, i) => [x - Math.floor(x), i] as const)
    .sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, i] of byRemainder) {
    if (left-- <= 0) break;
    quotas[i] = (quotas[i] as number) + 1;
  }
  return quotas;
}

/** Kaggle's date format: every date at noon US Eastern standard time. */
function isoDay(day: number): string {
  return `${new Date(FIRST_DAY + day * DAY_MS).toISOString().slice(0, 10)}T12:00:00-05:00`;
}

function zipCode(rng: Rng, prefix: number): string | null {
  if (rng.chance(0.04)) return null;
  const head = String(prefix).padStart(3, '0');
  return rng.chance(0.3) ? `${head}XX` : head + String(rng.int(0, 99)).padStart(2, '0');
}

function makeSource(rng: Rng, spec: ProductSpec, id: string, day: number, empty: boolean): ComplaintSource {
  const issue = rng.weighted(spec.issues.map((i) => [i, i.weight] as const));
  const subIssue = rng.pick(issue.subIssues);
  const subProduct = rng.chance(NULL_SUB_PRODUCT_RATE) ? null : rng.weighted(spec.subProducts);
  const [state, zipLo, zipHi] = rng.weighted(STATES);
  const zip = zipCode(rng, rng.int(zipLo, zipHi));
  const response = rng.weighted(RESPONSES);
  const sentDay = rng.chance(0.85) ? day : day + rng.int(1, 5);
  const year = Number(isoDay(day).slice(0, 4));
  const secondary = rng.chance(MIXED_NARRATIVE_RATE)
    ? rng.pick(PRODUCTS.filter((p) => p !== spec))
    : undefined;
  return {
    tags: rng.weighted(TAGS),
    zip_code: zip,
    complaint_id: id,
    issue: issue.issue,
    date_received: isoDay(day),
    state: rng.chance(0.02) ? null : state,
    consumer_disputed: 'N/A',
    product: spec.product,
    company_response: response,
    company: rng.pick(spec.companies),
    submitted_via: empty ? rng.weighted(CHANNELS_WITHOUT_NARRATIVE) : 'Web',
    date_sent_to_company: isoDay(sentDay),
    company_public_response: response === 'In progress' ? null : rng.weighted(PUBLIC_RESPONSES),
    sub_product: subProduct,
    timely: response === 'Untimely response' ? 'No' : 'Yes',
    complaint_what_happened: empty ? '' : writeNarrative(rng, spec, issue, year, secondary),
    sub_issue: subIssue,
    consumer_consent_provided: empty ? rng.weighted(CONSENT_WITHOUT_NARRATIVE) : 'Consent provided',
  };
}

function checkOptions(count: number, seed: number): void {
  if (!Number.isInteger(count) || count < 1 || count > MAX_COUNT) {
    throw new RangeError(`count must be an integer from 1 to ${MAX_COUNT}, got ${count}`);
  }
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new RangeError(`seed must be an integer from 0 to 4294967295, got ${seed}`);
  }
}

/** The sample tickets for `options`; the same options always give the same tickets. */
export function generateSample(options: SampleOptions = {}): ComplaintHit[] {
  const { count = DEFAULT_COUNT, seed = DEFAULT_SEED } = options;
  checkOptions(count, seed);
  const rng = new Rng(seed);

  const products = rng.shuffle(
    productQuotas(count).flatMap((n, i) => Array<ProductSpec>(n).fill(PRODUCTS[i] as ProductSpec)),
  );
  const emptyCount = Math.round(count * EMPTY_NARRATIVE_RATE);
  const empty = new Set(rng.shuffle(products.map((_p, i) => i)).slice(0, emptyCount));
  // Complaint ids and dates both grow along the file, as they do in CFPB exports.
  const days = Array.from({ length: count }, () => rng.int(0, DAYS - 1)).sort((a, b) => a - b);
  const maxStep = Math.max(1, Math.min(4000, Math.floor(ID_SPAN / count)));

  const hits: ComplaintHit[] = [];
  let id = FIRST_ID;
  for (let i = 0; i < count; i++) {
    id += rng.int(1, maxStep);
    const idText = String(id);
    hits.push({
      _index: 'complaint-public-v2',
      _type: 'complaint',
      _id: idText,
      _score: 0,
      _source: makeSource(rng, products[i] as ProductSpec, idText, days[i] as number, empty.has(i)),
    });
  }
  return hits;
}

/**
 * The file's text: a JSON array with one hit per line (small diffs), keys in the Kaggle order, and
 * `"_score":0.0` written as in the Kaggle file. Ends with a newline.
 */
export function serializeSample(hits: readonly ComplaintHit[]): string {
  const lines = hits.map((hit) =>
    JSON.stringify(hit).replace('"_score":0,"_source"', '"_score":0.0,"_source"'),
  );
  return `[\n${lines.join(',\n')}\n]\n`;
}
