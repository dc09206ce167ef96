/** The pipeline's stages in flow order; each has its own BullMQ queue of the same name. */
export const STAGES = ['text-processing', 'feature-extraction', 'transform-split', 'training'] as const;
export type StageName = (typeof STAGES)[number];

/** The last stage: the root job of a run's flow, whose completion completes the run. */
export const ROOT_STAGE: StageName = STAGES[STAGES.length - 1]!;

/** Text processing fans out into chunk jobs on this queue (children of the text-processing job). */
export const CHUNK_QUEUE = 'text-chunks';

/**
 * Training's model search fans out into jobs on this queue (children of the training job): one per
 * candidate and cross-validation fold, then one refitting the winner.
 */
export const SEARCH_QUEUE = 'training-search';

/** The queue of each fanning-out stage's child jobs: what a run's jobs are, besides its stage jobs. */
export const STAGE_CHILD_QUEUE = {
  'text-processing': CHUNK_QUEUE,
  training: SEARCH_QUEUE,
} as const satisfies Partial<Record<StageName, string>>;
export type ChildQueueName = (typeof STAGE_CHILD_QUEUE)[keyof typeof STAGE_CHILD_QUEUE];

/**
 * Batch classification with a trained model: a parent job per classification on this queue, fanning out
 * into chunk jobs on the next (its children). Not part of any run: no run record follows them.
 */
export const CLASSIFICATION_QUEUE = 'classification';
export const CLASSIFICATION_CHUNK_QUEUE = 'classification-chunks';

export type QueueName =
  | StageName
  | typeof CHUNK_QUEUE
  | typeof SEARCH_QUEUE
  | typeof CLASSIFICATION_QUEUE
  | typeof CLASSIFICATION_CHUNK_QUEUE;
export const QUEUES: readonly QueueName[] = [
  ...STAGES,
  CHUNK_QUEUE,
  SEARCH_QUEUE,
  CLASSIFICATION_QUEUE,
  CLASSIFICATION_CHUNK_QUEUE,
];

export function isQueueName(name: string): name is QueueName {
  return (QUEUES as readonly string[]).includes(name);
}

export function isStageName(name: string): name is StageName {
  return (STAGES as readonly string[]).includes(name);
}

/** The child queue of a run stage that fans out, or undefined. */
export function childQueueOf(stage: StageName): ChildQueueName | undefined {
  return Object.hasOwn(STAGE_CHILD_QUEUE, stage)
    ? STAGE_CHILD_QUEUE[stage as keyof typeof STAGE_CHILD_QUEUE]
    : undefined;
}

export function isChildQueue(name: string): name is ChildQueueName {
  return (Object.values(STAGE_CHILD_QUEUE) as string[]).includes(name);
}

/** What a child job of each child queue is called in progress lines. */
const CHILD_NOUN: Record<ChildQueueName, string> = {
  'text-chunks': 'chunks',
  'training-search': 'search jobs',
};

/** "chunks", "search jobs": the children of a fanning-out stage, for progress lines. */
export function childNoun(stage: StageName): string {
  const queue = childQueueOf(stage);
  return queue === undefined ? 'child jobs' : CHILD_NOUN[queue];
}
