import { PipelineParams } from '../../core/config/pipeline-params';
import { STAGES, StageName, stageDefinition } from '../../pipeline/stages/definitions';
import { MetricsFile } from '../../pipeline/stages/training/training';

/** A run's state. `completed`, `failed` and `cancelled` are final until a retry. */
export type RunState = 'waiting' | 'active' | 'completed' | 'failed' | 'cancelled';
export const RUN_STATES: readonly RunState[] = ['waiting', 'active', 'completed', 'failed', 'cancelled'];
const FINAL_STATES: readonly RunState[] = ['completed', 'failed', 'cancelled'];

export function isFinal(state: RunState): boolean {
  return FINAL_STATES.includes(state);
}

/**
 * A run's state in the run index (GET /runs, `ticketflow list`): its record's state, or `deleting` from the
 * moment a delete begins until it has removed everything (a delete cut short stays `deleting` until a
 * repeated DELETE or the API's start-up sweep finishes it). A record itself is never `deleting`.
 */
export type ListedState = RunState | 'deleting';
export const LISTED_STATES: readonly ListedState[] = [...RUN_STATES, 'deleting'];

/**
 * A stage's state, normalised from BullMQ's: `pending` (its upstream stage has not finished), `waiting`
 * (queued, no attempt yet), `active`, `retrying` (an attempt failed, the next waits for its backoff),
 * `completed`, `cached` (artifacts reused from an earlier run), `failed` (its own failure), `cancelled`,
 * `skipped` (never ran: an upstream stage failed).
 */
export type StageState =
  'pending' | 'waiting' | 'active' | 'retrying' | 'completed' | 'cached' | 'failed' | 'cancelled' | 'skipped';

export interface StageRecord {
  stage: StageName;
  state: StageState;
  /** BullMQ's own state of the stage's job (null: no job, e.g. cached, or the job was removed) */
  rawState: string | null;
  jobId: string | null;
  /** the run generation whose job ran (or is running) this stage */
  generation: number | null;
  /** attempts that ended (completed or failed); a stalled attempt (its worker died) does not count */
  attemptsMade: number;
  /** attempts that began, stalled ones included */
  attemptsStarted: number;
  /** times its worker died (or lost the job's lock) during an attempt */
  stalls: number;
  maxAttempts: number;
  /** 0–100; completed and cached stages read 100 */
  progress: number;
  startedAt: string | null;
  finishedAt: string | null;
  /**
   * the stage's whole span, from its start (a fanning-out job's first step) to its completion after its
   * child jobs: chunks, search and refit included
   */
  seconds: number | null;
  /** training: seconds of the refit of the search's winner, one part of `seconds` */
  refitSeconds?: number | null;
  /** the worker that ran it last: "ticketflow-worker@<host>:<pid>" */
  worker: string | null;
  tags: readonly string[];
  failedReason: string | null;
  cacheKey: string;
  /** the stage's code identity its cache key was computed with (shared/runtime/runs/code-identity.ts) */
  code?: string;
  cached: boolean;
  /** the run whose artifacts a cached stage reused */
  cachedFrom: string | null;
  /** text processing: chunk jobs done / total of the current generation (skipped: done by an earlier one) */
  chunks?: { total: number; completed: number; failed: number; reused: number };
  /** the stage's own (small) return value */
  result: unknown;
}

export interface RunEvent {
  at: string;
  event: 'created' | 'retried' | 'cancelled' | 'completed' | 'failed';
  detail?: string;
}

/** Everything about a run that outlives BullMQ's jobs: `runs/<id>/run.json` in storage. */
export interface RunRecord {
  id: string;
  state: RunState;
  /** as submitted: a path relative to the workers' data root, or absolute */
  dataset: string;
  datasetSha256: string;
  datasetBytes: number;
  params: PipelineParams;
  /** false: every stage computed, whatever the stage cache holds */
  cache: boolean;
  codeVersion: string;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  durationSeconds: number | null;
  /** 0–100 over the four stages */
  progress: number;
  /** 1, then one more per retry */
  generation: number;
  stages: StageRecord[];
  /** the first failure in flow order (a chunk's own message when a chunk failed) */
  error: { stage: StageName; message: string } | null;
  metrics: MetricsFile | null;
  warnings: string[];
  events: RunEvent[];
  /** the schedule whose tick started the run, with its promotion gate (runs started by a schedule only) */
  schedule?: ScheduleTag;
  /** the promotion gate's decision, once the run completed (runs whose schedule has a gate only) */
  promotion?: PromotionDecision;
}

/** What a promotion gate compares on (shared/core/numeric/metrics.ts). */
export type GateMetric = 'accuracy' | 'macroF1';
export const GATE_METRICS: readonly GateMetric[] = ['accuracy', 'macroF1'];

/** A schedule's promotion gate: move `alias` to the run's model only when it beats the alias's model. */
export interface PromoteSpec {
  alias: string;
  metric: GateMetric;
  /** the challenger must score at least the champion's score plus this */
  minDelta: number;
  /** and never below this absolute score */
  floor?: number;
}

