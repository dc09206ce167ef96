import { BadInputError } from '../../core/errors';
import {
  CHILD_QUEUES,
  ChildQueueName,
  STAGE_DEFINITIONS,
  STAGES,
  StageName,
} from '../../pipeline/stages/definitions';
import { ProcessorSpec } from '../../pipeline/stages/stage-definition';

/**
 * Batch classification with a trained model: a parent job per classification on this queue, fanning out
 * into chunk jobs on the next (its children). Not part of any run: no run record follows them.
 */
export const CLASSIFICATION_QUEUE = 'classification';
export const CLASSIFICATION_CHUNK_QUEUE = 'classification-chunks';
/** The ticks of training schedules (BullMQ job schedulers): each tick submits one run. */
export const SCHEDULES_QUEUE = 'schedules';
/** Webhook deliveries: one job per (webhook, event), retried with backoff; not part of any run. */
export const WEBHOOK_QUEUE = 'webhooks';

export type QueueName =
  | StageName
  | ChildQueueName
  | typeof CLASSIFICATION_QUEUE
  | typeof CLASSIFICATION_CHUNK_QUEUE
  | typeof SCHEDULES_QUEUE
  | typeof WEBHOOK_QUEUE;

/** Every queue: the stages' in flow order, their children's, batch classification's, schedules', webhooks'. */
export const QUEUES: readonly QueueName[] = [
  ...STAGES,
  ...CHILD_QUEUES,
  CLASSIFICATION_QUEUE,
  CLASSIFICATION_CHUNK_QUEUE,
  SCHEDULES_QUEUE,
  WEBHOOK_QUEUE,
];

export function isQueueName(name: string): name is QueueName {
  return (QUEUES as readonly string[]).includes(name);
}

/** How a queue's jobs run, and one attempt's default time limit. */
export interface QueueSettings {
  timeoutMs: number;
  processor: ProcessorSpec;
}

/** Each queue's settings: the stages' and their children's from their definitions. */
export const QUEUE_SETTINGS: Readonly<Record<QueueName, QueueSettings>> = {
  ...(Object.fromEntries(
    STAGE_DEFINITIONS.flatMap((d) => [
      [d.name, { timeoutMs: d.timeoutMs, processor: d.processor }],
      ...('children' in d
        ? [[d.children.queue, { timeoutMs: d.children.timeoutMs, processor: d.children.processor }]]
        : []),
    ]),
  ) as Record<StageName | ChildQueueName, QueueSettings>),
  [CLASSIFICATION_QUEUE]: { timeoutMs: 1800_000, processor: { inline: 'classification' } },
  [CLASSIFICATION_CHUNK_QUEUE]: { timeoutMs: 600_000, processor: { sandbox: 'classification-chunk.js' } },
  [SCHEDULES_QUEUE]: { timeoutMs: 300_000, processor: { inline: 'schedule-tick' } },
  // One attempt waits for the receiver at most TICKETFLOW_WEBHOOK_TIMEOUT_MS; this bounds the rest.
  [WEBHOOK_QUEUE]: { timeoutMs: 120_000, processor: { inline: 'webhooks' } },
};

/**
 * One attempt's time limit on each queue: `overrides` (the configuration's `stageTimeoutMs`, from
 * `TICKETFLOW_STAGE_TIMEOUTS`), else the queue's default. Throws naming the variable and the queues when
 * an override names no queue.
 */
export function queueTimeoutsMs(overrides: Readonly<Record<string, number>>): Record<QueueName, number> {
  const unknown = Object.keys(overrides).filter((q) => !isQueueName(q));
  if (unknown.length > 0) {
    throw new BadInputError(
      `invalid configuration: TICKETFLOW_STAGE_TIMEOUTS takes queue=seconds pairs (queues: ${QUEUES.join(', ')}), got ${unknown.map((q) => `"${q}=${overrides[q]! / 1000}"`).join(', ')}`,
    );
  }
  return Object.fromEntries(QUEUES.map((q) => [q, overrides[q] ?? QUEUE_SETTINGS[q].timeoutMs])) as Record<
    QueueName,
    number
  >;
}
