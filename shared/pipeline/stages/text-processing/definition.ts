import { ARTIFACTS } from '../context';
import { StageDefinition } from '../stage-definition';

/** Text processing fans out into chunk jobs on this queue (children of the text-processing job). */
export const CHUNK_QUEUE = 'text-chunks';

/** Stage 1: parse, validate and tag the dataset's tickets, in chunk jobs, into `tickets.csv`. */
export const TEXT_PROCESSING = {
  name: 'text-processing',
  // chunkSize only partitions the work into chunk jobs: see OUTPUT_NEUTRAL_PARAMS
  params: ['language'],
  artifacts: [ARTIFACTS.tickets, ARTIFACTS.ticketsIndex],
  tags: ['pos_tag'],
  timeoutMs: 1800_000,
  processor: { inline: 'text-processing' },
  children: {
    queue: CHUNK_QUEUE,
    noun: 'chunks',
    jobIdPrefix: 'chunk',
    jobIdDigits: 5,
    timeoutMs: 600_000,
    processor: { sandbox: 'text-chunk.js', warmUp: 'lemmas' },
    // a lighter shade of the stage's
    colour: '#8fb3d9',
  },
  colour: '#4e79a7',
  code: [
    'shared/pipeline/stages/text-processing/index.js',
    'workers/processors/text-processing.js',
    'workers/processors/sandboxed/text-chunk.js',
  ],
} as const satisfies StageDefinition;
