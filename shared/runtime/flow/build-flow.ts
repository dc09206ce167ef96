import { FlowJob } from 'bullmq';
import { TicketflowConfig } from '../../core/config/config';
import { PipelineParams } from '../../core/config/pipeline-params';
import { ROOT_STAGE, STAGES, StageName, stageDefinition } from '../../pipeline/stages/definitions';
import { StageJobData, stageJobId } from './job-types';
import { jobParams } from './param-refs';

/** What a flow needs to know about its run: enough for every stage job's data. */
export interface FlowRun {
  runId: string;
  /** dataset path: absolute, or relative to each worker's data root */
  dataset: string;
  params: PipelineParams;
  createdAt: string;
  generation: number;
  /** each stage's cache key */
  cacheKeys: Record<StageName, string>;
  /** each stage's code identity in its cache key (absent in records written before it was kept) */
  code?: Partial<Record<StageName, string>>;
  datasetSha256: string;
  datasetBytes?: number;
  codeVersion: string;
}

/** Job options every node of a run carries: retry policy, retention, and failing its parent for good. */
export function nodeOptions(config: TicketflowConfig, jobId: string, isChild: boolean) {
  const keep = { age: config.jobRetention.seconds, count: config.jobRetention.count };
  return {
    jobId,
    attempts: config.retry.attempts,
    backoff: { ...config.retry.backoff },
    removeOnComplete: keep,
    removeOnFail: keep,
    ...(isChild ? { failParentOnFailure: true } : {}),
  };
}

/**
 * The stages from `first` on as one BullMQ flow: a chain nested so that the root stage is the root job and
 * `first` the deepest child (BullMQ runs children before parents). Stages before `first` are already
 * done (cached, or completed by an earlier generation of the run): their artifacts are in storage, which
 * is all later stages read. Queue default job options do not apply to FlowProducer jobs, so attempts,
 * backoff and retention are set on each node.
 */
export function buildRunFlow(config: TicketflowConfig, run: FlowRun, first: StageName = STAGES[0]): FlowJob {
  let child: FlowJob | undefined;
  for (const stage of STAGES.slice(STAGES.indexOf(first))) {
    const data: StageJobData = {
      runId: run.runId,
      stage,
      tags: stageDefinition(stage).tags,
      params: jobParams(run.params, run.runId),
      dataset: run.dataset,
      artifacts: `runs/${run.runId}`,
      createdAt: run.createdAt,
      generation: run.generation,
      cacheKey: run.cacheKeys[stage],
      ...(run.code?.[stage] !== undefined ? { code: run.code[stage] } : {}),
      datasetSha256: run.datasetSha256,
      ...(run.datasetBytes !== undefined ? { datasetBytes: run.datasetBytes } : {}),
      codeVersion: run.codeVersion,
      ...(stage === 'text-processing' ? { step: 'split' as const } : {}),
    };
    const node: FlowJob = {
      name: stage,
      queueName: stage,
      data,
      opts: nodeOptions(config, stageJobId(run.runId, stage, run.generation), stage !== ROOT_STAGE),
      ...(child ? { children: [child] } : {}),
    };
    child = node;
  }
  if (!child) throw new RangeError(`no stage from ${first} on`);
  return child;
}
