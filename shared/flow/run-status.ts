import { Job } from 'bullmq';
import { STAGES, StageName, isQueueName } from '../config/stages';
import { Queues } from './queues';
import { StageJobData, stageJobId } from './job-types';
import { MetricsFile } from '../stages/training';

export type RunState = 'waiting' | 'active' | 'completed' | 'failed';

export interface StageStatus {
  stage: StageName;
  jobId: string;
  /** BullMQ's own state: waiting-children, waiting, delayed, active, completed, failed, ... */
  state: string;
  attemptsMade: number;
  maxAttempts: number;
  progress: number;
  startedAt: string | null;
  finishedAt: string | null;
  seconds: number | null;
  failedReason: string | null;
  tags: readonly string[];
  /** the worker that ran it last: "ticketflow-worker@<host>:<pid>" */
  worker: string | null;
  /** text processing: chunk jobs done / total */
  chunks?: { total: number; completed: number; failed: number };
  result?: unknown;
}

export interface RunStatus {
  id: string;
  state: RunState;
  dataset: string;
  params: StageJobData['params'];
  createdAt: string;
  finishedAt: string | null;
  stages: StageStatus[];
  /** the first failure in flow order (a chunk's own message when a chunk failed) */
  error: { stage: StageName; message: string } | null;
  metrics: MetricsFile | null;
}

const iso = (ms: number | undefined): string | null => (ms ? new Date(ms).toISOString() : null);

async function stageStatus(job: Job<StageJobData>, stage: StageName, state: string): Promise<StageStatus> {
  const status: StageStatus = {
    stage,
    jobId: job.id!,
    state,
    attemptsMade: job.attemptsMade,
    maxAttempts: job.opts.attempts ?? 1,
    progress: typeof job.progress === 'number' ? job.progress : 0,
    startedAt: iso(job.data.startedAt ?? job.processedOn),
    finishedAt: state === 'completed' || state === 'failed' ? iso(job.finishedOn) : null,
    seconds:
      job.processedOn && job.finishedOn && state === 'completed'
        ? (job.finishedOn - job.processedOn) / 1000
        : null,
    failedReason: job.failedReason || null,
    tags: job.data.tags,
    worker: job.processedBy ?? null,
  };
  if (state === 'completed') {
    status.result = job.returnvalue;
    // a stage's own timing; text processing's job is re-activated for its merge step
    const own = (job.returnvalue as { seconds?: unknown } | null)?.seconds;
    if (typeof own === 'number') status.seconds = own;
  }
  if (stage === 'text-processing' && job.data.chunks !== undefined) {
    const counts = await job.getDependenciesCount();
    const failed = (counts.failed ?? 0) + (counts.ignored ?? 0);
    status.chunks = { total: job.data.chunks, completed: counts.processed ?? 0, failed };
    if (state !== 'completed') {
      status.progress = Math.round((100 * (counts.processed ?? 0)) / Math.max(1, job.data.chunks));
    }
  }
  return status;
}

/**
 * BullMQ fails a parent whose child failed (failParentOnFailure) with "child <prefix>:<queue>:<id>
 * failed". Follow such messages down to the job that failed on its own, whose message says why.
 */
async function rootCause(queues: Queues, reason: string | null): Promise<string | null> {
  for (let depth = 0; reason && depth < 10; depth++) {
    const m = /^child .*:([^:]+):([^:]+) failed$/.exec(reason);
    if (!m || !isQueueName(m[1]!)) return reason;
    const child = await queues[m[1]!].getJob(m[2]!);
    if (!child?.failedReason) return reason;
    reason = child.failedReason;
  }
  return reason;
}

/** The state of a run, read from its stage jobs; null when no job of that run exists. */
export async function getRunStatus(queues: Queues, runId: string): Promise<RunStatus | null> {
  // States first, then jobs: a job read after its state is at least as new, so a "completed" state
  // always comes with its finish time and return value.
  const states = await Promise.all(STAGES.map((s) => queues[s].getJobState(stageJobId(runId, s))));
  const jobs = await Promise.all(
    STAGES.map((s) => queues[s].getJob(stageJobId(runId, s)) as Promise<Job<StageJobData> | undefined>),
  );
  const root = jobs[jobs.length - 1];
  if (!root || jobs.some((j) => !j)) return null;
  const stages = await Promise.all(jobs.map((j, i) => stageStatus(j!, STAGES[i]!, states[i]!)));
  for (const s of stages) s.failedReason = await rootCause(queues, s.failedReason);
  const failed = stages.find((s) => s.state === 'failed' || (s.chunks?.failed ?? 0) > 0);
  let state: RunState;
  if (failed) state = 'failed';
  else if (stages[stages.length - 1]!.state === 'completed') state = 'completed';
  else if (stages.some((s) => s.state === 'active' || s.startedAt !== null)) state = 'active';
  else state = 'waiting';
  const rootResult = root.returnvalue as { metrics?: MetricsFile } | undefined;
  return {
    id: runId,
    state,
    dataset: root.data.dataset,
    params: root.data.params,
    createdAt: root.data.createdAt,
    finishedAt: state === 'completed' || state === 'failed' ? latest(stages) : null,
    stages,
    error: failed ? { stage: failed.stage, message: failed.failedReason ?? 'failed' } : null,
    metrics: state === 'completed' ? (rootResult?.metrics ?? null) : null,
  };
}

function latest(stages: StageStatus[]): string | null {
  const times = stages
    .map((s) => s.finishedAt)
    .filter((t): t is string => t !== null)
    .sort();
  return times[times.length - 1] ?? null;
}

export interface RunSummary {
  id: string;
  createdAt: string;
  dataset: string;
}

/** Recent runs, newest first, from the root (training) queue. */
export async function listRuns(queues: Queues, limit = 50): Promise<RunSummary[]> {
  const jobs = (await queues.training.getJobs(
    ['waiting-children', 'waiting', 'delayed', 'prioritized', 'active', 'completed', 'failed'],
    0,
    -1,
  )) as Job<StageJobData>[];
  return jobs
    .filter((j) => j?.data?.runId)
    .sort((a, b) => b.timestamp - a.timestamp || (a.id! < b.id! ? 1 : -1))
    .slice(0, limit)
    .map((j) => ({ id: j.data.runId, createdAt: j.data.createdAt, dataset: j.data.dataset }));
}
