/**
 * Scores noun extraction against a CoNLL-U treebank with gold PTB tags (UD English EWT): the scoring
 * behind `npm run eval:pos`, kept here so tests can check it on small handmade snippets.
 *
 * Three measurements:
 *  - tagger:     on the GOLD tokenisation (isolates tagging), a content token is a predicted noun when the
 *                Brill tag is in nounTags; compared with gold xpos in nounTags.
 *  - extractor:  same tokens, but a predicted noun must also pass the extractor's filters (stopwords,
 *                minimum length, letters only, masks): what stage 1 would output.
 *  - endToEnd:   the extractor's own tokenizer on the sentence's original text (`# text`), its tokens
 *                aligned with gold tokens by character span; a predicted noun whose span is not exactly a
 *                gold content token counts as a false positive.
 * Content tokens are the alphabetic gold tokens (A-Z/a-z only: no punctuation, numbers or clitics "n't").
 * Lemma accuracy: over gold nouns, the extractor's lemma rule given the gold tag (NNS → singularize,
 * NN → lowercase) against the lowercased gold lemma; `singularizeAll` is natural's singularize on every
 * gold noun, the baseline the issue quotes.
 */
import type { BrillTagger } from '../../shared/core/nlp/brill-tagger';
import { createNounLemmatizer, type NounExtractorOptions } from '../../shared/core/nlp/noun-extractor';
import { singularize } from '../../shared/core/nlp/singularize';
import { tokenizeWords } from '../../shared/core/nlp/tokenize';

export interface ConlluToken {
  form: string;
  lemma: string;
  xpos: string;
}

export interface ConlluSentence {
  /** The `# text = ...` comment, or null when the sentence has none. */
  text: string | null;
  tokens: ConlluToken[];
}

/** Parses CoNLL-U, keeping syntactic words only (multi-word token ranges and empty nodes are skipped). */
export function parseConllu(conllu: string): ConlluSentence[] {
  const sentences: ConlluSentence[] = [];
  let current: ConlluSentence = { text: null, tokens: [] };
  const flush = (): void => {
    if (current.tokens.length > 0) sentences.push(current);
    current = { text: null, tokens: [] };
  };
  for (const raw of conllu.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') {
      flush();
      continue;
    }
    if (line.startsWith('#')) {
      const m = /^#\s*text\s*=\s?(.*)$/.exec(line);
      if (m !== null) current.text = m[1]!;
      continue;
    }
    const cols = line.split('\t');
    if (cols.length < 5 || !/^\d+$/.test(cols[0]!)) continue;
    current.tokens.push({ form: cols[1]!, lemma: cols[2]!, xpos: cols[4]! });
  }
  flush();
  return sentences;
}

export interface NounScores {
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
  /** Percent. */
  precision: number;
  recall: number;
  f1: number;
}

export interface PosEvalResult {
  sentences: number;
  tokens: number;
  contentTokens: number;
  goldNouns: number;
  tagger: NounScores;
  extractor: NounScores;
  endToEnd: NounScores;
  lemma: {
    nouns: number;
    /** Percent of gold nouns whose extractor lemma equals the gold lemma. */
    accuracy: number;
    /** Percent for natural's NounInflector.singularize applied to every gold noun. */
    singularizeAll: number;
  };
}

export interface PosEvalOptions {
  /** Tags that make a noun, for gold and prediction. Default ['NN', 'NNS']. */
  nounTags?: readonly string[];
  /** Options of the extractor being measured (its keepTags default to nounTags). */
  extractor?: NounExtractorOptions;
  /** Tagger to measure; default the one stage 1 uses. */
  tagger?: BrillTagger;
  /** natural's singularize, for the baseline; default the deep-imported NounInflector. */
  baselineSingularize?: (word: string) => string;
}

const DEFAULT_NOUN_TAGS: readonly string[] = ['NN', 'NNS'];
const PLURAL_GOLD_TAGS: ReadonlySet<string> = new Set(['NNS', 'NNPS']);

export function isContentToken(form: string): boolean {
  if (form.length === 0) return false;
  for (let i = 0; i < form.length; i++) {
    const c = form.charCodeAt(i);
    if (!((c >= 97 && c <= 122) || (c >= 65 && c <= 90))) return false;
  }
  return true;
}

class Counter {
  tp = 0;
  fp = 0;
  fn = 0;

  add(gold: boolean, predicted: boolean): void {
    if (gold && predicted) this.tp++;
    else if (predicted) this.fp++;
    else if (gold) this.fn++;
  }

