import { BlockTaskDef } from '../blocks/block-task';
import { NMF_INIT_TASK, NMF_PROJECT_TASK, NMF_WHOLE_TASK, NMF_W_TASK, SVD_STEP_TASK } from './nmf-tasks';
import { DF_TASK, TFIDF_TASK } from './tfidf-tasks';
import { TOPICS_TASK } from './topics-task';
import { TOPIC_ROWS_TASK } from './topic-rows';

/** Feature extraction's block tasks (see blocks/block-mapper.ts). */
export const FEATURE_EXTRACTION_TASKS: readonly BlockTaskDef<never, unknown>[] = [
  DF_TASK,
  TFIDF_TASK,
  NMF_WHOLE_TASK,
  NMF_INIT_TASK,
  SVD_STEP_TASK,
  NMF_PROJECT_TASK,
  NMF_W_TASK,
  TOPICS_TASK,
  TOPIC_ROWS_TASK,
];
