/** The pipeline's stages in flow order; each has its own BullMQ queue of the same name. */
export const STAGES = ['text-processing', 'feature-extraction', 'transform-split', 'training'] as const;
export type StageName = (typeof STAGES)[number];

/** The last stage: the root job of a run's flow, whose completion completes the run. */
export const ROOT_STAGE: StageName = STAGES[STAGES.length - 1]!;

/** Text processing fans out into chunk jobs on this queue (children of the text-processing job). */
export const CHUNK_QUEUE = 'text-chunks';
export type QueueName = StageName | typeof CHUNK_QUEUE;
export const QUEUES: readonly QueueName[] = [...STAGES, CHUNK_QUEUE];

export function isQueueName(name: string): name is QueueName {
  return (QUEUES as readonly string[]).includes(name);
}

export function isStageName(name: string): name is StageName {
  return (STAGES as readonly string[]).includes(name);
}
