/** The pipeline's stages in flow order; each has its own BullMQ queue of the same name. */
export const STAGES = ['text-processing', 'feature-extraction', 'transform-split', 'training'] as const;
export type StageName = (typeof STAGES)[number];

/** The last stage: the root job of a run's flow, whose completion completes the run. */
export const ROOT_STAGE: StageName = STAGES[STAGES.length - 1]!;

/** Text processing fans out into chunk jobs on this queue (children of the text-processing job). */
export const CHUNK_QUEUE = 'text-chunks';

/**
 * Batch classification with a trained model: a parent job per classification on this queue, fanning out
 * into chunk jobs on the next (its children). Not part of any run: no run record follows them.
 */
export const CLASSIFICATION_QUEUE = 'classification';
export const CLASSIFICATION_CHUNK_QUEUE = 'classification-chunks';

export type QueueName =
  StageName | typeof CHUNK_QUEUE | typeof CLASSIFICATION_QUEUE | typeof CLASSIFICATION_CHUNK_QUEUE;
export const QUEUES: readonly QueueName[] = [
  ...STAGES,
  CHUNK_QUEUE,
  CLASSIFICATION_QUEUE,
  CLASSIFICATION_CHUNK_QUEUE,
];

export function isQueueName(name: string): name is QueueName {
  return (QUEUES as readonly string[]).includes(name);
}

export function isStageName(name: string): name is StageName {
  return (STAGES as readonly string[]).includes(name);
}
