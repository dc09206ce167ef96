import { ChildQueueName, StageName, childQueueOf, childrenOf } from '../../pipeline/stages/definitions';
import { DatasetFormat, TicketRange } from '../../core/dataset/read-tickets';
import { DatasetCheck } from '../../core/dataset/verify-dataset';
import { TextProcessingResult } from '../../pipeline/stages/text-processing';
import { ProcessChunkResult } from '../../pipeline/stages/text-processing/process-chunk';
import { JobParams } from './param-refs';

/**
 * Job payloads carry references and small values only: the run id, the parameters (a label map by
 * reference to the run's record: see param-refs.ts), the dataset's path (relative paths resolve inside
 * each worker's data root) and the artifacts folder relative to the storage root. The corpus itself
 * never travels through Redis.
 */
/**
 * A parent job that fans out into chunk jobs (text processing, batch classification) runs in two steps:
 * split (plan byte ranges, add the chunk children), then — re-activated once they are done — merge.
 */
export interface FanOutState {
  /**
   * which step it has reached: split → chunks → merge (text processing, classification); split → merging
   * as the chunks complete, in the same activation (text processing); search → CV jobs → refit → refit
   * job → done, or search → CV jobs → refit → the refit's problems' jobs → join → the refit job that
   * joins them → done (training)
   */
  step?: 'split' | 'merge' | 'merging' | 'search' | 'refit' | 'join' | 'done';
  /** epoch ms when the split step began (the job is re-activated for the merge) */
  startedAt?: number;
  /** child jobs planned so far (chunks; for training, search jobs) */
  chunks?: number;
  /** chunks whose output an earlier attempt or generation left in storage: not run again */
  reusedChunks?: number;
  /** training, a refit in parts: epoch ms when its problems' jobs were added */
  refitStartedAt?: number;
  /**
   * training, a refit in parts: its problems, as decided when their jobs were added (a later step may run
   * on a worker whose TICKETFLOW_PARTED_REFIT_TICKETS differs: it follows this)
   */
  refitParts?: number[];
  /** records the split found (JSON elements, lines or CSV rows) */
  records?: number;
  splitSeconds?: number;
}

export interface StageJobData extends FanOutState {
  runId: string;
  stage: StageName;
  /** the seed's Prefect tags for this stage */
  tags: readonly string[];
  params: JobParams;
  dataset: string;
  /** artifacts folder relative to the storage root: `runs/<runId>` */
  artifacts: string;
  createdAt: string;
  /** which submission of the run this job belongs to: 1, then one more per retry */
  generation: number;
  /** the stage cache key of this stage's output (see shared/runtime/runs/stage-cache.ts) */
  cacheKey: string;
  /**
   * the stage's code identity in `cacheKey`: a worker whose own identity differs (another build) does not
   * cache its result under that key
   */
  code?: string;
  /** the dataset's SHA-256 at submission and the code version: a model's lineage */
  datasetSha256: string;
  /** the dataset's size at submission: stage 1 refuses another size before hashing */
  datasetBytes?: number;
  codeVersion: string;
}

export interface ChunkJobData {
  runId: string;
  generation: number;
  stage: 'text-processing';
  chunk: number;
  /** the dataset reference, as in the stage's job */
  dataset: string;
  format: DatasetFormat;
  /** this chunk's byte range of the dataset and the index of its first record */
  range: TicketRange;
  /** the record's bytes and the file's identity while stage 1 verified them: checked before and after reading */
  datasetCheck: DatasetCheck;
  /** the stage's code identity the parent runs (code-identity.ts): a worker of another build refuses the chunk */
  code?: string;
  tags: readonly string[];
  params: JobParams;
  artifacts: string;
}

/**
 * A job of training's model search: `cv` fits grid candidate `candidate` without fold `fold` of the
 * training split and scores it on that fold; `refit` fits the winner on the whole training split.
 */
export interface SearchJobData {
  runId: string;
  generation: number;
  stage: 'training';
  /** position among the training job's children (CV jobs first, then the refit, then its fit or its problems) */
  child: number;
  /**
   * a cross-validation fit, the refit of the winner, the fit of a refit in two halves (refit-fit.ts: the
   * refit job is its parent), or one problem of a parted refit (refit-parts.ts)
   */
  kind: 'cv' | 'refit' | 'refit-fit' | 'refit-part';
  candidate: number;
  fold: number | null;
  /** refit-part: the problem it fits */
  problem?: number;
  /** refit: the problems whose rows it joins, when their jobs fitted them (else it fits) */
  parts?: number[];
  /** refit: its fit job stored the model (refit-fit.ts): it scores that instead of fitting */
  fitted?: true;
  /** the stage's code identity the parent runs (code-identity.ts): a worker of another build refuses the job */
  code?: string;
  tags: readonly string[];
  params: JobParams;
  artifacts: string;
  datasetSha256: string;
  codeVersion: string;
}

