import fsp from 'node:fs/promises';
import { Job, Queue, WaitingChildrenError } from 'bullmq';
import { TicketflowConfig } from '../../shared/config/config';
import { CHUNK_QUEUE } from '../../shared/config/stages';
import { BadInputError } from '../../shared/errors';
import { nodeOptions } from '../../shared/flow/build-flow';
import {
  ChunkJobData,
  ChunkJobResult,
  StageJobData,
  TextProcessingJobResult,
  chunkJobId,
} from '../../shared/flow/job-types';
import { ARTIFACTS, StageContext, artifactPath } from '../../shared/stages/context';
import { mergeChunks, removeChunkFiles, sumStats } from '../../shared/stages/text-processing';
import { planChunks } from '../../shared/dataset/plan-chunks';
import { ReadStats } from '../../shared/dataset/read-tickets';
import { datasetPath } from './dataset-path';
import { runLogged } from './stage-context';
import { failOnceIfAsked } from './fault-injection';

/**
 * Stage 1 as a parent job in two steps. Step "split" scans the dataset for record boundaries (no
 * parsing) and adds one child job per byte range of `chunkSize` records to the chunk queue, then waits for
 * them (BullMQ's WaitingChildrenError pattern); any worker may take a chunk, which reads, validates and
 * tags only its own range. Step "merge" joins the chunks' rows in input order into `tickets.csv` and sums
 * their counts. Runs inline (not sandboxed): it streams the file and awaits Redis, so the event loop stays
 * free to renew the job's lock; the CPU-heavy work happens in the sandboxed chunk jobs.
 */
export function textProcessingProcessor(config: TicketflowConfig, chunkQueue: Queue) {
  return async (job: Job<StageJobData>, token?: string): Promise<TextProcessingJobResult> => {
    return runLogged(job, 'text-processing', async (ctx) => {
      if (job.data.step !== 'merge') {
        await failOnceIfAsked(ctx, 'text-processing');
        const startedAt = Date.now();
        const file = datasetPath(config, job.data.dataset);
        const plan = await planChunks(file, ctx.params.chunkSize);
        const children = plan.chunks.map((range, chunk) => {
          const data: ChunkJobData = {
            runId: job.data.runId,
            stage: 'text-processing',
            chunk,
            dataset: job.data.dataset,
            format: plan.format,
            range,
            tags: job.data.tags,
            params: job.data.params,
            artifacts: job.data.artifacts,
          };
          return {
            name: CHUNK_QUEUE,
            data,
            opts: {
              ...nodeOptions(config, chunkJobId(job.data.runId, chunk), true),
              parent: { id: job.id!, queue: job.queueQualifiedName },
            },
          };
        });
        // Deterministic chunk job ids make a repeated split step add nothing twice.
        await chunkQueue.addBulk(children);
        const splitSeconds = (Date.now() - startedAt) / 1000;
        ctx.log.info(
          `${plan.records} records in ${file}: ${plan.chunks.length} chunk job(s) of up to ${ctx.params.chunkSize} (${splitSeconds} s)`,
        );
        await job.updateData({
          ...job.data,
          step: 'merge',
          startedAt,
          chunks: plan.chunks.length,
          records: plan.records,
          splitSeconds,
        });
        await job.updateProgress(5);
        if (await job.moveToWaitingChildren(token!)) throw new WaitingChildrenError();
      }
      return merge(ctx, job);
    });
  };
}

async function merge(ctx: StageContext, job: Job<StageJobData>): Promise<TextProcessingJobResult> {
  const { chunks } = job.data;
  if (chunks === undefined)
    throw new BadInputError(`text-processing job ${job.id} reached merge without its split results`);
  const results = Object.values(await job.getChildrenValues<ChunkJobResult>()).sort(
    (a, b) => a.chunk - b.chunk,
  );
  if (results.length !== chunks)
    throw new Error(
      `text-processing of run ${job.data.runId}: ${results.length} of ${chunks} chunk results found`,
    );
  const parts = results.map((r) => r.stats);
  const tickets = artifactPath(ctx, ARTIFACTS.tickets);
  const chunksLeft = await fsp.stat(artifactPath(ctx, ARTIFACTS.chunksDir)).then(
    () => true,
    () => false,
  );
  // A retry after a finished merge finds tickets.csv in place and the chunk files already removed.
  let stats: ReadStats;
  if (
    chunksLeft ||
    !(await fsp.stat(tickets).then(
      () => true,
      () => false,
    ))
  ) {
    stats = (await mergeChunks(ctx, parts)).stats;
    await removeChunkFiles(ctx);
  } else {
    stats = sumStats(parts);
  }
  const seconds = (Date.now() - (job.data.startedAt ?? Date.now())) / 1000;
  return { tickets: ARTIFACTS.tickets, rows: stats.kept, chunks, stats, seconds };
}
