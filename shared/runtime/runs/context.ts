import { FlowProducer } from 'bullmq';
import { Redis } from 'ioredis';
import { TicketflowConfig } from '../../core/config/config';
import { Queues, openFlowProducer, openQueues } from '../flow/queues';
import { RunKeys, runKeys } from './keys';
import { RunStore } from './run-store';
import { StageCache } from './stage-cache';

/**
 * Called once when a run turns final (completed or failed), by the process that saw it turn: how the
 * layers above run control (the run report) hear of a run's end without run control importing them.
 */
export type RunFinishedHook = (ctx: RunsContext, runId: string) => Promise<void>;

export interface RunsContextOptions {
  /** run in order; a hook that throws is logged and the next still runs (see runs/run-finished.ts) */
  onRunFinished?: RunFinishedHook[];
}

/** What run control needs: config, one Redis connection, the queues, the flow producer, record store, cache. */
export interface RunsContext {
  config: TicketflowConfig;
  redis: Redis;
  queues: Queues;
  flowProducer: FlowProducer;
  keys: RunKeys;
  store: RunStore;
  cache: StageCache;
  onRunFinished: RunFinishedHook[];
}

export function openRunsContext(
  config: TicketflowConfig,
  redis: Redis,
  opts: RunsContextOptions = {},
): RunsContext {
  const keys = runKeys(config.queuePrefix);
  return {
    config,
    redis,
    queues: openQueues(config, redis),
    flowProducer: openFlowProducer(config, redis),
    keys,
    store: new RunStore(config.storageDir, redis, keys),
    cache: new StageCache(config.storageDir, redis, keys),
    onRunFinished: opts.onRunFinished ?? [],
  };
}

export async function closeRunsContext(ctx: RunsContext): Promise<void> {
  await ctx.flowProducer.close();
  await Promise.all(Object.values(ctx.queues).map((q) => q.close()));
}
