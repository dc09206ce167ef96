import { FlowProducer, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { TicketflowConfig } from '../config/config';
import { QUEUES, QueueName } from '../config/stages';

export type Queues = Record<QueueName, Queue>;

/** One BullMQ Queue per stage queue (and the chunk queue), sharing one connection. */
export function openQueues(config: TicketflowConfig, connection: Redis): Queues {
  const entries = QUEUES.map(
    (name) => [name, new Queue(name, { connection, prefix: config.queuePrefix })] as const,
  );
  return Object.fromEntries(entries) as Queues;
}

export async function closeQueues(queues: Queues): Promise<void> {
  await Promise.all(Object.values(queues).map((q) => q.close()));
}

export function openFlowProducer(config: TicketflowConfig, connection: Redis): FlowProducer {
  return new FlowProducer({ connection, prefix: config.queuePrefix });
}

/** Names of the queues that have no worker connected right now. */
export async function queuesWithoutWorkers(
  queues: Queues,
  names: readonly QueueName[] = QUEUES,
): Promise<QueueName[]> {
  const counts = await Promise.all(names.map((n) => queues[n].getWorkersCount()));
  return names.filter((_, i) => counts[i] === 0);
}
