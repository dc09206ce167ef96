import { FlowJob } from 'bullmq';
import { TicketflowConfig } from '../config/config';
import { PipelineParams } from '../config/pipeline-params';
import { STAGES, StageName } from '../config/stages';
import { StageJobData, stageJobId } from './job-types';

export interface RunRequest {
  runId: string;
  /** dataset path: absolute, or relative to each worker's data root */
  dataset: string;
  params: PipelineParams;
  createdAt: Date;
}

/** Job options every node of a run carries: retry policy, and failing its parent when it fails for good. */
export function nodeOptions(config: TicketflowConfig, jobId: string, isChild: boolean) {
  return {
    jobId,
    attempts: config.retry.attempts,
    backoff: { ...config.retry.backoff },
    ...(isChild ? { failParentOnFailure: true } : {}),
  };
}

/**
 * A run as one BullMQ flow: a chain nested so that training is the root and text processing the deepest
 * child (BullMQ runs children before parents). Queue default job options do not apply to FlowProducer
 * jobs, so attempts and backoff are set on each node.
 */
export function buildRunFlow(config: TicketflowConfig, run: RunRequest): FlowJob {
  let child: FlowJob | undefined;
  for (const stage of STAGES) {
    const data: StageJobData = {
      runId: run.runId,
      stage,
      tags: config.tags[stage],
      params: run.params,
      dataset: run.dataset,
      artifacts: `runs/${run.runId}`,
      createdAt: run.createdAt.toISOString(),
      ...(stage === 'text-processing' ? { step: 'split' as const } : {}),
    };
    const node: FlowJob = {
      name: stage,
      queueName: stage,
      data,
      opts: nodeOptions(config, stageJobId(run.runId, stage), stage !== lastStage()),
      ...(child ? { children: [child] } : {}),
    };
    child = node;
  }
  return child!;
}

function lastStage(): StageName {
  return STAGES[STAGES.length - 1]!;
}
