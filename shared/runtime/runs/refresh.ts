import { Job } from 'bullmq';
import { childQueueOf, isChildQueue } from '../../pipeline/stages/definitions';
import { isQueueName } from '../flow/queue-names';
import { Queues } from '../flow/queues';
import { StageJobData } from '../flow/job-types';
import { RunRecord, StageRecord, StageState, deriveRunFields, isDone, isFinal } from './record';

const iso = (ms: number | undefined): string | null => (ms ? new Date(ms).toISOString() : null);

/**
 * A run whose unfinished stages' jobs are all missing this long after its last event has lost them (a
 * Redis without persistence restarted, or someone removed them): it fails, so it can be retried. The
 * delay covers the moment between writing a record and adding its flow.
 */
export const LOST_JOBS_AFTER_MS = 30_000;
const MISSING = 'missing';
const CHILD_FAILED = /^child .*:([^:]+):([^:]+) failed$/;
const FAILED_CHILD_REFUSED = /^Cannot complete job \S+ because it has at least one failed child/;

/**
 * The record brought up to date from the BullMQ jobs of its current generation. Final records and
 * stages already done are left as they are (their jobs may be gone). Pure apart from reading Redis: the
 * caller decides whether to write the result.
 */
export async function refreshRecord(record: RunRecord, queues: Queues): Promise<RunRecord> {
  if (isFinal(record.state)) return record;
  const stages = await Promise.all(
    record.stages.map((s) => (isDone(s) || s.jobId === null ? s : refreshStage(s, queues))),
  );
  const open = stages.filter((s) => !isDone(s) && s.jobId !== null);
  const lastEvent = Date.parse(record.events[record.events.length - 1]?.at ?? record.createdAt);
  if (
    open.length > 0 &&
    open.every((s) => s.rawState === MISSING) &&
    Date.now() - lastEvent > LOST_JOBS_AFTER_MS
  ) {
    const first = stages.indexOf(open[0]!);
    stages[first] = {
      ...stages[first]!,
      state: 'failed',
      failedReason:
        'its jobs are gone from Redis (a Redis without persistence was restarted, or they were removed): retry the run',
    };
  }
  // A stage downstream of a failed one never ran: BullMQ counts the attempt that merely failed its job
  // on the upstream's behalf, the record does not.
  const failedAt = stages.findIndex((s) => s.state === 'failed');
  const settled = stages.map((s, i) =>
    s.state === 'skipped' || (failedAt >= 0 && i > failedAt && !isDone(s)) ? skipped(s) : s,
  );
  return deriveRunFields({ ...record, stages: settled }, new Date());
}

function skipped(s: StageRecord): StageRecord {
  return {
    ...s,
    state: 'skipped',
    progress: 0,
    attemptsMade: 0,
    attemptsStarted: 0,
    startedAt: null,
    finishedAt: null,
    seconds: null,
  };
}

async function refreshStage(s: StageRecord, queues: Queues): Promise<StageRecord> {
  const queue = queues[s.stage];
  // State first, then the job: a job read after its state is at least as new, so "completed" always
  // comes with its finish time and return value.
  const raw = await queue.getJobState(s.jobId!);
  const job = (await queue.getJob(s.jobId!)) as Job<StageJobData> | undefined;
  if (!job || raw === 'unknown') return { ...s, rawState: MISSING };
  const next: StageRecord = {
    ...s,
    rawState: raw,
    attemptsMade: job.attemptsMade,
    // A fanning-out job starts once more after each wait for its children (text processing's merge,
    // training's refit and done steps): that is the same attempt, not another.
    attemptsStarted: Math.max(
      job.attemptsMade,
      (job.attemptsStarted ?? job.attemptsMade) - restarts(job.data.step, raw),
    ),
    stalls: job.stalledCounter ?? 0,
    maxAttempts: job.opts.attempts ?? 1,
    startedAt: iso(job.data.startedAt ?? job.processedOn),
    finishedAt: raw === 'completed' || raw === 'failed' ? iso(job.finishedOn) : null,
    worker: job.processedBy ?? s.worker,
    failedReason: job.failedReason ? await rootCause(queues, job) : null,
    progress: typeof job.progress === 'number' ? job.progress : 0,
  };
  next.state = normalise(raw, job);
  if (next.state === 'completed') {
    next.result = job.returnvalue;
    next.progress = 100;
    // The whole span, child jobs included: a fanning-out job's own work is a small part of it.
    next.seconds =
      job.finishedOn && next.startedAt ? (job.finishedOn - Date.parse(next.startedAt)) / 1000 : null;
    const own = (job.returnvalue as { seconds?: unknown } | null)?.seconds;
    // Training returns its refit job's result: the refit's own seconds.
    if (s.stage === 'training' && typeof own === 'number') next.refitSeconds = own;
  }
  if (childQueueOf(s.stage) !== undefined && job.data.chunks !== undefined) {
    const counts = await job.getDependenciesCount();
    const total = job.data.chunks;
    // The children BullMQ has processed, and those whose output an earlier generation left (reused); a
    // completed stage has done every child.
    const done = (counts.processed ?? 0) + (job.data.reusedChunks ?? 0);
    const completed = next.state === 'completed' ? total : Math.min(total, done);
    next.chunks = {
      total,
      completed,
      failed: (counts.failed ?? 0) + (counts.ignored ?? 0),
      reused: job.data.reusedChunks ?? 0,
    };
    if (next.state !== 'completed') next.progress = Math.round((100 * completed) / Math.max(1, total));
  }
  return next;
}

/** Times a fanning-out job has been re-activated after waiting for children, by the step it reached. */
function restarts(step: StageJobData['step'], raw: string): number {
  const waits = step === 'merge' || step === 'refit' ? 1 : step === 'join' || step === 'done' ? 2 : 0;
  return raw === 'waiting-children' ? Math.max(0, waits - 1) : waits;
}

function normalise(raw: string, job: Job<StageJobData>): StageState {
  switch (raw) {
    case 'completed':
      return 'completed';
    case 'active':
      return 'active';
    case 'failed': {
      // Failed because its upstream stage failed: it never ran. A failed chunk is text processing's own.
      const m = CHILD_FAILED.exec(job.failedReason ?? '');
      return m && !isChildQueue(m[1] ?? '') ? 'skipped' : 'failed';
    }
    case 'waiting-children':
      return restarts(job.data.step, 'active') > 0 ? 'active' : 'pending';
    default:
      // waiting, prioritized, delayed: queued; after a failed attempt it is a retry.
      return job.attemptsMade > 0 ? 'retrying' : 'waiting';
  }
}

/**
 * BullMQ fails a parent whose child failed (failParentOnFailure) with "child <prefix>:<queue>:<id>
 * failed", or — when the child failed before the parent began to wait for it — with "Cannot complete
 * job … because it has at least one failed child". Follow such messages down to the job that failed on
 * its own, whose message says why.
 */
async function rootCause(queues: Queues, job: Job): Promise<string> {
  let reason = job.failedReason;
  for (let depth = 0, at = job; depth < 10; depth++) {
    let m = CHILD_FAILED.exec(reason);
    if (!m && FAILED_CHILD_REFUSED.test(reason)) {
      const first = (await at.getDependencies({ failed: { count: 1 } })).failed?.[0];
      m = first ? CHILD_FAILED.exec(`child ${first} failed`) : null;
    }
    if (!m || !isQueueName(m[1]!)) return reason;
    const child = await queues[m[1]].getJob(m[2]!);
    if (!child?.failedReason) return reason;
    [at, reason] = [child, child.failedReason];
  }
  return reason;
}
