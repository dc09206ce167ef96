import { PipelineParams } from '../../core/config/pipeline-params';

/**
 * How a queue's jobs run, as data (the pipeline layer does not import workers/): `sandbox` names a file
 * in workers/processors/sandboxed/ run in a child process (CPU-heavy work, so the worker's event loop
 * keeps renewing job locks); `inline` names one of workers/start-workers.ts's in-process processors (the
 * parents of fan-out jobs, which stream files and await Redis).
 */
export type ProcessorSpec =
  { readonly sandbox: string; readonly warmUp?: WarmUpKind } | { readonly inline: InlineProcessor };

/**
 * What a sandbox runs once when its worker starts (shared/pipeline/warm-up.ts), so the first run's jobs
 * find compiled code and filled caches: stage 1's lemmatizer, stages 2–3's block tasks, or those and the
 * estimators' fits.
 */
export type WarmUpKind = 'lemmas' | 'blocks' | 'training';

/** The in-process processors workers/start-workers.ts provides (a total map there). */
export type InlineProcessor =
  | 'text-processing'
  | 'feature-extraction'
  | 'transform-split'
  | 'training'
  | 'classification'
  | 'schedule-tick'
  | 'webhooks';

/** The child jobs a stage fans out into: their own queue, what they are called, how they run. */
export interface StageChildren {
  /** the child queue's name */
  readonly queue: string;
  /** what the children are called in progress lines ("chunks") */
  readonly noun: string;
  /** job ids `<runId>-<jobIdPrefix>-<child, zero-padded to jobIdDigits>[-g<generation>][-a<attempt>]` */
  readonly jobIdPrefix: string;
  readonly jobIdDigits: number;
  /** one attempt's default time limit (`TICKETFLOW_STAGE_TIMEOUTS` overrides it by queue name) */
  readonly timeoutMs: number;
  readonly processor: ProcessorSpec;
  /**
   * Set when each attempt of the stage's job adds children of its own (`-a<attempt>` from the second on):
   * the block stages, whose earlier attempt may have removed the files its children vouch for.
   */
  readonly perAttempt?: boolean;
  /** the children's bars in run reports; without it they take the stage's colour */
  readonly colour?: string;
}

/**
 * Everything the runtime needs to know about one stage of the pipeline. Each stage's folder holds its
 * definition (`<stage>/definition.ts`); definitions.ts lists them in flow order, and every per-stage table
 * (queues, cache keys, artifacts, tags, timeouts, processors, colours, code identity) is derived from it.
 */
export interface StageDefinition {
  /** the stage's name, which is also its BullMQ queue's name */
  readonly name: string;
  /**
   * The pipeline parameters whose values can change the stage's output: they, in this order, enter its
   * cache key (the order is part of the key's bytes). A parameter no stage lists must be in
   * OUTPUT_NEUTRAL_PARAMS (definitions.ts).
   */
  readonly params: readonly (keyof PipelineParams)[];
  /** the files the stage writes under `runs/<id>/`: what a cache hit links into a new run */
  readonly artifacts: readonly string[];
  /** the seed's Prefect task tags, carried in every job's data */
  readonly tags: readonly string[];
  /**
   * one attempt's default time limit (`TICKETFLOW_STAGE_TIMEOUTS` overrides it by queue name): past it the
   * job is killed and fails for good, as a runaway job on pathological input would run as long again if
   * retried. Generous: ~100× the dev data's times.
   */
  readonly timeoutMs: number;
  readonly processor: ProcessorSpec;
  /** set when the stage fans out into child jobs */
  readonly children?: StageChildren;
  /** the stage's colour in run reports */
  readonly colour: string;
  /**
   * Where the stage's code starts, relative to the compiled tree (dist/): its function and the worker
   * processors (inline and sandboxed) that run it and its children. Its code identity is the hash of
   * every compiled file these reach (shared/runtime/runs/code-identity.ts).
   */
  readonly code: readonly string[];
}
