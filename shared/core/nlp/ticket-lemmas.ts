/**
 * A ticket's text → its stage-1 "processed text": the noun lemmas, space-joined. The one function both
 * the text-processing chunks (which write `processed_text` in `tickets.csv`) and classification with a
 * trained model use, so a model sees new tickets exactly as it saw its training data.
 */
import { createNounExtractor } from './noun-extractor';
import { regexSourceProblem } from '../regex-source';

/** What the lemma function does, recorded in every model file (`textProcessing`). */
export interface TextProcessingSettings {
  /** noun lemmas, see noun-extractor.ts */
  function: 'noun-lemmas';
  language: 'english';
  /** POS tags kept */
  keepTags: readonly string[];
  /** shortest lemma kept, in characters */
  minLength: number;
  /** Raise when the function's output changes for the same settings (a new tagger rule, stopword, …). */
  version: number;
}

/** The processing stage 1 applies today. */
export const TEXT_PROCESSING: Readonly<TextProcessingSettings> = Object.freeze({
  function: 'noun-lemmas',
  language: 'english',
  keepTags: Object.freeze(['NN', 'NNS']),
  minLength: 3,
  version: 1,
});

/**
 * The text a category model reads (`labels: "category"`): the whole narrative, lower-cased, with the CFPB's
 * `XX…` masks (redacted names, dates, amounts) removed, since they say nothing about a ticket's product.
 */
export interface NarrativeTextSettings {
  function: 'narrative-words';
  language: 'english';
  /** source of the mask regexp (flags `gu`), matched on the lower-cased text and removed */
  maskPattern: string;
  version: number;
}

export const NARRATIVE_TEXT: Readonly<NarrativeTextSettings> = Object.freeze({
  function: 'narrative-words',
  language: 'english',
  maskPattern: '\\bx{2,}\\b',
  version: 1,
});

/** A ticket's text as a model sees it: its noun lemmas (topic models) or its narrative's words. */
export type TicketTextSettings = TextProcessingSettings | NarrativeTextSettings;

/** The narrative → model text function of NARRATIVE_TEXT-style settings. */
export function narrativeText(
  settings: Readonly<NarrativeTextSettings> = NARRATIVE_TEXT,
): (text: string) => string {
  const mask = new RegExp(settings.maskPattern, 'gu');
  return (text: string): string => text.toLowerCase().replace(mask, '');
}

/**
 * The problem with `settings` for this code, or null when it can reproduce them: a model trained with
 * another function, language or version cannot be served by this build.
 */
export function textProcessingProblem(settings: unknown): string | null {
  if (typeof settings !== 'object' || settings === null) return 'textProcessing must be an object';
  const s = settings as Record<string, unknown>;
  if (s.function === NARRATIVE_TEXT.function) {
    if (s.language !== NARRATIVE_TEXT.language || s.version !== NARRATIVE_TEXT.version) {
      return `textProcessing "${NARRATIVE_TEXT.function}" language ${JSON.stringify(s.language)} version ${JSON.stringify(s.version)} is not this build's (${NARRATIVE_TEXT.language}, version ${NARRATIVE_TEXT.version}): retrain the model`;
    }
    return regexSourceProblem('textProcessing.maskPattern', s.maskPattern, 'gu');
  }
  if (s.function !== TEXT_PROCESSING.function) {
    return `textProcessing.function ${JSON.stringify(s.function)} is not supported (this build has "${TEXT_PROCESSING.function}")`;
  }
  if (s.language !== TEXT_PROCESSING.language) {
    return `textProcessing.language ${JSON.stringify(s.language)} is not supported (this build has "${TEXT_PROCESSING.language}")`;
  }
  if (s.version !== TEXT_PROCESSING.version) {
    return `textProcessing.version ${JSON.stringify(s.version)} differs from this build's ${TEXT_PROCESSING.version}: the model was trained with other lemmas than this code makes; retrain it or serve it with the build that trained it`;
  }
  if (
    !Array.isArray(s.keepTags) ||
    s.keepTags.length === 0 ||
    !s.keepTags.every((t) => typeof t === 'string')
  ) {
    return 'textProcessing.keepTags must be a non-empty list of POS tags';
  }
  if (typeof s.minLength !== 'number' || !Number.isInteger(s.minLength) || s.minLength < 1) {
    return `textProcessing.minLength must be an integer ≥ 1, got ${JSON.stringify(s.minLength)}`;
  }
  return null;
}

/**
 * The lemma function for `settings` (default: stage 1's). Loads the tagger's lexicon and rules on first
 * use in a process (~0.2 s); each lemmatizer keeps its own caches and buffers, so create one per worker or
 * model and reuse it. Synchronous; not reentrant across threads (there are none in a JS isolate).
 */
export function createTicketLemmatizer(
  settings: Readonly<TicketTextSettings> = TEXT_PROCESSING,
): (text: string) => string {
  const problem = textProcessingProblem(settings);
  if (problem !== null) throw new RangeError(problem);
  if (settings.function === 'narrative-words') return narrativeText(settings);
  const extract = createNounExtractor({ keepTags: settings.keepTags, minLength: settings.minLength });
  return (text: string): string => extract(text).join(' ');
}
