import { FlowProducer } from 'bullmq';
import { Redis } from 'ioredis';
import { TicketflowConfig } from '../../core/config/config';
import { ArtifactStore } from '../../core/store/artifact-store';
import { openStore } from '../../core/store/open-store';
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

/**
 * What run control needs: config, one Redis connection, the queues, the flow producer, the artifact store
 * (config.storage), record store, cache.
 */
export interface RunsContext {
  config: TicketflowConfig;
  redis: Redis;
  queues: Queues;
  flowProducer: FlowProducer;
  keys: RunKeys;
  /** every run artifact (run.json, logs, report, the stages' files) is read and written through it */
  artifacts: ArtifactStore;
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
  const artifacts = openStore(config.storage);
  return {
    config,
    redis,
    queues: openQueues(config, redis),
    flowProducer: openFlowProducer(config, redis),
    keys,
    artifacts,
    store: new RunStore(artifacts, redis, keys),
    cache: new StageCache(artifacts, redis, keys),
    onRunFinished: opts.onRunFinished ?? [],
  };
}

export async function closeRunsContext(ctx: RunsContext): Promise<void> {
  await ctx.flowProducer.close();
  await Promise.all(Object.values(ctx.queues).map((q) => q.close()));
  await ctx.artifacts.close();
}
