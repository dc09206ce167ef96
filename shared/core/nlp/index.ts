export {
  createNounExtractor,
  createNounLemmatizer,
  type NounExtractorOptions,
  type NounLemmatizer,
} from './noun-extractor';
export { BrillTagger, englishBrillTagger, type BrillTaggerOptions } from './brill-tagger';
export { tokenizeWords } from './tokenize';
export { singularize } from './singularize';
export { ENGLISH_STOPWORDS, ENGLISH_STOPWORD_SET } from './stopwords';
