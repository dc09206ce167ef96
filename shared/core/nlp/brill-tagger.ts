/**
 * Brill transformation-based POS tagger with exactly the semantics of natural 8.1.1's
 * `BrillPOSTagger(new Lexicon('EN', 'NN', 'NNP'), new RuleSet('EN'))`, reading natural's own English
 * lexicon and rule files from node_modules at run time (nothing of them is copied into the project).
 *
 * Why not natural's class: it allocates a Sentence with an object per token, rebuilds the rule array with
 * Object.keys(...).map() for EVERY token, and calls every predicate through a generic closure. This version
 * maps tags to small integers, applies the same rules in the same order, and looks each distinct word up
 * once (its lexicon tag and word tests, kept in a WordTable), allocating nothing per token.
 * test/nlp/brill-tagger.test.ts checks that both give identical tags on EWT and on complaint narratives.
 *
 * Semantics reproduced on purpose (they are natural's, quirks included):
 *  - lexicon lookup: the word as is, then lowercased; only the FIRST category is used; unknown words get
 *    'NNP' if their first UTF-16 unit is A-Z, else 'NN'. The lexicon is a plain object there, so
 *    "__proto__" resolves to Object.prototype and gets an undefined tag (here: the tag name '').
 *  - rules run left to right over positions, all rules (in file order, duplicates dropped) at each
 *    position, so PREV-TAG sees the already-final tag of the previous word.
 *  - CURRENT-WORD-ENDS-WITH uses indexOf, i.e. it is true only if the FIRST occurrence of the suffix is at
 *    the end ("cars" ends with "s", "glasses" does not).
 *  - CURRENT-WORD-IS-NUMBER is `!isNaN(word) || parseFloat(word)` (truthy), so "3rd" is a number.
 *
 * Stage 1's tagger (englishBrillTagger) adds, on top: the entries and rules of tagger-corrections.ts (through
 * the same mechanisms natural offers, and tested against natural configured the same way) and the option
 * suffixRulesForUnknownWordsOnly, the one deliberate departure from natural's output (see its doc).
 */
import * as fs from 'node:fs';
import { EXTRA_LEXICON, EXTRA_RULES } from './tagger-corrections';
import { WordTable } from '../numeric/word-table';

/** Predicates used by natural's English rule file (tr_from_posjs.json). Others make loading fail loudly. */
const enum Predicate {
  PrevTag,
  PrevWordIs,
  CurrentWordEndsWith,
  CurrentWordIsNumber,
  CurrentWordIsUrl,
}

interface Rule {
  /** Tag id the rule applies to, or -1 for natural's wildcard '*'. */
  readonly from: number;
  readonly to: number;
  readonly predicate: Predicate;
  /** Tag id for PREV-TAG; unused otherwise. */
  readonly tagParam: number;
  /** Word parameter (lowercased for PREV-WORD-IS, as natural compares lowercased). */
  readonly wordParam: string;
  /** For the YES/NO predicates: true when the parameter is 'YES'. */
  readonly yes: boolean;
  /** Bit of the rule's word test in a word's test bits (see wordTestBits); -1 for PREV-TAG. */
  readonly test: number;
}

/** A test of one word, shared by the rules that make it: a predicate other than PREV-TAG and its parameter. */
interface WordTest {
  readonly predicate: Predicate;
  readonly param: string;
}

/** Word tests a tagger can hold: their bits share an int32 with the lexicon tag in a WordTable's info. */
const MAX_WORD_TESTS = 16;

const PREDICATES: Readonly<Record<string, Predicate>> = {
  'PREV-TAG': Predicate.PrevTag,
  'PREV-WORD-IS': Predicate.PrevWordIs,
  'CURRENT-WORD-ENDS-WITH': Predicate.CurrentWordEndsWith,
  'CURRENT-WORD-IS-NUMBER': Predicate.CurrentWordIsNumber,
  'CURRENT-WORD-IS-URL': Predicate.CurrentWordIsUrl,
};

