import { Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { ChildQueueName, StageName } from '../../pipeline/stages/definitions';
import { childJobs, stageJobId, StageJobData } from '../flow/job-types';
import { RunsContext } from './context';
import { RunRecord } from './record';
import { logLost } from '../../core/logger';

export type TimelineOutcome = 'completed' | 'failed' | 'active' | 'retried';

/** One attempt of one job of a run: a bar of the run's Gantt chart. */
export interface TimelineEntry {
  /** the stage's queue, or its child queue (`text-chunks`, `training-search`) for a child job */
  queue: StageName | ChildQueueName;
  /** the stage this bar belongs to (chunks: text-processing; search jobs: training) */
  stage: StageName;
  jobId: string;
  /** child jobs: the child's index (a chunk's number, a search job's) */
  chunk?: number;
  generation: number;
  /** "ticketflow-worker@host:pid"; null when unknown (an earlier attempt: BullMQ keeps only the last worker) */
  worker: string | null;
  /** 1-based attempt number */
  attempt: number;
  startedAt: string;
  /** null while active */
  finishedAt: string | null;
  /** `retried`: this attempt failed (or stalled) and a later attempt followed */
  outcome: TimelineOutcome;
  /** the attempt's failure message, when it failed */
  message?: string;
}

const LOG_LINE =
  /^(\d{4}-\d{2}-\d{2}T[\d:.]+Z) \S+ (?:attempt (\d+) of \d+ (started)|(completed)\b|(failed): ?(.*))/;

interface Attempt {
  attempt: number;
  startedAt: number;
  finishedAt: number | null;
  end: 'completed' | 'failed' | null;
  message?: string;
}

/**
 * The attempts a job's log tells of (`runLogged` writes "<ISO> <stage> attempt N of M started", then
 * "… completed in S s" or "… failed: message"). A text-processing job logs "attempt N started" twice per
 * attempt (split, then merge after its children): lines with the same number belong to one attempt. A
 * start followed by another start of a higher number without an end stalled (its worker died).
 */
export function attemptsFromLogs(lines: readonly string[]): Attempt[] {
  const attempts: Attempt[] = [];
  for (const line of lines) {
    const m = LOG_LINE.exec(line);
    if (!m) continue;
    const at = Date.parse(m[1]!);
    if (Number.isNaN(at)) continue;
    const last = attempts[attempts.length - 1];
    if (m[3]) {
      const n = Number(m[2]);
      if (last && last.attempt === n && last.end === null) continue;
      if (last && last.end === null) last.finishedAt = at;
      attempts.push({ attempt: n, startedAt: at, finishedAt: null, end: null });
    } else if (last && last.end === null) {
      last.finishedAt = at;
      last.end = m[4] ? 'completed' : 'failed';
      if (m[5]) last.message = m[6];
    }
  }
  return attempts;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The bars of one job: from its log's attempts, the last one completed from the job's own fields. */
async function jobEntries(
  redis: Redis,
  queue: Queue,
  job: Job,
  base: Pick<TimelineEntry, 'queue' | 'stage' | 'jobId' | 'generation' | 'chunk'>,
): Promise<TimelineEntry[]> {
  const { logs } = await queue.getJobLogs(job.id!, 0, -1).catch(() => ({ logs: [] as string[] }));
  const state = await job.getState().catch(() => 'unknown');
  const attempts = attemptsFromLogs(logs);
  if (attempts.length === 0 && job.processedOn)
    attempts.push({
      attempt: Math.max(1, job.attemptsMade),
      startedAt: job.processedOn,
      finishedAt: job.finishedOn ?? null,
      end: state === 'completed' ? 'completed' : state === 'failed' ? 'failed' : null,
    });
  // BullMQ stores the worker's name in the job hash as "pb" when an attempt starts; read it when the
  // Job object does not carry it.
  const worker =
    (job as Job & { processedBy?: string }).processedBy ??
    (await redis.hget(queue.toKey(job.id!), 'pb').catch(logLost(`reading the worker of job ${job.id}`))) ??
    null;
  return attempts.map((a, i) => {
    const isLast = i === attempts.length - 1;
    let outcome: TimelineOutcome;
    if (!isLast) outcome = a.end === 'completed' ? 'completed' : 'retried';
    else if (a.end === 'completed' || state === 'completed') outcome = 'completed';
    else if (state === 'failed') outcome = 'failed';
    else if (a.end === 'failed') outcome = 'retried';
    else if (state === 'active' || state === 'waiting-children') outcome = 'active';
    else outcome = 'retried';
    const finishedAt =
      a.finishedAt ?? (isLast && outcome !== 'active' ? (job.finishedOn ?? null) : a.finishedAt);
    const message = a.message ?? (isLast && outcome === 'failed' ? job.failedReason : undefined);
    return {
      ...base,
      worker: isLast ? worker : null,
      attempt: a.attempt,
      startedAt: iso(a.startedAt),
      finishedAt: finishedAt === null ? null : iso(finishedAt),
      outcome,
      ...(message ? { message } : {}),
    };
  });
}

/**
 * A run's timeline: every attempt of every stage job and chunk job of every generation, read from BullMQ
 * while the jobs exist (`processedOn`, `finishedOn`, `processedBy`, `attemptsMade`, and the job's log for
 * earlier attempts). A stage whose jobs retention removed falls back to its record's times (one bar);
 * stages served from the cache have no bars (the record says `cached`/`cachedFrom`). Sorted by start.
 */
export async function runTimeline(ctx: RunsContext, record: RunRecord): Promise<TimelineEntry[]> {
  const entries: TimelineEntry[] = [];
  for (const s of record.stages) {
    if (s.cached) continue;
    const queue = ctx.queues[s.stage];
    const found: TimelineEntry[] = [];
    for (let g = 1; g <= record.generation; g++) {
      const jobId = stageJobId(record.id, s.stage, g);
      const job = (await Job.fromId(queue, jobId).catch(
        logLost(`reading job ${jobId} of ${queue.name} for the timeline`),
      )) as Job<StageJobData> | undefined;
      if (!job) continue;
      found.push(
        ...(await jobEntries(ctx.redis, queue, job, {
          queue: s.stage,
          stage: s.stage,
          jobId,
          generation: g,
        })),
      );
      const refs = childJobs(record.id, s.stage, g, job.data.chunks ?? 0, job.attemptsStarted);
      const children = await Promise.all(
        refs.map((ref) =>
          Job.fromId(ctx.queues[ref.queue], ref.jobId).catch(
            logLost(`reading job ${ref.jobId} for the timeline`),
          ),
        ),
      );
      for (const [i, child] of children.entries()) {
        const ref = refs[i]!;
        if (!child) continue;
        found.push(
          ...(await jobEntries(ctx.redis, ctx.queues[ref.queue], child, {
            queue: ref.queue,
            stage: s.stage,
            jobId: child.id!,
            chunk: ref.child,
            generation: g,
          })),
        );
      }
    }
    if (!found.some((e) => e.queue === s.stage) && s.startedAt !== null && s.jobId !== null) {
      // The jobs are gone (retention, a deleted run's jobs): the record still knows the last attempt.
      found.push({
        queue: s.stage,
        stage: s.stage,
        jobId: s.jobId,
        generation: s.generation ?? record.generation,
        worker: s.worker,
        attempt: Math.max(1, s.attemptsMade),
        startedAt: s.startedAt,
        finishedAt: s.finishedAt,
        outcome:
          s.state === 'completed'
            ? 'completed'
            : s.state === 'failed' || s.state === 'cancelled'
              ? 'failed'
              : s.finishedAt === null
                ? 'active'
                : 'retried',
        ...(s.failedReason ? { message: s.failedReason } : {}),
      });
    }
    entries.push(...found);
  }
  entries.sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.jobId.localeCompare(b.jobId));
  return entries;
}
