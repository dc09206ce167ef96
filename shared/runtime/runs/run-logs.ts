import path from 'node:path';
import { STAGES, childQueueOf, isChildQueue, isStageName } from '../../pipeline/stages/definitions';
import { QueueName } from '../flow/queue-names';
import { childJobs, stageJobId } from '../flow/job-types';
import { runDir, runKey } from '../../core/storage';
import { ArtifactNotFound, ArtifactStore } from '../../core/store/artifact-store';
import { RunsContext } from './context';
import { RunRecord } from './record';

/** The file a run's worker log lines are appended to (by the CLI's self-contained mode): JSON Lines. */
const RUN_LOG_FILE = 'logs.jsonl';

/** The run log's key in the artifact store: `runs/<id>/logs.jsonl`. */
export function runLogKey(runId: string): string {
  return runKey(runId, RUN_LOG_FILE);
}

/** The run log's file under a storage folder: where the file backend keeps runLogKey. */
export function runLogFile(storageDir: string, runId: string): string {
  return path.join(runDir(storageDir, runId), RUN_LOG_FILE);
}

/** One line of a run's log: when, which job (and its queue) wrote it, and the line itself. */
export interface RunLogLine {
  /** ISO time of the line (a job-log row without its own time takes its predecessor's) */
  at: string | null;
  jobId: string | null;
  queue: string | null;
  /** `<level> <message>` */
  line: string;
  /** `job`: the job's own log in Redis (Bull Board's Logs tab); `file`: `runs/<id>/logs.jsonl` */
  source: 'job' | 'file';
}

export interface RunLogs {
  id: string;
  /** lines before `limit` cut them */
  total: number;
  /** the last `limit` lines (all when no limit), oldest first */
  lines: RunLogLine[];
}

const ROW_TIME = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z)\s+([\s\S]*)$/;

/** Job-log rows (`<ISO time> <rest>`) as log lines; a row without a time takes the one before it. */
export function parseJobLogRows(rows: readonly string[], jobId: string, queue: string): RunLogLine[] {
  let last: string | null = null;
  const lines = rows.map((row): RunLogLine => {
    const m = ROW_TIME.exec(row);
    if (m) last = m[1]!;
    return { at: m ? m[1]! : last, jobId, queue, line: m ? m[2]! : row, source: 'job' };
  });
  // Rows before the first timed one take its time.
  const first = lines.find((l) => l.at !== null)?.at ?? null;
  for (const l of lines) if (l.at === null) l.at = first;
  return lines;
}

/**
 * The queue of a job from its logger's `stage` field: `text-processing/chunk-3` ran on `text-chunks`,
 * `training/search-2-fold-0` and `training/refit` on `training-search`.
 */
function queueOfStage(stage: unknown): string | null {
  if (typeof stage !== 'string') return null;
  const [head, sub] = stage.split('/');
  if (sub !== undefined && head !== undefined && isStageName(head)) return childQueueOf(head) ?? head;
  return head ?? null;
}

/** Extra fields of a JSON line that its job-log row shows after the message. */
const SCOPE_FIELDS = new Set([
  'timestamp',
  'level',
  'message',
  'runId',
  'stage',
  'jobId',
  'attempt',
  'worker',
]);

