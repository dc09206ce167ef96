import { ARTIFACTS } from '../context';
import { StageDefinition } from '../stage-definition';

/** Feature extraction's block tasks run as jobs on this queue (children of the stage's job). */
export const FEATURE_BLOCK_QUEUE = 'feature-blocks';

/** Stage 2: TF-IDF and NMF topics of the tickets, and each ticket's topic. */
export const FEATURE_EXTRACTION = {
  name: 'feature-extraction',
  params: ['topics', 'minDf', 'maxDf', 'nmfSeed', 'nmfTol', 'nmfMaxIter', 'topicDictionary', 'blockSize'],
  artifacts: [ARTIFACTS.topics, ARTIFACTS.ticketsTopics, ARTIFACTS.ticketsTopicsIndex],
  tags: ['feature_extraction', 'topic_modeling'],
  timeoutMs: 3600_000,
  // The stage function drives block tasks (document frequencies, TF-IDF rows, NMF sweeps, topics) and
  // reduces their small results: inline, as its own work is light and it awaits Redis.
  processor: { inline: 'feature-extraction' },
  children: {
    queue: FEATURE_BLOCK_QUEUE,
    noun: 'block jobs',
    jobIdPrefix: 'fe',
    jobIdDigits: 6,
    timeoutMs: 600_000,
    processor: { sandbox: 'block-task.js', warmUp: 'blocks' },
    perAttempt: true,
    colour: '#f7b87a',
  },
  colour: '#f28e2b',
  code: [
    'shared/pipeline/stages/feature-extraction/feature-extraction.js',
    'workers/processors/block-stage.js',
    'workers/processors/sandboxed/block-task.js',
  ],
} as const satisfies StageDefinition;
