import { FlowProducer } from 'bullmq';
import { TicketflowConfig } from '../config/config';
import { resolvePipelineParams } from '../config/pipeline-params';
import { buildRunFlow } from './build-flow';
import { newRunId } from './run-id';

export interface EnqueueRunInput {
  /** absolute path, or a path relative to the workers' data root */
  dataset: string;
  /** per-run overrides of the pipeline parameters (validated here) */
  params?: unknown;
}

/** Validate the run's parameters and add its flow; returns the run id. */
export async function enqueueRun(
  flowProducer: FlowProducer,
  config: TicketflowConfig,
  input: EnqueueRunInput,
): Promise<string> {
  const params = resolvePipelineParams(config.pipeline, input.params);
  const createdAt = new Date();
  const runId = newRunId(createdAt);
  await flowProducer.add(buildRunFlow(config, { runId, dataset: input.dataset, params, createdAt }));
  return runId;
}