// Literal require.resolve calls: a stage's code identity (shared/runtime/runs/code-identity.ts) finds the package by them.
const LEXICON_FILE = () =>
  require.resolve('natural/lib/natural/brill_pos_tagger/data/English/lexicon_from_posjs.json');
const RULES_FILE = () =>
  require.resolve('natural/lib/natural/brill_pos_tagger/data/English/tr_from_posjs.json');

export interface BrillTaggerOptions {
  /** Tag of words not in the lexicon. Default 'NN' (natural's documentation example uses 'N'). */
  defaultTag?: string;
  /** Tag of unknown words starting with A-Z. Default 'NNP'. */
  defaultCapitalisedTag?: string;
  /** Entries added to (and overriding) the lexicon, as natural's Lexicon `extendedLexicon`. Default none. */
  extraLexicon?: Readonly<Record<string, readonly string[]>>;
  /** Rules applied after the file's rules, as natural's RuleSet.addRule. Default none. */
  extraRules?: readonly string[];
  /**
   * Apply CURRENT-WORD-ENDS-WITH rules only to words the lexicon does not know, as Brill's lexical rules
   * were meant (natural applies them to every word, turning "billing" into VBG, "withdrawal" into JJ,
   * "family" into RB). Default false: natural's behaviour.
   */
  suffixRulesForUnknownWordsOnly?: boolean;
}

const TAGGER_DEFAULTS: Required<BrillTaggerOptions> = {
  defaultTag: 'NN',
  defaultCapitalisedTag: 'NNP',
  extraLexicon: {},
  extraRules: [],
  suffixRulesForUnknownWordsOnly: false,
};

/** Tag ids are indices into `tagNames`; id 0 is the undefined tag natural gives "__proto__". */
const UNDEFINED_TAG = 0;
/** Flag on a lexicon lookup result: the word is not in the lexicon (tag ids stay below it). */
const UNKNOWN_WORD = 0x8000;
const TAG_MASK = 0x7fff;

export class BrillTagger {
  private readonly tagNames: string[] = [''];
  private readonly tagIds = new Map<string, number>([['', UNDEFINED_TAG]]);
  private readonly lexicon = new Map<string, number>();
  private readonly rules: Rule[] = [];
  private readonly wordTests: WordTest[] = [];
  private readonly defaultTag: number;
  private readonly defaultCapitalisedTag: number;
  private jumpKnown = new Int32Array(0);
  private jumpUnknown = new Int32Array(0);

  /**
   * @param lexicon natural's lexicon object: word → categories (first one used)
   * @param ruleStrings natural's rule lines: "FROM TO PREDICATE [PARAM]"
   */
  constructor(
    lexicon: Readonly<Record<string, readonly string[]>>,
    ruleStrings: readonly string[],
    opts: BrillTaggerOptions = {},
  ) {
    const options: Required<BrillTaggerOptions> = {
      defaultTag: opts.defaultTag ?? TAGGER_DEFAULTS.defaultTag,
      defaultCapitalisedTag: opts.defaultCapitalisedTag ?? TAGGER_DEFAULTS.defaultCapitalisedTag,
      extraLexicon: opts.extraLexicon ?? TAGGER_DEFAULTS.extraLexicon,
      extraRules: opts.extraRules ?? TAGGER_DEFAULTS.extraRules,
      suffixRulesForUnknownWordsOnly:
        opts.suffixRulesForUnknownWordsOnly ?? TAGGER_DEFAULTS.suffixRulesForUnknownWordsOnly,
    };
    // Like natural's Lexicon(language, default, defaultCapitalised, extendedLexicon): extra entries win.
    for (const source of [lexicon, options.extraLexicon]) {
      for (const word of Object.keys(source)) {
        const first = source[word]![0];
        this.lexicon.set(word, first === undefined ? UNDEFINED_TAG : this.idOf(first));
      }
    }
    this.defaultTag = this.idOf(options.defaultTag);
    this.defaultCapitalisedTag = this.idOf(options.defaultCapitalisedTag);
    const seen = new Set<string>();
    for (const line of [...ruleStrings, ...options.extraRules]) {
      const parts = line.trim().split(/\s+/);
      // natural's RuleSet keeps the first of rules with the same [c1, c2, predicate, p1, p2].toString().
      const key = [parts[0], parts[1], parts[2], parts[3], parts[4]].toString();
      if (seen.has(key)) continue;
      seen.add(key);
      this.rules.push(this.compileRule(parts, line));
    }
    this.buildJumps(options.suffixRulesForUnknownWordsOnly);
  }

