import { Job } from 'bullmq';
import { STAGES, StageName } from '../../pipeline/stages/definitions';
import { hashFile } from '../../core/dataset/hash-file';
import { aliasesOf, dropAliasesOf } from './model-aliases';
import { buildRunFlow } from '../flow/build-flow';
import { childJobs, StageJobData, stageJobId } from '../flow/job-types';
import { runPrefix } from '../../core/storage';
import { removeChunkOutputs, removeAbandonedWrites } from './cleanup';
import { RunsContext } from './context';
import { deriveRunFields, isDone, isFinal, RunRecord, summarise } from './record';
import { withLock } from './run-lock';
import { logLost } from '../../core/logger';

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
 * `datasetFile` is the dataset as this process reads it, to check it is unchanged when stage 1 reruns;
 * `hash` digests it (the API passes its hash cache, warmed before its Redis deadline starts).
 */
export async function retryRun(
  ctx: RunsContext,
  runId: string,
  datasetFile: string | null,
  hash: (file: string) => Promise<{ sha256: string }> = hashFile,
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
      const now = await hash(datasetFile).catch(
        logLost(`hashing the dataset ${datasetFile} for run ${runId}'s retry`),
      );
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
    // The record first: storage that refuses it (read-only, full) leaves the run as it was.
    await ctx.store.write(next);
    await ctx.redis.del(ctx.keys.cancelled(runId));
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
          code: Object.fromEntries(record.stages.flatMap((s) => (s.code ? [[s.stage, s.code]] : []))),
          datasetSha256: record.datasetSha256,
          codeVersion: record.codeVersion,
        },
        first,
      ),
    );
    return next;
  });
}

/**
 * Queued jobs go one by one, from the root down (so removing a child never releases its parent to a
 * worker), each without its tree: the jobs the cancel stopped stay, failed, for the board to show.
 */
async function removeQueuedJobs(jobs: Job[], runId: string): Promise<void> {
  for (const job of [...jobs].reverse()) {
    const state = await job.getState();
    if (state !== 'active' && state !== 'completed' && state !== 'failed' && state !== 'unknown') {
      // A parent still waiting for its children (the failure of a stopped child not yet cascaded up to
      // it) would otherwise take its whole tree with it, stopped jobs too; its queued children are in
      // `jobs`, removed in their turn.
      await job.remove({ removeChildren: false }).catch(logLost(`removing job ${job.id} of run ${runId}`));
    }
  }
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
    // The record first: storage that cannot take it (read-only, full) refuses the cancel before anything
    // else changed, so a refused cancel leaves no flag that would later fail the run.
    await ctx.store.write(next);
    await ctx.redis.set(ctx.keys.cancelled(runId), '1', 'EX', CANCEL_FLAG_SECONDS);
    await ctx.redis.publish(ctx.keys.cancelChannel, runId);
    return next;
  });
  let jobs = await runJobs(ctx, record, record.generation);
  const deadline = Date.now() + waitMs;
  let stillActive: Job[];
  // A worker freed by a stopped job may take a queued job of the run before it is removed; that job
  // fails at once on the flag, so wait and remove again until none is active after a removal. A stage
  // job that had not stopped yet may also have added children meanwhile (stage 1 adds its chunks while
  // it scans the dataset): the jobs are listed again after each removal, until no new one appears.
  for (;;) {
    while ((await activeJobs(jobs)).length > 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 25));
    await removeQueuedJobs(jobs, runId);
    const known = new Set(jobs.map((j) => `${j.queueName}/${j.id}`));
    jobs = await runJobs(ctx, record, record.generation);
    const added = jobs.some((j) => !known.has(`${j.queueName}/${j.id}`));
    stillActive = await activeJobs(jobs);
    if ((stillActive.length === 0 && !added) || Date.now() >= deadline) break;
  }
  const stoppedSeconds = (performance.now() - started) / 1000;
  if (stillActive.length === 0) {
    // Tidying only: the cancel is done whether or not storage lets these files go now.
    const where = `${runPrefix(runId)} of ${ctx.artifacts.url}`;
    await removeChunkOutputs(ctx.artifacts, runId).catch(logLost(`removing the chunk outputs in ${where}`));
    await removeAbandonedWrites(ctx.artifacts, runId).catch(logLost(`removing temporary files in ${where}`));
  }
  return { record, stoppedSeconds };
}

export interface DeleteOptions {
  /** also remove the aliases that name the run; without it a run that an alias names is refused */
  force?: boolean;
  /** how long to wait for the run's lock before LockBusy (default: the lock's lifetime and more) */
  lockWaitMs?: number;
}

export interface DeleteResult {
  /** the aliases that named the run, removed with it */
  aliasesRemoved: string[];
  /** true: this finished a delete that had begun before (and was cut short) */
  resumed: boolean;
}

