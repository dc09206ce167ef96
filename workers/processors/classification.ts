import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Job, Queue } from 'bullmq';
import {
  CLASSIFICATION_FILES,
  ClassificationSummary,
  PartStats,
  classificationDir,
  partPath,
  partStatsPath,
  predictionColumns,
  summariseParts,
} from '../../shared/runtime/classify/batch';
import { TicketflowConfig } from '../../shared/core/config/config';
import { CLASSIFICATION_CHUNK_QUEUE } from '../../shared/runtime/flow/queue-names';
import { planChunks } from '../../shared/core/dataset/plan-chunks';
import { noNarrative, TicketRange } from '../../shared/core/dataset/read-tickets';
import { BadInputError } from '../../shared/core/errors';
import { nodeOptions } from '../../shared/runtime/flow/build-flow';
import {
  ClassificationChunkJobData,
  ClassificationJobData,
  classificationChunkJobId,
} from '../../shared/runtime/flow/job-types';
import { csvRow } from '../../shared/core/io/csv';
import { Logger } from '../../shared/core/logger';
import { openAtomicWriter, writeJsonAtomic } from '../../shared/core/storage';
import { openJobDataset } from './dataset-path';
import { runJobLogged } from './stage-context';
import { awaitChunks } from './fan-out';

/**
 * The parent job of a batch classification, in two steps like text processing. "split" opens the dataset
 * inside this worker's data root, scans it for record boundaries (bad files fail here, on the first
 * attempt) and adds one chunk job per byte range of `chunkSize` records, then waits for them; "merge"
 * joins the chunks' prediction rows in input order into `predictions.csv`, writes `summary.json`,
 * removes `parts/` and returns the summary. Inline: it streams files and awaits Redis.
 */
export function classificationProcessor(config: TicketflowConfig, chunkQueue: Queue) {
  // Three parameters: BullMQ then hands over an abort signal.
  return async (
    job: Job<ClassificationJobData>,
    token?: string,
    signal?: AbortSignal,
  ): Promise<ClassificationSummary> =>
    runJobLogged(job, 'classification', async (log) => {
      const dir = classificationDir(config.storageDir, job.data.classificationId);
      if (job.data.step !== 'merge') {
        const startedAt = Date.now();
        const dataset = await openJobDataset(config, job.data.dataset);
        const plan = await planChunks(dataset, job.data.params.chunkSize).finally(() => dataset.close());
        if (plan.chunks.length === 0) throw noNarrative(plan.file, plan.records);
        signal?.throwIfAborted();
        const done = await Promise.all(plan.chunks.map((range, chunk) => readPartStats(dir, chunk, range)));
        const parent = { id: job.id!, queue: job.queueQualifiedName };
        const children = plan.chunks.flatMap((range, chunk) => {
          if (done[chunk]) return [];
          const data: ClassificationChunkJobData = {
            runId: job.data.runId,
            classificationId: job.data.classificationId,
            chunk,
            dataset: job.data.dataset,
            format: plan.format,
            range,
            model: job.data.model,
            threshold: job.data.threshold,
            artifacts: job.data.artifacts,
          };
          const id = classificationChunkJobId(job.data.classificationId, chunk);
          return [
            { name: CLASSIFICATION_CHUNK_QUEUE, data, opts: { ...nodeOptions(config, id, true), parent } },
          ];
        });
        // Deterministic chunk job ids: a repeated split step adds nothing twice.
        if (children.length > 0) await chunkQueue.addBulk(children);
        await awaitChunks(job, token!, {
          plan,
          added: children.length,
          startedAt,
          chunkSize: job.data.params.chunkSize,
          log,
          children: chunkQueue,
        });
      }
      return merge(dir, job, log, signal);
    });
}

/** A chunk's counts when its output for exactly this byte range is in storage, else null. */
async function readPartStats(dir: string, chunk: number, range: TicketRange): Promise<PartStats | null> {
  try {
    const stats = JSON.parse(await fsp.readFile(partStatsPath(dir, chunk), 'utf8')) as PartStats;
    const r = stats.range;
    if (r.start !== range.start || r.end !== range.end || r.firstRecord !== range.firstRecord) return null;
    await fsp.access(partPath(dir, chunk));
    return stats;
  } catch {
    return null;
  }
}

const exists = (p: string) =>
  fsp.stat(p).then(
    () => true,
    () => false,
  );

async function merge(
  dir: string,
  job: Job<ClassificationJobData>,
  log: Logger,
  signal: AbortSignal | undefined,
): Promise<ClassificationSummary> {
  const { chunks } = job.data;
  if (chunks === undefined)
    throw new Error(`classification job ${job.id} reached merge without its split results`);
  const predictionsFile = path.join(dir, CLASSIFICATION_FILES.predictions);
  const summaryFile = path.join(dir, CLASSIFICATION_FILES.summary);
  const partsDir = path.join(dir, CLASSIFICATION_FILES.partsDir);
  if ((await exists(summaryFile)) && (await exists(predictionsFile))) {
    // A retry after a finished merge: its output is in place.
    await fsp.rm(partsDir, { recursive: true, force: true });
    return JSON.parse(await fsp.readFile(summaryFile, 'utf8')) as ClassificationSummary;
  }
  const parts = await Promise.all(
    Array.from({ length: chunks }, async (_, c) => {
      const file = partStatsPath(dir, c);
      const text = await fsp.readFile(file, 'utf8').catch((err: unknown) => {
        throw new Error(`classification ${job.data.classificationId}: chunk ${c} has no output (${file})`, {
          cause: err,
        });
      });
      return JSON.parse(text) as PartStats;
    }),
  );
  const first = parts[0]!;
  const kept = parts.reduce((s, p) => s + p.read.kept, 0);
  if (kept === 0)
    throw noNarrative(
      first.read.file,
      parts.reduce((s, p) => s + p.read.read, 0),
    );
  const columns = predictionColumns(first.classes);
  const other = parts.find((p) => predictionColumns(p.classes).join('\n') !== columns.join('\n'));
  if (other) throw new Error(`classification chunk ${other.chunk} was classified with other classes`);

  const out = await openAtomicWriter(predictionsFile);
  try {
    await out.write(csvRow(columns));
    for (let c = 0; c < chunks; c++) {
      for await (const piece of fs.createReadStream(partPath(dir, c), {
        encoding: 'utf8',
        highWaterMark: 1 << 20,
      })) {
        await out.write(piece as string);
      }
    }
    signal?.throwIfAborted();
    await out.commit();
  } catch (err) {
    await out.abort();
    if (err instanceof BadInputError) throw err;
    throw new Error(`merging the chunks of ${job.data.classificationId} failed: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const seconds = Math.round(Date.now() - (job.data.startedAt ?? Date.now())) / 1000;
  const summary = summariseParts(job.data, parts, seconds);
  await writeJsonAtomic(summaryFile, summary);
  await fsp.rm(partsDir, { recursive: true, force: true });
  log.info(
    `classified ${summary.tickets} tickets with model ${summary.model}: ${summary.abstained} abstained, ` +
      `${JSON.stringify(summary.counts)}`,
  );
  return summary;
}
