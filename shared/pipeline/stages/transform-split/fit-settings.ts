import { PipelineParams } from '../../../core/config/pipeline-params';
import {
  NARRATIVE_TEXT,
  TEXT_PROCESSING,
  TicketTextSettings,
  narrativeText,
} from '../../../core/nlp/ticket-lemmas';
import { CATEGORY_VECTORIZER, FEATURE_VECTORIZER, VectorizerSettings } from '../../model/model-file';
import { maxNgrams } from '../training/search-grid';

/** What the count vocabulary of a run counts, and in which rows: a function of the run's parameters. */
export interface FitSettings {
  /** the settings every model file records, so classification transforms new text the same way */
  text: TicketTextSettings;
  vectorizer: VectorizerSettings;
  /** rows the vocabulary and idf are fitted on: every ticket (topics, as the seed) or the training split */
  fittedOn: 'all' | 'train';
  /** the `tickets_topics.csv` column a row's text comes from, and the text the vectorizer counts */
  column: 'processed_text' | 'complaint_what_happened';
  textOf: (value: string) => string;
}

/**
 * Topic labels count noun lemmas (the processed text) fitted over every ticket; category labels the
 * narrative's words and n-grams up to the search's longest, fitted on the training split.
 */
export function fitSettings(params: Readonly<PipelineParams>): FitSettings {
  if (params.labels === 'category') {
    return {
      text: NARRATIVE_TEXT,
      vectorizer: { ...CATEGORY_VECTORIZER, ngramRange: [1, maxNgrams(params)] },
      fittedOn: 'train',
      column: 'complaint_what_happened',
      textOf: narrativeText(),
    };
  }
  return {
    text: TEXT_PROCESSING,
    vectorizer: FEATURE_VECTORIZER,
    fittedOn: 'all',
    column: 'processed_text',
    textOf: (value) => value,
  };
}

/** The `tickets_topics.csv` column a ticket's raw label comes from. */
export function labelColumn(params: Readonly<PipelineParams>): 'category' | 'relevant_topic' {
  return params.labels === 'category' ? 'category' : 'relevant_topic';
}
