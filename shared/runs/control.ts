import { Job } from 'bullmq';
import { STAGES, StageName } from '../config/stages';
import { hashFile } from '../dataset/hash-file';
import { buildRunFlow } from '../flow/build-flow';
import { childJob, StageJobData, stageJobId } from '../flow/job-types';
import { runDir } from '../storage';
import { removeChunkOutputs, removeTemporaryFiles } from './cleanup';
import { RunsContext } from './context';
import { deriveRunFields, isDone, isFinal, RunRecord } from './record';
import { withLock } from './run-lock';

/** A request that the run's state does not allow (→ 409), or a run that does not exist (→ 404). */
export class RunConflict extends Error {
  override readonly name = 'RunConflict';
}
export class NoSuchRun extends Error {
  override readonly name = 'NoSuchRun';
  constructor(runId: string) {
    super(`no run with id ${JSON.stringify(runId)}`);
  }
}

/** How long a cancelled run's flag keeps late jobs of it from starting. */
const CANCEL_FLAG_SECONDS = 7 * 86400;

/**
 * Retry a failed or cancelled run from its first stage that is not done: the same run id goes on with
 * a new generation of jobs for the remaining stages (BullMQ cannot revive a failed parent). Stages done
 * stay as they are; text processing reuses every chunk whose output is in storage.
 * `datasetFile` is the dataset as this process reads it, to check it is unchanged when stage 1 reruns.
 */
export async function retryRun(
  ctx: RunsContext,
  runId: string,
  datasetFile: string | null,
): Promise<RunRecord> {
  return withLock(ctx.redis, ctx.keys.lock(runId), async () => {
    const record = await ctx.store.read(runId);
    if (!record) throw new NoSuchRun(runId);
    if (record.state !== 'failed' && record.state !== 'cancelled') {
      throw new RunConflict(`run ${runId} is ${record.state}: only a failed or cancelled run can be retried`);
    }
    const firstIndex = record.stages.findIndex((s) => !isDone(s));
    const first = STAGES[firstIndex] as StageName;
    if (first === STAGES[0] && datasetFile !== null) {
      const now = await hashFile(datasetFile).catch(() => null);
      if (now?.sha256 !== record.datasetSha256) {
        throw new RunConflict(
          `the dataset ${record.dataset} ${now ? 'changed' : 'is gone'} since run ${runId} was created (SHA-256 ${record.datasetSha256}): start a new run`,
        );
      }
    }
    const generation = record.generation + 1;
    const at = new Date().toISOString();
    const stages = record.stages.map((s, i) =>
      i < firstIndex
        ? s
        : {
            ...s,
            state: 'pending' as const,
            rawState: null,
            jobId: stageJobId(runId, s.stage, generation),
            generation,
            attemptsMade: 0,
            attemptsStarted: 0,
            stalls: 0,
            progress: 0,
            startedAt: null,
            finishedAt: null,
            seconds: null,
            failedReason: null,
            result: null,
            cached: false,
            cachedFrom: null,
            chunks: undefined,
          },
    );
    const next = deriveRunFields(
      {
        ...record,
        state: 'waiting',
        startedAt: null,
        finishedAt: null,
        generation,
        stages,
        events: [
          ...record.events,
          { at, event: 'retried', detail: `generation ${generation}, from ${first}` },
        ],
      },
      new Date(),
    );
    await ctx.redis.del(ctx.keys.cancelled(runId));
    await ctx.store.write(next);
    const cacheKeys = Object.fromEntries(record.stages.map((s) => [s.stage, s.cacheKey])) as Record<
      StageName,
      string
    >;
    await ctx.flowProducer.add(
      buildRunFlow(
        ctx.config,
        {
          runId,
          dataset: record.dataset,
          params: record.params,
          createdAt: record.createdAt,
          generation,
          cacheKeys,
          datasetSha256: record.datasetSha256,
          codeVersion: record.codeVersion,
        },
        first,
      ),
    );
    return next;
  });
}

export interface CancelResult {
  record: RunRecord;
  /** how long until no job of the run was active any more */
  stoppedSeconds: number;
}

