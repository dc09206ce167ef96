import { FlowProducer, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { TicketflowConfig } from '../../core/config/config';
import { QUEUES, QueueName } from './queue-names';

export type Queues = Record<QueueName, Queue>;

/**
 * BullMQ re-emits every connection error on every Queue and FlowProducer, and prints those nobody
 * listens to with their stack, once per reconnection attempt. The connection's owner reports an outage
 * (once); its commands fail or wait on their own.
 */
function quiet<T extends { on(event: 'error', listener: (err: Error) => void): unknown }>(emitter: T): T {
  emitter.on('error', () => undefined);
  return emitter;
}

/** One BullMQ Queue per stage queue (and the chunk queue), sharing one connection. */
export function openQueues(config: TicketflowConfig, connection: Redis): Queues {
  const entries = QUEUES.map(
    (name) => [name, quiet(new Queue(name, { connection, prefix: config.queuePrefix }))] as const,
  );
  return Object.fromEntries(entries) as Queues;
}

export function openQueue(config: TicketflowConfig, connection: Redis, name: QueueName): Queue {
  return quiet(new Queue(name, { connection, prefix: config.queuePrefix }));
}

export function openFlowProducer(config: TicketflowConfig, connection: Redis): FlowProducer {
  return quiet(new FlowProducer({ connection, prefix: config.queuePrefix }));
}

/** Names of the queues that have no worker connected right now. */
export async function queuesWithoutWorkers(
  queues: Queues,
  names: readonly QueueName[] = QUEUES,
): Promise<QueueName[]> {
  const counts = await Promise.all(names.map((n) => queues[n].getWorkersCount()));
  return names.filter((_, i) => counts[i] === 0);
}
