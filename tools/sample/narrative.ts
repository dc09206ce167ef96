import { Rng } from './prng';
import {
  CLOSERS,
  CROSS_GROUP_RATE,
  GENERIC,
  GROUP_SENTENCES,
  LENGTH_QUANTILES,
  OPENERS,
  type Group,
  type IssueSpec,
  type ProductSpec,
} from './vocabulary';

/** Where a body sentence comes from, and how often (before `CROSS_GROUP_RATE` is taken out). */
const POOL_WEIGHTS = { product: 0.42, group: 0.35, generic: 0.23 } as const;
/** Share of body sentences from the second product of a complaint that involves two products. */
const MIXED_CROSS_RATE = 0.45;
/** Chance of a paragraph break ("\n\n") instead of a space between two sentences. */
const PARAGRAPH_RATE = 0.07;
const GROUPS: readonly Group[] = ['credit', 'banking', 'lending'];
const FEES = [12, 15, 25, 29, 30, 34, 35, 36, 39, 45, 95] as const;
const DAY_COUNTS = [5, 7, 10, 14, 21, 30, 45] as const;

export function countWords(text: string): number {
  const trimmed = text.trim();
  return trimmed === '' ? 0 : trimmed.split(/\s+/).length;
}

/** An amount as CFPB narratives print it: "{$1250.00}". */
function money(units: number, cents: number): string {
  return `{$${units}.${String(cents).padStart(2, '0')}}`;
}

/** Expands one template (syntax in `vocabulary.ts`); `year` is the year the complaint was received. */
export function expand(template: string, rng: Rng, year: number, subject = ''): string {
  return template
    .replace(/\[([^\]]*)\]/g, (_m, alts: string) => rng.pick(alts.split('|')))
    .replace(/@(subject|date|fee|amt|big|n|days)\b/g, (_m, slot: string) => {
      switch (slot) {
        case 'subject':
          return subject;
        case 'date':
          return rng.chance(0.75) ? 'XX/XX/XXXX' : `XX/XX/${year - rng.int(0, 1)}`;
        case 'fee':
          return money(rng.pick(FEES), 0);
        case 'amt':
          return money(rng.int(40, 3500), rng.chance(0.6) ? 0 : rng.int(1, 99));
        case 'big':
          return money(rng.int(20, 400) * 1000, 0);
        case 'n':
          return String(rng.int(2, 9));
        default:
          return String(rng.pick(DAY_COUNTS));
      }
    });
}

/**
 * A first-person complaint narrative: an opening sentence, one or two sentences stating the issue,
 * body sentences drawn from the product's, its group's, the generic and (rarely) another group's
 * pools until the drawn length is reached, then usually a closing request. A `secondary` product (a
 * complaint that involves two products, e.g. a collector of a credit card debt) replaces the other
 * groups' pool with its own sentences, drawn much more often.
 */
export function writeNarrative(
  rng: Rng,
  spec: ProductSpec,
  issue: IssueSpec,
  year: number,
  secondary?: ProductSpec,
): string {
  const target = Math.round(rng.fromQuantiles(LENGTH_QUANTILES));
  const subject = rng.pick(spec.subjects);
  const sentences: string[] = [];
  let words = 0;
  const add = (sentence: string): void => {
    sentences.push(sentence);
    words += countWords(sentence);
  };

  if (rng.chance(0.85)) add(expand(rng.pick(OPENERS), rng, year, subject));
  const issueLines = rng.shuffle(issue.lines);
  add(expand(issueLines[0] as string, rng, year));
  if (issueLines.length > 1 && rng.chance(0.3)) add(expand(issueLines[1] as string, rng, year));
  const closer = rng.chance(0.85) ? expand(rng.pick(CLOSERS), rng, year) : '';
  const closerWords = countWords(closer);

  const pools = {
    product: rng.shuffle(spec.sentences),
    group: rng.shuffle(GROUP_SENTENCES[spec.group]),
    generic: rng.shuffle(GENERIC),
    cross: rng.shuffle(
      secondary === undefined
        ? GROUPS.filter((g) => g !== spec.group).flatMap((g) => GROUP_SENTENCES[g])
        : [
            ...secondary.sentences,
            ...(secondary.group === spec.group ? [] : GROUP_SENTENCES[secondary.group]),
          ],
    ),
  };
  const crossRate = secondary === undefined ? CROSS_GROUP_RATE : MIXED_CROSS_RATE;
  for (;;) {
    let pool: string[];
    if (rng.chance(crossRate) && pools.cross.length > 0) {
      pool = pools.cross;
    } else {
      const open = (['product', 'group', 'generic'] as const).filter((name) => pools[name].length > 0);
      if (open.length === 0) break;
      pool = pools[rng.weighted(open.map((name) => [name, POOL_WEIGHTS[name]] as const))];
    }
    const sentence = expand(pool[pool.length - 1] as string, rng, year);
    // Stop at the sentence boundary nearest to the target length.
    if (words + closerWords + countWords(sentence) / 2 > target) break;
    pool.pop();
    add(sentence);
  }
  if (closer !== '') add(closer);

  let text = sentences[0] as string;
  for (let i = 1; i < sentences.length; i++) {
    text += (rng.chance(PARAGRAPH_RATE) ? '\n\n' : ' ') + sentences[i];
  }
  return text;
}