  /** Tag id of a tag name (registering it if new: a name no word gets simply never matches). */
  idOf(tag: string): number {
    let id = this.tagIds.get(tag);
    if (id === undefined) {
      id = this.tagNames.length;
      if (id > TAG_MASK) throw new Error('BrillTagger: too many distinct tags');
      this.tagNames.push(tag);
      this.tagIds.set(tag, id);
    }
    return id;
  }

  nameOf(id: number): string {
    return this.tagNames[id] ?? '';
  }

  /** Tags as names ('' where natural's tag would be undefined). */
  tag(tokens: readonly string[]): string[] {
    const ids = this.tagIdsOf(tokens);
    const names = new Array<string>(tokens.length);
    for (let i = 0; i < tokens.length; i++) names[i] = this.tagNames[ids[i]!]!;
    return names;
  }

  /**
   * Tag ids of `tokens`, written into `out` when it is large enough. Returns the array holding the ids in
   * [0, tokens.length). The words go through a WordTable of their own and tagWordIds (stage 1's extractor
   * keeps one table across its texts instead).
   */
  tagIdsOf(tokens: readonly string[], out?: Uint16Array): Uint16Array {
    const n = tokens.length;
    const tags = out !== undefined && out.length >= n ? out : new Uint16Array(n);
    const table = new WordTable((word) => this.wordInfo(word));
    const ids = Int32Array.from(tokens, (word) => table.idOf(word, 0, word.length));
    return this.tagWordIds(table, ids, n, tags);
  }

  /**
   * Tag ids of the words `ids[0 … n)` of `table`, a WordTable made with `wordInfo` as its classify
   * function, written into `out` (at least n long). The same tags as tagIdsOf on the words themselves,
   * without a string operation: a word's lexicon tag and test bits were computed when it was new.
   */
  tagWordIds(table: WordTable, ids: Int32Array, n: number, out: Uint16Array): Uint16Array {
    let prevTests = 0;
    for (let i = 0; i < n; i++) {
      const info = table.info(ids[i]!);
      const tests = info >>> 16;
      out[i] = this.applyRules(info & 0xffff, tests, prevTests, out, i);
      prevTests = tests;
    }
    return out;
  }

  /**
   * What a WordTable keeps for `word` for tagWordIds: its lexicon tag id, or the default tag id with a
   * flag set when the lexicon does not know it (bits 0–15), and its word test bits (16–31).
   */
  wordInfo(word: string): number {
    return (this.lexicon.get(word) ?? this.resolveMiss(word)) | (this.wordTestBits(word) << 16);
  }

  /**
   * The tag of the word at `i` after every rule, the tags before `i` being final already: `found` its
   * lexicon result, `tests` and `prevTests` its and the previous word's word test bits.
   */
  private applyRules(found: number, tests: number, prevTests: number, tags: Uint16Array, i: number): number {
    const rules = this.rules;
    const nRules = rules.length;
    const stride = nRules + 1;
    let t = found & TAG_MASK;
    // Visit, in order, only the rules that can fire on the current tag (see buildJumps).
    const jump = found === t ? this.jumpKnown : this.jumpUnknown;
    for (let r = jump[t * stride]!; r < nRules; r = jump[t * stride + r + 1]!) {
      const rule = rules[r]!;
      if (this.holds(rule, tests, prevTests, tags, i)) t = rule.to;
    }
    return t;
  }