  scores(): NounScores {
    const precision = this.tp + this.fp === 0 ? 0 : (100 * this.tp) / (this.tp + this.fp);
    const recall = this.tp + this.fn === 0 ? 0 : (100 * this.tp) / (this.tp + this.fn);
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    return {
      truePositives: this.tp,
      falsePositives: this.fp,
      falseNegatives: this.fn,
      precision,
      recall,
      f1,
    };
  }
}

export function evaluateNouns(
  sentences: readonly ConlluSentence[],
  opts: PosEvalOptions = {},
): PosEvalResult {
  const nounTags = new Set(opts.nounTags ?? DEFAULT_NOUN_TAGS);
  const lemmatizer = createNounLemmatizer({ keepTags: [...nounTags], ...opts.extractor }, opts.tagger);
  const tagger = lemmatizer.tagger;
  const baseline = opts.baselineSingularize ?? naturalSingularize();
  const predictedTag = new Set([...(opts.extractor?.keepTags ?? nounTags)].map((t) => tagger.idOf(t)));

  const taggerCount = new Counter();
  const extractorCount = new Counter();
  const e2eCount = new Counter();
  let tokens = 0;
  let content = 0;
  let goldNouns = 0;
  let lemmaNouns = 0;
  let lemmaExact = 0;
  let baselineExact = 0;
  const words: string[] = [];
  const starts: number[] = [];

  for (const sentence of sentences) {
    const forms = sentence.tokens.map((t) => t.form);
    const tags = tagger.tagIdsOf(forms);
    tokens += forms.length;
    sentence.tokens.forEach((tok, i) => {
      if (!isContentToken(tok.form)) return;
      content++;
      const gold = nounTags.has(tok.xpos);
      if (gold) goldNouns++;
      const tag = tags[i]!;
      taggerCount.add(gold, predictedTag.has(tag));
      extractorCount.add(gold, lemmatizer.lemmaOf(tok.form, tag) !== null);
      if (gold) {
        lemmaNouns++;
        const lower = tok.form.toLowerCase();
        const goldLemma = tok.lemma.toLowerCase();
        const mine = PLURAL_GOLD_TAGS.has(tok.xpos) ? singularize(lower) : lower;
        if (mine === goldLemma) lemmaExact++;
        if (baseline(lower) === goldLemma) baselineExact++;
      }
    });
    scoreEndToEnd(sentence, nounTags, lemmatizer, words, starts, e2eCount);
  }
  return {
    sentences: sentences.length,
    tokens,
    contentTokens: content,
    goldNouns,
    tagger: taggerCount.scores(),
    extractor: extractorCount.scores(),
    endToEnd: e2eCount.scores(),
    lemma: {
      nouns: lemmaNouns,
      accuracy: lemmaNouns === 0 ? 0 : (100 * lemmaExact) / lemmaNouns,
      singularizeAll: lemmaNouns === 0 ? 0 : (100 * baselineExact) / lemmaNouns,
    },
  };
}

/** Runs the extractor's tokenizer on the sentence text and aligns its tokens with gold ones by span. */
function scoreEndToEnd(
  sentence: ConlluSentence,
  nounTags: ReadonlySet<string>,
  lemmatizer: ReturnType<typeof createNounLemmatizer>,
  words: string[],
  starts: number[],
  count: Counter,
): void {
  const text = sentence.text ?? sentence.tokens.map((t) => t.form).join(' ');
  // Gold spans: each form found in order in the text (EWT forms are verbatim substrings of `# text`).
  const gold = new Map<string, boolean>(); // "start:end" of content tokens → is a gold noun
  let cursor = 0;
  for (const tok of sentence.tokens) {
    const at = text.indexOf(tok.form, cursor);
    if (at < 0) continue; // a form not in the text (rare normalisations): it cannot be matched
    cursor = at + tok.form.length;
    if (isContentToken(tok.form)) gold.set(`${at}:${cursor}`, nounTags.has(tok.xpos));
  }
  tokenizeWords(text, words, starts);
  const tags = lemmatizer.tagger.tagIdsOf(words);
  const predicted = new Set<string>();
  for (let i = 0; i < words.length; i++) {
    if (lemmatizer.lemmaOf(words[i]!, tags[i]!) === null) continue;
    const span = `${starts[i]!}:${starts[i]! + words[i]!.length}`;
    predicted.add(span);
    count.add(gold.get(span) === true, true);
  }
  for (const [span, isNoun] of gold) if (isNoun && !predicted.has(span)) count.add(true, false);
}

function naturalSingularize(): (word: string) => string {
  const NounInflector = require('natural/lib/natural/inflectors/noun_inflector') as new () => {
    singularize(w: string): string;
  };
  const inflector = new NounInflector();
  return (w) => inflector.singularize(w);
}
