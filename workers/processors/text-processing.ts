import { Job, Queue, QueueEvents } from 'bullmq';
import { TicketflowConfig } from '../../shared/core/config/config';
import { StageJobData, TextProcessingJobResult } from '../../shared/runtime/flow/job-types';
import { ARTIFACTS, StageContext, artifactKey, writtenByOwnCode } from '../../shared/pipeline/stages/context';
import {
  firstChunks,
  mergeChunks,
  removeChunkFiles,
  sumStats,
} from '../../shared/pipeline/stages/text-processing';
import {
  chunkStatsKey,
  chunksPrefix,
  ChunkStatsFile,
} from '../../shared/pipeline/stages/text-processing/chunk-files';
import { planVerified } from '../../shared/core/dataset/verify-dataset';
import { ChunkPlan } from '../../shared/core/dataset/plan-chunks';
import { ArtifactNotFound } from '../../shared/core/store/artifact-store';
import { ReadStats } from '../../shared/core/dataset/read-tickets';
import { openJobDataset } from './dataset-path';
import { runLogged } from './stage-context';
import { failOnceIfAsked } from './fault-injection';
import { noteSplit, waitForChildren } from './fan-out';
import { CHILD_POLL_MS, childFinishedPolled } from './child-finished';
import { ChunkDispatch } from './chunk-dispatch';
import { stageCodeIdentity } from '../../shared/runtime/runs/code-identity';

/**
 * Stage 1 as a parent job. The split scans the dataset for record boundaries (no parsing) and adds one
 * child job per byte range of `chunkSize` records to the chunk queue as soon as the scan has found it; any
 * worker may take a chunk, which reads, validates and tags only its own range. A chunk whose output an
 * earlier generation of the run left in storage is not added again. Meanwhile the job joins the chunks'
 * rows in input order into `tickets.csv` as they complete, summing their counts (from the chunks' files,
 * so reused chunks count too); once the split has ended its step is "merging". An activation cut short
 * while merging resumes in two steps: it waits for the chunks still running (BullMQ's
 * WaitingChildrenError pattern), then step "merge" joins them; one cut short during the split splits
 * again (chunk job ids are deterministic). The split hashes the file as it scans it and fails when the
 * bytes are not those the run's record names; each chunk checks that the file it reads is still the one
 * the split began on (verify-dataset.ts). The merge reads only the chunks' output. Runs inline (not
 * sandboxed): it streams files and awaits Redis, so the event loop stays free to renew the job's lock.
 */
export function textProcessingProcessor(
  config: TicketflowConfig,
  chunkQueue: Queue,
  events: () => QueueEvents,
) {
  // One completion listener per running chunk, hundreds at a time: not a leak.
  chunkQueue.setMaxListeners(0);
  // Three parameters: BullMQ then hands over an abort signal, which a cancelled run's worker aborts.
  return async (
    job: Job<StageJobData>,
    token?: string,
    signal?: AbortSignal,
  ): Promise<TextProcessingJobResult> => {
    return runLogged(
      job,
      'text-processing',
      async (stageCtx) => {
        // The code this process runs: its chunks refuse another build's worker, and reuse its files only.
        const ctx = { ...stageCtx, code: stageCodeIdentity('text-processing') };
        if (job.data.step !== 'merge' && job.data.step !== 'merging') {
          await failOnceIfAsked(ctx, 'text-processing');
          return splitAndMerge(ctx, job, token!, { config, chunkQueue, events: events(), signal });
        }
        if (job.data.step === 'merging') {
          // An activation that was merging as the chunks completed ended before it finished (a crash, a
          // stall): the chunks may still run. Wait for them as a fan-out parent does, then merge.
          await job.updateData({ ...job.data, step: 'merge' });
          await waitForChildren(job, token!, chunkQueue);
        }
        return merge(ctx, job);
      },
      signal,
    );
  };
}

async function merge(ctx: StageContext, job: Job<StageJobData>): Promise<TextProcessingJobResult> {
  const { chunks } = job.data;
  if (chunks === undefined)
    throw new Error(`text-processing job ${job.id} reached merge without its split results`);
  const chunksLeft = (await ctx.store.list(chunksPrefix(ctx))).length > 0;
  let stats: ReadStats;
  if (chunksLeft || (await ctx.store.stat(artifactKey(ctx, ARTIFACTS.tickets))) === undefined) {
    stats = (
      await mergeChunks(
        ctx,
        firstChunks(chunks, (c) => readStats(ctx, c)),
      )
    ).stats;
    await removeChunkFiles(ctx);
  } else {
    // A retry after a finished merge finds tickets.csv in place and the chunk files already removed.
    stats = sumStats(Object.values(await job.getChildrenValues<{ stats: ReadStats }>()).map((r) => r.stats));
  }
  const seconds = (Date.now() - (job.data.startedAt ?? Date.now())) / 1000;
  return { tickets: ARTIFACTS.tickets, rows: stats.kept, chunks, stats, seconds };
}