  /** Bit k set when word test k holds on `word`. */
  private wordTestBits(word: string): number {
    let bits = 0;
    for (let k = 0; k < this.wordTests.length; k++) if (passes(this.wordTests[k]!, word)) bits |= 1 << k;
    return bits;
  }

  /**
   * jump[t * (R + 1) + r] = the first rule index >= r that applies to tag t (its `from` is t or '*'), or R.
   * Tagging then skips the rules that cannot fire instead of testing all of them at every token, with the
   * same order and the same result. Separate tables for words the lexicon knows and does not know, as
   * suffixRulesForUnknownWordsOnly removes CURRENT-WORD-ENDS-WITH rules for known words.
   */
  private buildJumps(skipSuffixRulesForKnown: boolean): void {
    const nRules = this.rules.length;
    const stride = nRules + 1;
    const nTags = this.tagNames.length;
    this.jumpKnown = new Int32Array(nTags * stride);
    this.jumpUnknown = new Int32Array(nTags * stride);
    for (let t = 0; t < nTags; t++) {
      let nextKnown = nRules;
      let nextUnknown = nRules;
      this.jumpKnown[t * stride + nRules] = nRules;
      this.jumpUnknown[t * stride + nRules] = nRules;
      for (let r = nRules - 1; r >= 0; r--) {
        const rule = this.rules[r]!;
        if (rule.from === t || rule.from === -1) {
          nextUnknown = r;
          if (!(skipSuffixRulesForKnown && rule.predicate === Predicate.CurrentWordEndsWith)) nextKnown = r;
        }
        this.jumpKnown[t * stride + r] = nextKnown;
        this.jumpUnknown[t * stride + r] = nextUnknown;
      }
    }
  }

  private resolveMiss(word: string): number {
    if (word === '__proto__') return UNDEFINED_TAG;
    const lower = word.toLowerCase();
    if (lower !== word) {
      const id = this.lexicon.get(lower);
      if (id !== undefined) return id;
      if (lower === '__proto__') return UNDEFINED_TAG;
    }
    const c = word.charCodeAt(0);
    return (c >= 65 && c <= 90 ? this.defaultCapitalisedTag : this.defaultTag) | UNKNOWN_WORD;
  }

  private holds(rule: Rule, tests: number, prevTests: number, tags: Uint16Array, i: number): boolean {
    switch (rule.predicate) {
      case Predicate.PrevTag:
        return i > 0 && tags[i - 1] === rule.tagParam;
      case Predicate.PrevWordIs:
        return i > 0 && ((prevTests >>> rule.test) & 1) === 1;
      case Predicate.CurrentWordEndsWith:
        return ((tests >>> rule.test) & 1) === 1;
      case Predicate.CurrentWordIsNumber:
      case Predicate.CurrentWordIsUrl:
        return (((tests >>> rule.test) & 1) === 1) === rule.yes;
    }
  }

  /** The bit of a word test, registering it if new. */
  private testOf(predicate: Predicate, param: string, line: string): number {
    let k = this.wordTests.findIndex((t) => t.predicate === predicate && t.param === param);
    if (k < 0) {
      k = this.wordTests.length;
      if (k === MAX_WORD_TESTS) {
        throw new Error(`BrillTagger: more than ${MAX_WORD_TESTS} distinct word tests at rule "${line}"`);
      }
      this.wordTests.push({ predicate, param });
    }
    return k;
  }

  private compileRule(parts: readonly string[], line: string): Rule {
    const [from, to, name, p1 = '', p2] = parts;
    const predicate = name === undefined ? undefined : PREDICATES[name];
    if (from === undefined || to === undefined || predicate === undefined || p2 !== undefined) {
      throw new Error(`Brill rule not supported by this tagger: "${line}"`);
    }
    const wordParam = predicate === Predicate.PrevWordIs ? p1.toLowerCase() : p1;
    const yesNo = predicate === Predicate.CurrentWordIsNumber || predicate === Predicate.CurrentWordIsUrl;
    return {
      from: from === '*' ? -1 : this.idOf(from),
      to: this.idOf(to),
      predicate,
      tagParam: predicate === Predicate.PrevTag ? this.idOf(p1) : -1,
      wordParam,
      yes: p1 === 'YES',
      // YES/NO rules share one test (the rule compares its bit with `yes`).
      test: predicate === Predicate.PrevTag ? -1 : this.testOf(predicate, yesNo ? '' : wordParam, line),
    };
  }
}

