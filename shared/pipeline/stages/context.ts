import { PipelineParams } from '../../core/config/pipeline-params';
import { Logger } from '../../core/logger';
import { RUN_ID_PATTERN } from '../../core/storage';
import type { ArtifactStore } from '../../core/store/artifact-store';
import { BlockMapper, localBlockMapper } from './blocks/block-mapper';

/**
 * What every stage function receives: the artifact store and the run whose keys (`runs/<runId>/…`) it
 * reads and writes, the run's parameters, a scoped logger.
 */
export interface StageContext {
  store: ArtifactStore;
  runId: string;
  params: PipelineParams;
  log: Logger;
  /** Report progress in percent; processors forward it to BullMQ (and so to Bull Board and the CLI). */
  progress?: (percent: number) => void | Promise<void>;
  /** What the run knows about its inputs, for the lineage a model carries. */
  run?: { datasetSha256: string; codeVersion: string };
  /** Aborted when the run is cancelled: a stage checks it before committing what it wrote. */
  signal?: AbortSignal;
  /**
   * How the stage's block tasks run: child jobs spread over the workers (workers/processors/block-mapper.ts);
   * without it, in this process, one after another (blocksOf).
   */
  blocks?: BlockMapper;
  /** the attempt of the stage's job (1 when absent): with `generation`, names its scratch folder (scratchDir) */
  attempt?: number;
  /** the run's generation the stage's job belongs to (1 when absent; a retry of the run adds one) */
  generation?: number;
  /**
   * The identity of the stage's code this process runs (shared/runtime/runs/code-identity.ts). The files
   * a stage's child jobs leave for a retry to reuse (chunk rows, block files, fold scores, class rows)
   * record it, and only files of the same code are reused. Absent in-process (tools, tests): such files
   * are reused only by each other.
   */
  code?: string;
}

/**
 * Whether a file that recorded code identity `recorded` (null or absent: in-process code) was written by
 * the context's code: the one rule by which chunk rows, fold scores and class rows are reused or joined.
 */
export function writtenByOwnCode(
  recorded: string | null | undefined,
  ctx: Pick<StageContext, 'code'>,
): boolean {
  return (recorded ?? null) === (ctx.code ?? null);
}

/** The stage's block mapper: the context's, or one running every task in this process. */
export function blocksOf(ctx: StageContext): BlockMapper {
  return ctx.blocks ?? localBlockMapper(ctx, ctx.signal);
}

/** File names of a run's artifacts, relative to `runs/<runId>/`. */
export const ARTIFACTS = {
  tickets: 'tickets.csv',
  /** tickets.csv's row index (shared/core/io/row-index.ts): how blocks of it are found */
  ticketsIndex: 'tickets.csv.idx',
  ticketsTopics: 'tickets_topics.csv',
  ticketsTopicsIndex: 'tickets_topics.csv.idx',
  topics: 'topics.json',
  features: 'features.json',
  /** term counts of every ticket with its label (binary CSR; −1 for a dropped ticket) */
  matrix: 'features.bin',
  split: 'split.json',
  /** the classes stage 4 learns (topics or categories) and how they were made */
  labels: 'labels.json',
  /** every search candidate's cross-validation scores and the winner */
  search: 'search.json',
  /** the search's per-fold results, one file per candidate and fold */
  searchDir: 'search',
  model: 'model.json',
  metrics: 'metrics.json',
  /** the test rows (split.json's order) and the probabilities training computed for them */
  testPredictions: 'test_predictions.json',
  chunksDir: 'chunks',
} as const;

/** Where a stage finds the run's artifacts: its store and run. */
export type RunArtifacts = Pick<StageContext, 'store' | 'runId'>;

/** The store key of a run's artifact: `runs/<runId>/<name>` (`name` may hold "/": `chunks/tickets-00000.csv`). */
export function artifactKey(ctx: Pick<StageContext, 'runId'>, name: string): string {
  return `${runPrefix(ctx)}${name}`;
}

/** The prefix of every key of the run, ending with "/". */
export function runPrefix(ctx: Pick<StageContext, 'runId'>): string {
  if (!RUN_ID_PATTERN.test(ctx.runId))
    throw new RangeError(
      `run id "${ctx.runId}" may hold only letters, digits, "_" and "-" (1 to 80 of them)`,
    );
  return `runs/${ctx.runId}/`;
}

export const TICKETS_COLUMNS = ['complaint_what_happened', 'category', 'processed_text'] as const;
export const TICKETS_TOPICS_COLUMNS = [...TICKETS_COLUMNS, 'relevant_topic'] as const;

/** Seconds since `start` (from `performance.now()`), rounded to milliseconds. */
export function secondsSince(start: number): number {
  return Math.round(performance.now() - start) / 1000;
}
