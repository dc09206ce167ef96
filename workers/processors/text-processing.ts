import fsp from 'node:fs/promises';
import path from 'node:path';
import { Job, Queue, WaitingChildrenError } from 'bullmq';
import { TicketflowConfig } from '../../shared/config/config';
import { CHUNK_QUEUE } from '../../shared/config/stages';
import { BadInputError } from '../../shared/errors';
import { nodeOptions } from '../../shared/flow/build-flow';
import { ChunkJobData, StageJobData, TextProcessingJobResult, chunkJobId } from '../../shared/flow/job-types';
import { ARTIFACTS, StageContext, artifactPath } from '../../shared/stages/context';
import { mergeChunks, removeChunkFiles, splitDataset } from '../../shared/stages/text-processing';
import { runLogged } from './stage-context';
import { failOnceIfAsked } from './fault-injection';

/** Resolve a job's dataset reference: absolute paths as given, relative ones inside this worker's data root. */
export function datasetPath(config: TicketflowConfig, dataset: string): string {
  return path.isAbsolute(dataset) ? dataset : path.resolve(config.dataDir, dataset);
}

/**
 * Stage 1 as a parent job in two steps. Step "split" cuts the dataset into chunk files and adds one child
 * job per chunk to the chunk queue, then waits for them (BullMQ's WaitingChildrenError pattern); any
 * worker may take a chunk. Step "merge" joins the chunks' rows in input order into `tickets.csv`.
 * Runs inline (not sandboxed): it streams files and awaits Redis, so the event loop stays free to renew
 * the job's lock; the CPU-heavy tagging happens in the sandboxed chunk jobs.
 */
export function textProcessingProcessor(config: TicketflowConfig, chunkQueue: Queue) {
  return async (job: Job<StageJobData>, token?: string): Promise<TextProcessingJobResult> => {
    return runLogged(job, 'text-processing', async (ctx) => {
      if (job.data.step !== 'merge') {
        await failOnceIfAsked(ctx, 'text-processing');
        const startedAt = Date.now();
        // Each chunk's job is added as soon as its file is written: tagging starts while the split goes on.
        // Deterministic chunk job ids make a repeated split step add nothing twice.
        const addChunkJob = async (chunk: number, rows: number): Promise<void> => {
          const data: ChunkJobData = {
            runId: job.data.runId,
            stage: 'text-processing',
            chunk,
            rows,
            tags: job.data.tags,
            params: job.data.params,
            artifacts: job.data.artifacts,
          };
          await chunkQueue.add(CHUNK_QUEUE, data, {
            ...nodeOptions(config, chunkJobId(job.data.runId, chunk), true),
            parent: { id: job.id!, queue: job.queueQualifiedName },
          });
        };
        const split = await splitDataset(ctx, datasetPath(config, job.data.dataset), ctx.params.chunkSize, addChunkJob);
        await job.updateData({ ...job.data, step: 'merge', startedAt, chunks: split.chunks, readStats: split.stats, splitSeconds: split.seconds });
        await job.updateProgress(5);
        if (await job.moveToWaitingChildren(token!)) throw new WaitingChildrenError();
      }
      return merge(ctx, job);
    });
  };
}

async function merge(ctx: StageContext, job: Job<StageJobData>): Promise<TextProcessingJobResult> {
  const { chunks, readStats } = job.data;
  if (chunks === undefined || readStats === undefined) throw new BadInputError(`text-processing job ${job.id} reached merge without its split results`);
  const tickets = artifactPath(ctx, ARTIFACTS.tickets);
  const chunksLeft = await fsp.stat(artifactPath(ctx, ARTIFACTS.chunksDir)).then(() => true, () => false);
  // A retry after a finished merge finds tickets.csv in place and the chunk files already removed.
  if (chunksLeft || !(await fsp.stat(tickets).then(() => true, () => false))) {
    await mergeChunks(ctx, chunks, readStats.kept);
    await removeChunkFiles(ctx);
  }
  const seconds = (Date.now() - (job.data.startedAt ?? Date.now())) / 1000;
  return { tickets: ARTIFACTS.tickets, rows: readStats.kept, chunks, stats: readStats, seconds };
}