/**
 * Whether `test` holds on `word` (for PREV-WORD-IS: whether `word`, as the previous word, matches). For
 * the YES/NO predicates: whether the word is a number, a URL.
 */
function passes(test: WordTest, word: string): boolean {
  switch (test.predicate) {
    case Predicate.PrevWordIs:
      return word.toLowerCase() === test.param;
    case Predicate.CurrentWordEndsWith: {
      const p = test.param;
      if (p.length === 0 || p.length > word.length) return false;
      // Cheap reject first; then natural's exact test (first occurrence must be the suffix).
      if (!word.endsWith(p)) return false;
      return word.indexOf(p) === word.length - p.length;
    }
    case Predicate.CurrentWordIsNumber:
      return looksNumeric(word);
    case Predicate.CurrentWordIsUrl:
      return word.indexOf('.') > -1 && /[a-zA-Z]{2}/.test(word);
    case Predicate.PrevTag:
      return false;
  }
}

/**
 * natural's CURRENT-WORD-IS-NUMBER test, `!isNaN(word) || parseFloat(word)` as a boolean. Both can only
 * succeed when the word (after leading white space) starts with a digit, '.', '+', '-' or 'I' (Infinity),
 * so other words skip the two conversions.
 */
function looksNumeric(word: string): boolean {
  const c = word.charCodeAt(0);
  if (!(
    (c >= 48 && c <= 57) ||
    c === 46 ||
    c === 43 ||
    c === 45 ||
    c === 73 ||
    c <= 32 ||
    c === 0xa0 ||
    c >= 0x1680 ||
    word.length === 0
  )) {
    return false;
  }
  return !Number.isNaN(Number(word)) || Boolean(parseFloat(word));
}

/** natural's English lexicon and rule set, read from node_modules (not cached: ~0.1 s and ~20 MB parsed). */
export function naturalEnglishData(): {
  lexicon: Readonly<Record<string, readonly string[]>>;
  rules: readonly string[];
} {
  return {
    lexicon: JSON.parse(fs.readFileSync(LEXICON_FILE(), 'utf8')) as Record<string, string[]>,
    rules: (JSON.parse(fs.readFileSync(RULES_FILE(), 'utf8')) as { rules: string[] }).rules,
  };
}

let english: { tagger: BrillTagger; nouns: ReadonlySet<string> } | undefined;

/** Loads the lexicon once for both singletons below. */
function loadEnglish(): { tagger: BrillTagger; nouns: ReadonlySet<string> } {
  if (english === undefined) {
    const { lexicon, rules } = naturalEnglishData();
    const tagger = new BrillTagger(lexicon, rules, {
      extraLexicon: EXTRA_LEXICON,
      extraRules: EXTRA_RULES,
      suffixRulesForUnknownWordsOnly: true,
    });
    const nouns = new Set<string>();
    for (const word of Object.keys(lexicon)) if (lexicon[word]!.includes('NN')) nouns.add(word);
    english = { tagger, nouns };
  }
  return english;
}

/**
 * The tagger stage 1 uses, built once per process on first use: natural's English lexicon and rules plus
 * the corrections in tagger-corrections.ts.
 */
export function englishBrillTagger(): BrillTagger {
  return loadEnglish().tagger;
}

/** Words natural's lexicon lists with NN among their tags (the singularizer checks its guesses here). */
export function englishLexiconNouns(): ReadonlySet<string> {
  return loadEnglish().nouns;
}
