/**
 * Noun lemmas for plural-tagged words. natural's NounInflector.singularize alone is 95% exact on EWT's
 * gold nouns but its suffix rules break words common in complaints: "cases" → "cas", "purchases" →
 * "purchas", "representatives" → "representatif", "increases" → "increas". So the regular
 * suffix-stripping guesses are checked against natural's lexicon: the first guess the lexicon knows as a
 * noun wins; natural's answer is kept when it left the word alone (its uncountable list: "news",
 * "series"), when it is irregular ("people" → "person", "teeth" → "tooth"), or when no guess is a noun.
 */
import { englishLexiconNouns } from './brill-tagger';

interface Inflector {
  singularize(word: string): string;
}

// Deep import: the package root `natural` loads database clients and prints dotenv banners to stdout.
const NounInflector = require('natural/lib/natural/inflectors/noun_inflector') as new () => Inflector;

/**
 * Plurals whose lemma is the plural itself in Universal Dependencies (and in a reader's mind): measured
 * on EWT lemmas, where these were the most frequent disagreements.
 */
const EXCEPTIONS: ReadonlyMap<string, string> = new Map([
  ...['people', 'thanks', 'regards', 'means', 'clothes', 'politics', 'economics'].map(
    (w): [string, string] => [w, w],
  ),
  ['monies', 'money'],
]);

export class Singularizer {
  private readonly inflector = new NounInflector();

  /** @param isNoun true for words known to be (singular) nouns */
  constructor(private readonly isNoun: (word: string) => boolean) {}

  /** Singular of a lowercased plural noun. */
  singularize(lower: string): string {
    const known = EXCEPTIONS.get(lower);
    if (known !== undefined) return known;
    const natural = this.inflector.singularize(lower);
    if (natural === lower) return natural;
    const guesses = regularSingulars(lower);
    if (!guesses.includes(natural) && this.isNoun(natural)) return natural;
    for (const guess of guesses) if (this.isNoun(guess)) return guess;
    return natural;
  }
}

/** Singulars by regular English suffix rules, most likely first. */
function regularSingulars(w: string): string[] {
  const out: string[] = [];
  if (w.length < 3 || !w.endsWith('s') || w.endsWith('ss')) return out;
  out.push(w.slice(0, -1)); // fees, cases, purposes, representatives
  if (w.endsWith('es')) out.push(w.slice(0, -2)); // taxes, buses, addresses
  if (w.endsWith('ies')) out.push(w.slice(0, -3) + 'y'); // companies
  if (w.endsWith('ves')) out.push(w.slice(0, -3) + 'f', w.slice(0, -3) + 'fe'); // halves, wives
  return out;
}

let english: Singularizer | undefined;

/** Singular of a lowercased plural noun, checked against natural's English lexicon. */
export function singularize(lower: string): string {
  if (english === undefined) {
    const nouns = englishLexiconNouns();
    english = new Singularizer((w) => nouns.has(w));
  }
  return english.singularize(lower);
}
