/**
 * Redis keys of ticketflow's own state, beside BullMQ's under the same prefix (`<prefix>:<queue>:…`).
 * `_tf` is not a valid queue name here, so the two never meet.
 */
export function runKeys(prefix: string) {
  const base = `${prefix}:_tf`;
  return {
    /** sorted set, all scores 0, members `<createdAt ms, 15 digits>|<run id>`: newest last in lex order */
    all: `${base}:runs`,
    byState: (state: string) => `${base}:runs:state:${state}`,
    /** hash run id → RunSummary JSON */
    summaries: `${base}:runs:summary`,
    /** hash run id → DeletionMark JSON: runs whose delete began and has not finished */
    deleting: `${base}:runs:deleting`,
    lock: (runId: string) => `${base}:lock:${runId}`,
    cancelled: (runId: string) => `${base}:cancelled:${runId}`,
    /** pub/sub channel: a run id per message, to every worker */
    cancelChannel: `${base}:cancel`,
    /** pub/sub channel: a run id per message, each time its record and index entries are written */
    recordChannel: `${base}:record-written`,
    idempotency: (keyHash: string) => `${base}:idempotency:${keyHash}`,
    cache: (cacheKey: string) => `${base}:cache:${cacheKey}`,
    /** set of the cache keys whose entries point at a run (removed with the run) */
    runCacheKeys: (runId: string) => `${base}:cache-of:${runId}`,
    /** hash alias name → run id of a model version */
    aliases: `${base}:model-aliases`,
    /** list per alias, newest first: AliasMove JSON of every move (runs/alias-history.ts) */
    aliasHistory: (alias: string) => `${base}:model-alias-history:${alias}`,
    /** hash run id → PromotionDecision JSON: the promotion gate's decision on each gated run */
    gateDecisions: `${base}:gate-decisions`,
    /** held while the promotion gate judges a run, and after, so it judges each run once */
    gateLock: (runId: string) => `${base}:gate-lock:${runId}`,
    /** hash schedule id → ScheduleDefinition JSON (shared/runtime/schedules/) */
    schedules: `${base}:schedules`,
    /** hash per schedule: tick job id → TickEntry JSON (the run it started, or why it was skipped) */
    scheduleTicks: (id: string) => `${base}:schedule-ticks:${id}`,
    /** per schedule: the id of the last run a tick started */
    scheduleLastRun: (id: string) => `${base}:schedule-last-run:${id}`,
    /** held while a tick of the schedule decides whether to start a run */
    scheduleLock: (id: string) => `${base}:schedule-lock:${id}`,
    /** sorted set (lex, like runs) of batch classification ids */
    classifications: `${base}:classifications`,
    /** hash per classification: ticket id → reviewed label (the review queue's source of truth) */
    reviews: (classificationId: string) => `${base}:reviews:${classificationId}`,
    /** set of the classification ids that have reviewed tickets */
    reviewed: `${base}:reviewed`,
    /** a short-lived key written to learn whether Redis accepts writes (`/readyz`, workers) */
    writeProbe: `${base}:write-probe`,
    /** sorted set per queue: worker name → heartbeat expiry (ms) */
    workers: (queue: string) => `${base}:workers:${queue}`,
  };
}

export type RunKeys = ReturnType<typeof runKeys>;