/**
 * Cancel a run: mark it cancelled, tell every worker (pub/sub: a job's own worker is the only one that
 * can stop it; sandboxed children are killed), wait until none of its jobs is active, remove its jobs
 * that are still queued, and clean its temporary files. Late jobs of the run fail at once on the flag.
 */
export async function cancelRun(ctx: RunsContext, runId: string, waitMs = 5000): Promise<CancelResult> {
  const started = performance.now();
  const record = await withLock(ctx.redis, ctx.keys.lock(runId), async () => {
    const current = await ctx.store.read(runId);
    if (!current) throw new NoSuchRun(runId);
    if (current.state === 'cancelled') return current;
    if (isFinal(current.state))
      throw new RunConflict(`run ${runId} is already ${current.state}: nothing to cancel`);
    await ctx.redis.set(ctx.keys.cancelled(runId), '1', 'EX', CANCEL_FLAG_SECONDS);
    await ctx.redis.publish(ctx.keys.cancelChannel, runId);
    const at = new Date().toISOString();
    const next = deriveRunFields(
      {
        ...current,
        state: 'cancelled',
        finishedAt: at,
        stages: current.stages.map((s) => (isDone(s) ? s : { ...s, state: 'cancelled' as const })),
        events: [...current.events, { at, event: 'cancelled' }],
      },
      new Date(),
    );
    await ctx.store.write(next);
    return next;
  });
  const jobs = await runJobs(ctx, record, record.generation);
  const deadline = Date.now() + waitMs;
  while ((await activeJobs(jobs)).length > 0 && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 25));
  const stillActive = await activeJobs(jobs);
  const stoppedSeconds = (performance.now() - started) / 1000;
  // Queued jobs go: the root with its whole tree when it can, then whatever is left one by one (from
  // the root down, so removing a child never releases its parent to a worker).
  for (const job of [...jobs].reverse()) {
    const state = await job.getState();
    if (state !== 'active' && state !== 'completed' && state !== 'failed' && state !== 'unknown') {
      await job.remove({ removeChildren: true }).catch(() => undefined);
    }
  }
  if (stillActive.length === 0) {
    const dir = runDir(ctx.config.storageDir, runId);
    await removeChunkOutputs(dir);
    await removeTemporaryFiles(dir);
  }
  return { record, stoppedSeconds };
}

/**
 * Delete a final run: its jobs (every generation), its stage cache entries, its record and artifacts,
 * its index entries. Other runs that reused its artifacts keep theirs (hard links, or copies).
 */
export async function deleteRun(ctx: RunsContext, runId: string): Promise<void> {
  await withLock(ctx.redis, ctx.keys.lock(runId), async () => {
    const record = await ctx.store.read(runId);
    if (!record) throw new NoSuchRun(runId);
    if (!isFinal(record.state)) {
      throw new RunConflict(`run ${runId} is ${record.state}: cancel it first (POST /runs/${runId}/cancel)`);
    }
    for (let g = 1; g <= record.generation; g++) {
      for (const job of await runJobs(ctx, record, g))
        await job.remove({ removeChildren: true }).catch(() => undefined);
    }
    await ctx.cache.forgetRun(runId);
    await ctx.store.remove(record);
    await ctx.redis.del(ctx.keys.cancelled(runId));
  });
}

/** The jobs of one generation of a run that still exist: its stage jobs and their child jobs. */
async function runJobs(ctx: RunsContext, record: RunRecord, generation: number): Promise<Job[]> {
  const jobs: Job[] = [];
  for (const stage of STAGES) {
    const job = (await ctx.queues[stage].getJob(stageJobId(record.id, stage, generation))) as
      Job<StageJobData> | undefined;
    if (!job) continue;
    for (let c = 0; c < (job.data.chunks ?? 0); c++) {
      const ref = childJob(record.id, stage, c, generation);
      const child = ref && (await ctx.queues[ref.queue].getJob(ref.jobId));
      if (child) jobs.push(child);
    }
    jobs.push(job);
  }
  return jobs;
}

async function activeJobs(jobs: Job[]): Promise<Job[]> {
  const states = await Promise.all(jobs.map((j) => j.getState()));
  return jobs.filter((_, i) => states[i] === 'active');
}
