import { Job, Queue, QueueEvents } from 'bullmq';
import { TicketflowConfig } from '../../shared/core/config/config';
import { CHUNK_QUEUE } from '../../shared/pipeline/stages/text-processing/definition';
import { nodeOptions } from '../../shared/runtime/flow/build-flow';
import {
  ChunkJobData,
  StageJobData,
  TextProcessingJobResult,
  chunkJobId,
} from '../../shared/runtime/flow/job-types';
import { ARTIFACTS, StageContext, artifactKey } from '../../shared/pipeline/stages/context';
import {
  mergeChunks,
  readChunkStats,
  removeChunkFiles,
  sumStats,
} from '../../shared/pipeline/stages/text-processing';
import {
  chunkStatsKey,
  chunksPrefix,
  ChunkStatsFile,
} from '../../shared/pipeline/stages/text-processing/chunk-files';
import { planVerified } from '../../shared/core/dataset/verify-dataset';
import { ArtifactNotFound } from '../../shared/core/store/artifact-store';
import { ReadStats } from '../../shared/core/dataset/read-tickets';
import { openJobDataset } from './dataset-path';
import { runLogged } from './stage-context';
import { failOnceIfAsked } from './fault-injection';
import { noteSplit, waitForChildren } from './fan-out';
import { CHILD_POLL_MS, childFinished, childFinishedPolled } from './child-finished';

/**
 * Stage 1 as a parent job. The split scans the dataset for record boundaries (no parsing) and adds one
 * child job per byte range of `chunkSize` records to the chunk queue; any worker may take a chunk, which
 * reads, validates and tags only its own range. A chunk whose output an earlier generation of the run left
 * in storage is not added again. The job then stays active ("merging") and joins the chunks' rows in input
 * order into `tickets.csv` as they complete, summing their counts (from the chunks' files, so reused chunks
 * count too). An activation cut short while merging resumes in two steps: it waits for the chunks still
 * running (BullMQ's WaitingChildrenError pattern), then step "merge" joins them. The split hashes the file
 * as it scans it and fails when the bytes are not those the run's record names; each chunk checks that the
 * file it reads is still the one verified (verify-dataset.ts). The merge reads only the chunks' output.
 * Runs inline (not sandboxed): it streams files and awaits Redis, so the event loop stays free to renew
 * the job's lock.
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
      async (ctx) => {
        if (job.data.step !== 'merge' && job.data.step !== 'merging') {
          await failOnceIfAsked(ctx, 'text-processing');
          const startedAt = Date.now();
          const dataset = await openJobDataset(config, job.data.dataset);
          // The bytes planned are hashed on the way and must be the record's (verify-dataset.ts).
          const expected = { sha256: job.data.datasetSha256, bytes: job.data.datasetBytes };
          const { plan, check: datasetCheck } = await planVerified(
            dataset,
            expected,
            ctx.params.chunkSize,
          ).finally(() => dataset.close());
          signal?.throwIfAborted();
          const done = await Promise.all(
            plan.chunks.map((range, chunk) => readChunkStats(ctx, chunk, range)),
          );
          const children = plan.chunks.flatMap((range, chunk) => {
            if (done[chunk]) return [];
            const data: ChunkJobData = {
              runId: job.data.runId,
              generation: job.data.generation,
              stage: 'text-processing',
              chunk,
              dataset: job.data.dataset,
              format: plan.format,
              range,
              datasetCheck,
              tags: job.data.tags,
              params: job.data.params,
              artifacts: job.data.artifacts,
            };
            const id = chunkJobId(job.data.runId, chunk, job.data.generation);
            const parent = { id: job.id!, queue: job.queueQualifiedName };
            return [{ name: CHUNK_QUEUE, data, opts: { ...nodeOptions(config, id, true), parent } }];
          });
          // The count before the children: a cancel finds the children by it, so none may exist uncounted.
          await job.updateData({ ...job.data, chunks: plan.chunks.length });
          // Deterministic chunk job ids make a repeated split step add nothing twice.
          const queued = children.length > 0 ? await chunkQueue.addBulk(children) : [];
          await noteSplit(job, 'merging', {
            plan,
            added: children.length,
            startedAt,
            chunkSize: ctx.params.chunkSize,
            log: ctx.log,
          });
          return streamMerge(ctx, job, token!, { chunkQueue, events: events(), queued, signal });
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
    stats = (await mergeChunks(ctx, chunks, (c) => readStats(ctx, c))).stats;
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
  return file.stats;
}

/**
 * The merge while the chunks run: each chunk's rows join tickets.csv as soon as it and every chunk before
 * it are done (chunks an earlier attempt left are there already), so at 1.6M tickets the ~10 s of copying
 * runs alongside the chunks' tagging instead of after it. The job stays active meanwhile (it awaits its
 * children as a block stage does: their completion events, and the state of the one merged next), and
 * completes once the merge is in place.
 */
async function streamMerge(
  ctx: StageContext,
  job: Job<StageJobData>,
  token: string,
  opts: { chunkQueue: Queue; events: QueueEvents; queued: readonly Job[]; signal?: AbortSignal },
): Promise<TextProcessingJobResult> {
  const { chunkQueue, events, queued, signal } = opts;
  const children = new Map<number, Job>(queued.map((child) => [(child.data as ChunkJobData).chunk, child]));
  // Every running chunk's completion, awaited from the start, so that a later chunk's failure is seen at
  // once through `failed`.
  const done = new Map([...children].map(([c, child]) => [c, childFinished(child, events, chunkQueue)]));
  const failed = new Promise<never>((_, reject) => {
    for (const d of done.values()) d.catch(reject);
    if (!signal) return;
    if (signal.aborted) reject(signal.reason as Error);
    else signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
  });
  failed.catch(() => undefined);
  const { stats } = await mergeChunks(ctx, job.data.chunks!, async (c) => {
    const child = children.get(c);
    // Chunks an earlier attempt left are in storage; the one awaited now is also polled, in case its
    // completion event was missed (child-finished.ts).
    if (child) {
      const finished = childFinishedPolled(child, events, chunkQueue, CHILD_POLL_MS, done.get(c));
      await Promise.race([finished, failed]);
    }
    return readStats(ctx, c);
  });
  await removeChunkFiles(ctx);
  // Every child has completed; should BullMQ still count one pending, the job waits for it, and its next
  // activation (step "merging") finds tickets.csv in place.
  await waitForChildren(job, token, chunkQueue);
  const seconds = (Date.now() - (job.data.startedAt ?? Date.now())) / 1000;
  return { tickets: ARTIFACTS.tickets, rows: stats.kept, chunks: job.data.chunks!, stats, seconds };
}