/** A block task of a stage that fans out through a BlockMapper (blocks/block-mapper.ts). */
export interface BlockJobData {
  runId: string;
  generation: number;
  stage: StageName;
  /** the stage job's attempt the task serves: whose scratch folder it writes */
  attempt: number;
  /** the task's name in blocks/block-tasks.ts */
  task: string;
  /** the task's input: small JSON (block numbers, keys) */
  input: unknown;
  /**
   * the stage's code identity the try runs (code-identity.ts): a worker of another build refuses the task,
   * so one try's files all come from one build
   */
  code?: string;
  tags: readonly string[];
  params: JobParams;
  artifacts: string;
}

export type TextProcessingJobResult = TextProcessingResult;

export type ChunkJobResult = ProcessChunkResult;

/** Job ids are deterministic per run and generation, so adding a job twice adds nothing twice. */
export function stageJobId(runId: string, stage: StageName, generation = 1): string {
  return `${runId}-${stage}${generationSuffix(generation)}`;
}

export function chunkJobId(runId: string, chunk: number, generation = 1): string {
  return childJobId(runId, 'text-processing', chunk, generation);
}

/**
 * The `child`-th block job a stage's mapper added in attempt `attempt` of the stage's job. A later attempt
 * (after a failure or a stall) adds its own children (`-a<attempt>`): an earlier attempt's completed
 * children vouch for outputs that attempt may since have removed.
 */
export function blockJobId(
  runId: string,
  stage: StageName,
  child: number,
  generation = 1,
  attempt = 1,
): string {
  return `${childJobId(runId, stage, child, generation)}${attempt > 1 ? `-a${attempt}` : ''}`;
}

export function searchJobId(runId: string, child: number, generation = 1): string {
  return childJobId(runId, 'training', child, generation);
}

/** `<runId>-<prefix>-<child, zero-padded>[-g<generation>]`, the prefix and width from the stage's definition. */
function childJobId(runId: string, stage: StageName, child: number, generation: number): string {
  const { jobIdPrefix, jobIdDigits } = childrenOf(stage)!;
  return `${runId}-${jobIdPrefix}-${String(child).padStart(jobIdDigits, '0')}${generationSuffix(generation)}`;
}

/**
 * Every child job a stage's job of one generation may have added: `chunks` of them, once per attempt it
 * started for a stage whose attempts add their own (`perAttempt`), once for the others. Empty for a stage
 * without children.
 */
export function childJobs(
  runId: string,
  stage: StageName,
  generation: number,
  chunks: number,
  attemptsStarted = 1,
): { queue: ChildQueueName; jobId: string; child: number }[] {
  const queue = childQueueOf(stage);
  if (queue === undefined) return [];
  const attempts = childrenOf(stage)!.perAttempt ? Math.max(1, attemptsStarted) : 1;
  const out: { queue: ChildQueueName; jobId: string; child: number }[] = [];
  for (let a = 1; a <= attempts; a++)
    for (let c = 0; c < chunks; c++)
      out.push({ queue, jobId: blockJobId(runId, stage, c, generation, a), child: c });
  return out;
}

/** A retry adds new jobs beside the failed ones (BullMQ cannot revive a failed parent): `-g2`, `-g3`, … */
function generationSuffix(generation: number): string {
  return generation === 1 ? '' : `-g${generation}`;
}

/**
 * The parent job of a batch classification (queue `classification`): split → chunk children on
 * `classification-chunks` → merge, like text processing. `runId` is the classification id too: the
 * worker checks it for cancellation, as it does for every job.
 */
export interface ClassificationJobData extends FanOutState {
  /** the classification id (`cls-…`), under the name every job carries */
  runId: string;
  classificationId: string;
  /** dataset path: absolute, or relative to each worker's data root */
  dataset: string;
  /** run id of the model's run, resolved from an alias or run id at submission */
  model: string;
  /** abstention threshold: below it a prediction is `needs_review` */
  threshold: number;
  params: { chunkSize: number };
  /** output folder relative to the storage root: `classifications/<id>` */
  artifacts: string;
  createdAt: string;
}

export interface ClassificationChunkJobData {
  /** the classification id (see ClassificationJobData) */
  runId: string;
  classificationId: string;
  chunk: number;
  dataset: string;
  format: DatasetFormat;
  range: TicketRange;
  model: string;
  threshold: number;
  /** batch classification's code identity the parent runs: a worker of another build refuses the chunk */
  code?: string;
  artifacts: string;
}

export interface ClassificationChunkJobResult {
  chunk: number;
  /** tickets classified */
  rows: number;
  seconds: number;
}

export function classificationJobId(classificationId: string): string {
  return classificationId;
}

export function classificationChunkJobId(classificationId: string, chunk: number): string {
  return `${classificationId}-chunk-${String(chunk).padStart(5, '0')}`;
}
