import { ARTIFACTS } from '../context';
import { StageDefinition } from '../stage-definition';

/** Stage 2: TF-IDF and NMF topics of the tickets, and each ticket's topic. */
export const FEATURE_EXTRACTION = {
  name: 'feature-extraction',
  params: ['topics', 'minDf', 'maxDf', 'nmfSeed', 'nmfTol', 'nmfMaxIter', 'topicDictionary'],
  artifacts: [ARTIFACTS.topics, ARTIFACTS.ticketsTopics],
  tags: ['feature_extraction', 'topic_modeling'],
  timeoutMs: 3600_000,
  processor: { sandbox: 'feature-extraction.js' },
  colour: '#f28e2b',
  code: [
    'shared/pipeline/stages/feature-extraction/feature-extraction.js',
    'workers/processors/sandboxed/feature-extraction.js',
  ],
} as const satisfies StageDefinition;