/**
 * Delete a final run: its jobs (every generation), its stage cache entries, its record and artifacts, its
 * index entries. Other runs that reused its artifacts keep theirs (hard links, or copies). A run that an
 * alias names is refused (RunConflict naming the aliases) unless `force`, which removes those aliases.
 *
 * Restartable: the run is first marked in Redis (listed as `deleting`, gone for every reader), then its
 * aliases, jobs, cache entries and folder go, and its index entry with the mark last. A delete cut short
 * (its process died) is finished by the next delete of the run, or by sweepDeletes when an API starts.
 */
export async function deleteRun(
  ctx: RunsContext,
  runId: string,
  opts: DeleteOptions = {},
): Promise<DeleteResult> {
  return withLock(
    ctx.redis,
    ctx.keys.lock(runId),
    async () => {
      let mark = await ctx.store.deletion(runId);
      const resumed = mark !== null;
      if (mark === null) {
        const record = await ctx.store.readStored(runId);
        if (record) {
          if (!isFinal(record.state)) {
            throw new RunConflict(
              `run ${runId} is ${record.state}: cancel it first (POST /runs/${runId}/cancel)`,
            );
          }
          const aliases = await aliasesOf(ctx.redis, ctx.keys, runId);
          if (aliases.length > 0 && !opts.force) throw aliasConflict(runId, aliases);
          mark = await ctx.store.markDeleting(summarise(record), record.generation);
        } else {
          // No record and no mark: only what a delete cut short outside this protocol leaves (an index entry
          // naming a missing record, a doomed folder) is there to finish.
          const summary = await ctx.store.summary(runId);
          const doomed = (await ctx.store.removalsCutShort()).includes(runId);
          if (summary === null && !doomed) throw new NoSuchRun(runId);
          if (summary !== null) mark = await ctx.store.markDeleting(summary, null);
        }
      }
      const aliasesRemoved = await dropAliasesOf(ctx.redis, ctx.keys, runId);
      await removeAllJobs(ctx, runId, mark?.generation ?? null);
      await ctx.cache.forgetRun(runId);
      await ctx.store.removeFiles(runId);
      if (mark !== null) await ctx.store.unindex(runId, mark.createdAt);
      await ctx.redis.del(ctx.keys.cancelled(runId));
      return { aliasesRemoved, resumed };
    },
    opts.lockWaitMs,
  );
}

function aliasConflict(runId: string, aliases: string[]): RunConflict {
  const names = aliases.map((a) => JSON.stringify(a)).join(', ');
  const them = aliases.length === 1 ? 'it' : 'them';
  return new RunConflict(
    `run ${runId} is the model of alias${aliases.length === 1 ? '' : 'es'} ${names}: point ${them} at another run first (PUT /models/aliases/<name>), or delete with ?force=1 (ticketflow delete --force), which removes ${them} too`,
  );
}

/** Jobs of every generation up to `generation`; unknown (null): generations from 1 until one has none. */
async function removeAllJobs(ctx: RunsContext, runId: string, generation: number | null): Promise<void> {
  for (let g = 1; generation === null || g <= generation; g++) {
    const jobs = await runJobs(ctx, { id: runId }, g);
    if (generation === null && jobs.length === 0) return;
    for (const job of jobs)
      await job.remove({ removeChildren: true }).catch(logLost(`removing job ${job.id} of run ${runId}`));
  }
}

export interface SweepResult {
  /** runs whose delete, cut short earlier, this finished */
  finished: string[];
  /** runs whose delete could not be finished (e.g. storage read-only), with why */
  failed: { runId: string; error: string }[];
}

/**
 * Finish every delete that was cut short: runs marked as deleting, and doomed folders
 * (`runs/.deleting-<id>-<random>`) that a delete left. An API runs it when it starts.
 */
export async function sweepDeletes(ctx: RunsContext): Promise<SweepResult> {
  const result: SweepResult = { finished: [], failed: [] };
  const doomed = await ctx.store.removalsCutShort();
  const ids = new Set([...(await ctx.store.deletingIds()), ...doomed]);
  for (const runId of ids) {
    try {
      if ((await ctx.store.deletion(runId)) === null && (await ctx.store.readStored(runId)) !== null) {
        // A run that exists and is not being deleted: only the stray folder goes.
        await ctx.store.finishRemovals(runId);
        continue;
      }
      await deleteRun(ctx, runId);
      result.finished.push(runId);
    } catch (err) {
      if (err instanceof NoSuchRun) continue; // finished meanwhile by another process
      result.failed.push({ runId, error: (err as Error).message });
    }
  }
  return result;
}

/** The jobs of one generation of a run that still exist: its stage jobs and their child jobs. */
async function runJobs(ctx: RunsContext, record: Pick<RunRecord, 'id'>, generation: number): Promise<Job[]> {
  const jobs: Job[] = [];
  for (const stage of STAGES) {
    const job = (await ctx.queues[stage].getJob(stageJobId(record.id, stage, generation))) as
      Job<StageJobData> | undefined;
    if (!job) continue;
    for (const ref of childJobs(record.id, stage, generation, job.data.chunks ?? 0, job.attemptsStarted)) {
      const child = await ctx.queues[ref.queue].getJob(ref.jobId);
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