async function readStats(ctx: StageContext, chunk: number): Promise<ReadStats> {
  const key = chunkStatsKey(ctx, chunk);
  const file = await ctx.store.getJson<ChunkStatsFile>(key).catch((err: unknown) => {
    // The store unreachable (its own message names where) is not a chunk without output: a retry may
    // find it back.
    if (!(err instanceof ArtifactNotFound)) throw err;
    throw new Error(
      `text-processing of run ${ctx.runId}: chunk ${chunk} has no output (${key} in ${ctx.store.url})`,
      { cause: err },
    );
  });
  // A chunk job an activation of this stage on another build added (before a deploy moved the stage) ran
  // on that build: its rows are not joined with this build's. Its job id is taken in this generation, so
  // the run's retry, a new generation, is what recomputes it.
  if (!writtenByOwnCode(file.code, ctx))
    throw new Error(
      `text-processing of run ${ctx.runId}: chunk ${chunk} was written by code ${file.code?.slice(0, 12) ?? 'in-process'}, this stage runs ${ctx.code?.slice(0, 12) ?? 'in-process'}: a deploy changed the build during stage 1; retry the run once one build serves it`,
    );
  return file.stats;
}

/**
 * The split and the merge at once. The split scans the dataset (hashing it) and adds each chunk's job as
 * soon as the scan has found its range (ChunkDispatch); the merge appends each chunk's rows to tickets.csv
 * as soon as it and every chunk before it are done (chunks an earlier attempt left are there already). So
 * workers tag the first chunks while the file is still read, and at 1.6M tickets the ~10 s of copying
 * runs alongside the chunks' tagging instead of after it. The job stays active meanwhile (it awaits its
 * children as a block stage does: their completion events, and the state of the one merged next), and
 * completes once the merge is in place. A split that fails (bad input part-way, a dataset that changed)
 * fails the job with its own error; the chunks it had added and that have not started are removed.
 */
async function splitAndMerge(
  ctx: StageContext,
  job: Job<StageJobData>,
  token: string,
  opts: { config: TicketflowConfig; chunkQueue: Queue; events: QueueEvents; signal?: AbortSignal },
): Promise<TextProcessingJobResult> {
  const { config, chunkQueue, events, signal } = opts;
  const startedAt = Date.now();
  const dispatch = new ChunkDispatch(ctx, job, config, { queue: chunkQueue, events });
  const onAbort = () => void dispatch.stop(signal!.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const merging = mergeChunks(ctx, async (c) => {
      const source = await dispatch.of(c);
      if (source === null) return null;
      // The chunk awaited now is also polled, in case its completion event was missed (child-finished.ts).
      if (source !== 'stored')
        await Promise.race([
          childFinishedPolled(source, events, chunkQueue, CHILD_POLL_MS, dispatch.completion(c)),
          dispatch.failed,
        ]);
      return readStats(ctx, c);
    });
    merging.catch(() => undefined);
    let plan: ChunkPlan;
    try {
      const dataset = await openJobDataset(config, job.data.dataset);
      // The bytes planned are hashed on the way and must be the record's (verify-dataset.ts).
      const expected = { sha256: job.data.datasetSha256, bytes: job.data.datasetBytes };
      ({ plan } = await planVerified(dataset, expected, ctx.params.chunkSize, {
        onChunk: (chunk) => dispatch.found(chunk),
      }).finally(() => dataset.close()));
      await dispatch.end(plan.chunks.length);
    } catch (err) {
      await dispatch.stop(err);
      // A cancelled run's queued jobs are the cancel's to remove.
      if (!signal?.aborted) await dispatch.removeQueued();
      await merging.catch(() => undefined);
      throw err;
    }
    await noteSplit(job, 'merging', {
      plan,
      added: dispatch.added,
      startedAt,
      chunkSize: ctx.params.chunkSize,
      log: ctx.log,
    });
    const { stats, chunks } = await merging;
    await removeChunkFiles(ctx);
    // Every child has completed; should BullMQ still count one pending, the job waits for it, and its next
    // activation (step "merging") finds tickets.csv in place.
    await waitForChildren(job, token, chunkQueue);
    const seconds = (Date.now() - startedAt) / 1000;
    return { tickets: ARTIFACTS.tickets, rows: stats.kept, chunks, stats, seconds };
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
