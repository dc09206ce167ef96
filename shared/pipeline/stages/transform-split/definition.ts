import { ARTIFACTS } from '../context';
import { StageDefinition } from '../stage-definition';

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
  processor: { sandbox: 'transform-split.js' },
  colour: '#59a14f',
  code: [
    'shared/pipeline/stages/transform-split/transform-split.js',
    'workers/processors/sandboxed/transform-split.js',
  ],
} as const satisfies StageDefinition;