export interface ScheduleTag {
  id: string;
  /** the tick's job id (`repeat:<schedule>:<ms>`): one run per tick */
  tick: string;
  promote?: PromoteSpec;
}

/** The promotion gate's decision on a completed run (the challenger) against the alias's model. */
export interface PromotionDecision {
  promoted: boolean;
  alias: string;
  metric: GateMetric;
  /** the run's model's score on its own test split */
  challenger: number | null;
  /** the alias's model's score on the same tickets; null without a champion */
  champion: number | null;
  championRun: string | null;
  minDelta: number;
  floor: number | null;
  reason: string;
  /** the test tickets both models scored */
  tickets: number;
  at: string;
}

/** What listing shows per run, kept in the Redis index beside the record. */
export interface RunSummary {
  id: string;
  state: ListedState;
  dataset: string;
  createdAt: string;
  finishedAt: string | null;
  durationSeconds: number | null;
  testAccuracy: number | null;
  /** weighted F1 on the test split */
  testF1: number | null;
  warnings: number;
}

export function summarise(r: RunRecord): RunSummary {
  return {
    id: r.id,
    state: r.state,
    dataset: r.dataset,
    createdAt: r.createdAt,
    finishedAt: r.finishedAt,
    durationSeconds: r.durationSeconds,
    testAccuracy: r.metrics?.test.accuracy ?? null,
    testF1: r.metrics?.test.f1 ?? null,
    warnings: r.warnings.length,
  };
}

export function stageRecord(r: RunRecord, stage: StageName): StageRecord {
  const s = r.stages.find((x) => x.stage === stage);
  if (!s) throw new Error(`run ${r.id} has no record of stage ${stage}`);
  return s;
}

export function isDone(s: StageRecord): boolean {
  return s.state === 'completed' || s.state === 'cached';
}

/**
 * Run-level fields that follow from the stages: state (unless cancelled), progress, start, finish,
 * duration, error, metrics and warnings. Pure: the same stages give the same record.
 */
export function deriveRunFields(r: RunRecord, now: Date): RunRecord {
  const stages = r.stages;
  const failed = stages.find((s) => s.state === 'failed');
  let state: RunState;
  if (r.state === 'cancelled') state = 'cancelled';
  else if (failed) state = 'failed';
  else if (stages.every(isDone)) state = 'completed';
  else if (
    stages.some((s) => s.state === 'active' || s.state === 'retrying' || (s.startedAt !== null && !isDone(s)))
  )
    state = 'active';
  else state = 'waiting';
  const starts = stages
    .map((s) => s.startedAt)
    .filter((t): t is string => t !== null)
    .sort();
  const ends = stages
    .map((s) => s.finishedAt)
    .filter((t): t is string => t !== null)
    .sort();
  const startedAt = r.startedAt ?? starts[0] ?? (stages.every((s) => s.cached) ? r.createdAt : null);
  const final = isFinal(state);
  const finishedAt = final ? (r.finishedAt ?? ends[ends.length - 1] ?? now.toISOString()) : null;
  const training = stages[stages.length - 1]?.result as { metrics?: MetricsFile } | null | undefined;
  const warnings = stages.flatMap((s) => {
    const w = (s.result as { warnings?: unknown } | null | undefined)?.warnings;
    return Array.isArray(w)
      ? w.filter((x): x is string => typeof x === 'string').map((x) => `${s.stage}: ${x}`)
      : [];
  });
  const progress = Math.round(
    stages.reduce((sum, s) => sum + (isDone(s) ? 100 : s.progress), 0) / stages.length,
  );
  return {
    ...r,
    state,
    startedAt,
    finishedAt,
    durationSeconds: finishedAt ? (Date.parse(finishedAt) - Date.parse(r.createdAt)) / 1000 : null,
    progress: state === 'completed' ? 100 : progress,
    error: failed ? { stage: failed.stage, message: failed.failedReason ?? 'failed' } : null,
    metrics: state === 'completed' ? (training?.metrics ?? null) : null,
    warnings,
  };
}

/** A new run's stages: pending, each with its cache key (and the code identity in it, when given). */
export function initialStages(
  cacheKeys: Record<StageName, string>,
  maxAttempts: number,
  code?: Record<StageName, string>,
): StageRecord[] {
  return STAGES.map((stage) => ({
    stage,
    state: 'pending',
    rawState: null,
    jobId: null,
    generation: null,
    attemptsMade: 0,
    attemptsStarted: 0,
    stalls: 0,
    maxAttempts,
    progress: 0,
    startedAt: null,
    finishedAt: null,
    seconds: null,
    worker: null,
    tags: stageDefinition(stage).tags,
    failedReason: null,
    cacheKey: cacheKeys[stage],
    ...(code ? { code: code[stage] } : {}),
    cached: false,
    cachedFrom: null,
    result: null,
  }));
}