/** A JSON line of `logs.jsonl` (winston's JSON format) as a log line, or null when it is not one. */
function parseFileLogLine(text: string): RunLogLine | null {
  let entry: unknown;
  try {
    entry = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return null;
  const e = entry as Record<string, unknown>;
  if (typeof e.message !== 'string' || typeof e.level !== 'string') return null;
  const extra = Object.fromEntries(Object.entries(e).filter(([k]) => !SCOPE_FIELDS.has(k)));
  const extraText = Object.keys(extra).length > 0 ? ` ${JSON.stringify(extra)}` : '';
  return {
    at: typeof e.timestamp === 'string' ? e.timestamp : null,
    jobId: typeof e.jobId === 'string' ? e.jobId : null,
    queue: queueOfStage(e.stage),
    line: `${e.level} ${e.message}${extraText}`,
    source: 'file',
  };
}

/** Every job a run may have had: its stage jobs of every generation and (unless left out) their chunk jobs. */
async function runJobs(
  ctx: RunsContext,
  record: RunRecord,
  withChunks: boolean,
): Promise<{ queue: QueueName; jobId: string }[]> {
  const jobs: { queue: QueueName; jobId: string }[] = [];
  for (let g = 1; g <= Math.max(1, record.generation); g++) {
    for (const stage of STAGES) {
      jobs.push({ queue: stage, jobId: stageJobId(record.id, stage, g) });
      if (!withChunks || childQueueOf(stage) === undefined) continue;
      // A fanning-out job stores how many children it planned in its data; the record keeps the count
      // when the job is gone.
      const parent = await ctx.queues[stage].getJob(stageJobId(record.id, stage, g));
      const planned = (parent?.data as { chunks?: number } | undefined)?.chunks;
      const own = record.stages.find((s) => s.stage === stage);
      const children = planned ?? (own?.generation === g && own.chunks ? own.chunks.total : 0);
      for (const ref of childJobs(record.id, stage, g, children, parent?.attemptsStarted))
        jobs.push({ queue: ref.queue, jobId: ref.jobId });
    }
  }
  return jobs;
}

async function readFileLines(store: ArtifactStore, key: string): Promise<RunLogLine[]> {
  let text: string;
  try {
    text = (await store.get(key)).toString('utf8');
  } catch (err) {
    if (err instanceof ArtifactNotFound) return [];
    throw err;
  }
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map(parseFileLogLine)
    .filter((l): l is RunLogLine => l !== null);
}

/** Job-log reads in flight at once: a run may have thousands of chunk jobs. */
const BATCH = 200;

/**
 * A run's log: the rows of every job's own log (BullMQ `getJobLogs`) and the lines of
 * `runs/<id>/logs.jsonl` when present (a line found in both is shown once, from the job), merged in time
 * order (a job's rows keep their order). Null for an unknown run. `limit` keeps the last lines;
 * `withChunks: false` leaves chunk jobs out (a big run has thousands of them).
 */
export async function readRunLogs(
  ctx: RunsContext,
  runId: string,
  opts: { limit?: number; withChunks?: boolean } = {},
): Promise<RunLogs | null> {
  const record = await ctx.store.read(runId);
  if (!record) return null;
  const withChunks = opts.withChunks ?? true;
  const jobs = await runJobs(ctx, record, withChunks);
  const fromJobs: RunLogLine[] = [];
  for (let i = 0; i < jobs.length; i += BATCH) {
    const batch = jobs.slice(i, i + BATCH);
    const logs = await Promise.all(batch.map((j) => ctx.queues[j.queue].getJobLogs(j.jobId)));
    batch.forEach((j, b) => fromJobs.push(...parseJobLogRows(logs[b]!.logs, j.jobId, j.queue)));
  }
  const key = (l: RunLogLine) => `${l.jobId ?? ''}\u0000${l.at ?? ''}\u0000${l.line}`;
  const seen = new Set(fromJobs.map(key));
  const fromFile = (await readFileLines(ctx.artifacts, runLogKey(runId))).filter(
    (l) => !seen.has(key(l)) && (withChunks || l.queue === null || !isChildQueue(l.queue)),
  );
  // Stable: lines with the same time keep the order they were read in (each job's rows in order).
  const all = [...fromJobs, ...fromFile]
    .map((l, i) => ({ l, i }))
    .sort((a, b) => compareAt(a.l.at, b.l.at) || a.i - b.i)
    .map(({ l }) => l);
  const lines = opts.limit !== undefined ? all.slice(Math.max(0, all.length - opts.limit)) : all;
  return { id: runId, total: all.length, lines };
}

function compareAt(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  return a < b ? -1 : 1;
}
