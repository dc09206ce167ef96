import { FlowProducer } from 'bullmq';
import { Redis } from 'ioredis';
import { TicketflowConfig } from '../config/config';
import { Queues, openFlowProducer, openQueues } from '../flow/queues';
import { RunKeys, runKeys } from './keys';
import { RunStore } from './run-store';
import { StageCache } from './stage-cache';

/** What run control needs: config, one Redis connection, the queues, the flow producer, record store, cache. */
export interface RunsContext {
  config: TicketflowConfig;
  redis: Redis;
  queues: Queues;
  flowProducer: FlowProducer;
  keys: RunKeys;
  store: RunStore;
  cache: StageCache;
}

export function openRunsContext(config: TicketflowConfig, redis: Redis): RunsContext {
  const keys = runKeys(config.queuePrefix);
  return {
    config,
    redis,
    queues: openQueues(config, redis),
    flowProducer: openFlowProducer(config, redis),
    keys,
    store: new RunStore(config.storageDir, redis, keys),
    cache: new StageCache(config.storageDir, redis, keys),
  };
}

export async function closeRunsContext(ctx: RunsContext): Promise<void> {
  await ctx.flowProducer.close();
  await Promise.all(Object.values(ctx.queues).map((q) => q.close()));
}
