import { ARTIFACTS } from '../context';
import { StageDefinition } from '../stage-definition';

/**
 * Training's model search fans out into jobs on this queue (children of the training job): one per
 * candidate and cross-validation fold, then one refitting the winner.
 */
export const SEARCH_QUEUE = 'training-search';

/** Stage 4: the model search, the refit winner, its metrics and test predictions. */
export const TRAINING = {
  name: 'training',
  params: [
    'C',
    'penalty',
    'maxIter',
    'targetPrecision',
    'labels',
    'searchC',
    'searchClassWeight',
    'searchNgrams',
    'cvFolds',
    'searchScore',
    'splitSeed',
  ],
  artifacts: [ARTIFACTS.search, ARTIFACTS.model, ARTIFACTS.metrics, ARTIFACTS.testPredictions],
  tags: ['train', 'best_model', 'LogisticRegressionClassifier'],
  timeoutMs: 3600_000,
  processor: { inline: 'training' },
  children: {
    queue: SEARCH_QUEUE,
    noun: 'search jobs',
    jobIdPrefix: 'search',
    jobIdDigits: 4,
    timeoutMs: 1800_000,
    processor: { sandbox: 'training-search.js', warmUp: 'training' },
  },
  colour: '#b07aa1',
  code: [
    'shared/pipeline/stages/training/training.js',
    'workers/processors/training.js',
    'workers/processors/sandboxed/training-search.js',
  ],
} as const satisfies StageDefinition;
