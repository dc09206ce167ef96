import { ARTIFACTS } from '../context';
import { StageDefinition } from '../stage-definition';

/** Transform-split's block tasks run as jobs on this queue (children of the stage's job). */
export const TRANSFORM_BLOCK_QUEUE = 'transform-blocks';

/** Stage 3: the classes, the term-count features and the train/test split. */
export const TRANSFORM_SPLIT = {
  name: 'transform-split',
  params: [
    'testSize',
    'splitSeed',
    'stratify',
    'labels',
    'labelField',
    'labelMap',
    'unmappedLabel',
    'minClassSize',
    'featureMinDf',
    'featureMaxDf',
    // the longest n-gram searched decides the vocabulary; the folds decide the smallest class allowed
    'searchNgrams',
    'cvFolds',
  ],
  artifacts: [ARTIFACTS.features, ARTIFACTS.matrix, ARTIFACTS.split, ARTIFACTS.labels],
  tags: ['data_transform', 'split_data', 'train_test_split'],
  timeoutMs: 1800_000,
  processor: { inline: 'transform-split' },
  children: {
    queue: TRANSFORM_BLOCK_QUEUE,
    noun: 'block jobs',
    jobIdPrefix: 'ts',
    jobIdDigits: 6,
    timeoutMs: 600_000,
    processor: { sandbox: 'block-task.js', warmUp: 'blocks' },
    perAttempt: true,
    colour: '#9bcf8f',
  },
  colour: '#59a14f',
  code: [
    'shared/pipeline/stages/transform-split/transform-split.js',
    'workers/processors/block-stage.js',
    'workers/processors/sandboxed/block-task.js',
  ],
} as const satisfies StageDefinition;
