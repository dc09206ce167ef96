import assert from 'node:assert/strict';
import path from 'node:path';
import { resolveConfig } from '../../shared/core/config/config';
import { createConnection } from '../../shared/runtime/flow/connection';
import { closeRunsContext, openRunsContext, RunsContext } from '../../shared/runtime/runs/context';
import { submitRun } from '../../shared/runtime/runs/submit';
import { SAMPLE_DATASET } from '../helpers/env';
import { Deployment, newDeployment, redisCommand, stopAll, teardownDeployment } from '../helpers/processes';
import { scaleDataset } from '../../tools/bench/scale-dataset';

/**
 * A deployment for chaos tests: the durable Redis started, the sample scaled `scale` times into its data
 * root, a run context on it; `submit` adds an uncached run of that dataset in chunks of `chunkSize`.
 */
export interface ChaosDeployment {
  d: Deployment;
  runs: RunsContext;
  dataset: string;
  submit(): Promise<string>;
  /** Stop every process the test started, the Redis, and remove the folders. */
  close(): Promise<void>;
}

export async function chaosDeployment(
  label: string,
  scale: number,
  chunkSize: number,
): Promise<ChaosDeployment> {
  const d = await newDeployment(label);
  d.env.TICKETFLOW_LOG_LEVEL = 'warn';
  assert.equal((await redisCommand(d, 'start')).code, 0);
  const dataset = path.join(d.dataDir, `sample-x${scale}.jsonl`);
  await scaleDataset(SAMPLE_DATASET, scale, dataset);
  const runs = openRunsContext(resolveConfig(d.env), createConnection(d.redisUrl));
  return {
    d,
    runs,
    dataset,
    async submit() {
      const params = { cache: false, chunkSize };
      const input = { dataset: path.basename(dataset), datasetFile: dataset, params };
      return (await submitRun(runs, input)).record.id;
    },
    async close() {
      await closeRunsContext(runs);
      runs.redis.disconnect();
      await stopAll();
      await teardownDeployment(d);
    },
  };
}
