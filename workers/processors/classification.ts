import { Job, Queue } from 'bullmq';
import {
  CLASSIFICATION_FILES,
  ClassificationSummary,
  PartStats,
  classificationKey,
  classificationStore,
  partKey,
  partStatsKey,
  predictionColumns,
  readJsonOrNull,
  summariseParts,
} from '../../shared/runtime/classify/batch';
import { ArtifactStore } from '../../shared/core/store/artifact-store';
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
import { openJobDataset } from './dataset-path';
import { runJobLogged } from './stage-context';
import { awaitChunks } from './fan-out';
import { classificationCodeIdentity } from '../../shared/runtime/runs/code-identity';

/**
 * The parent job of a batch classification, in two steps like text processing. "split" opens the dataset
 * inside this worker's data root, scans it for record boundaries (bad files fail here, on the first
 * attempt) and adds one chunk job per byte range of `chunkSize` records, then waits for them; "merge"
 * joins the chunks' prediction rows in input order into `predictions.csv`, writes `summary.json`,
 * removes `parts/` and returns the summary, all through the artifact store. Inline: it streams objects and
 * awaits Redis. `completed` hears of the summary once it is written (a retry after the merge hears of it
 * again).
 */
export function classificationProcessor(
  config: TicketflowConfig,
  chunkQueue: Queue,
  completed: (summary: ClassificationSummary) => Promise<void> = async () => undefined,
) {
  // Three parameters: BullMQ then hands over an abort signal.
  return async (
    job: Job<ClassificationJobData>,
    token?: string,
    signal?: AbortSignal,
  ): Promise<ClassificationSummary> =>
    runJobLogged(job, 'classification', async (log) => {
      const store = classificationStore(config);
      const id = job.data.classificationId;
      if (job.data.step !== 'merge') {
        const startedAt = Date.now();
        const dataset = await openJobDataset(config, job.data.dataset);
        const plan = await planChunks(dataset, job.data.params.chunkSize).finally(() => dataset.close());
        if (plan.chunks.length === 0) throw noNarrative(plan.file, plan.records);
        signal?.throwIfAborted();
        const code = classificationCodeIdentity();
        const done = await Promise.all(
          plan.chunks.map((range, chunk) => readPartStats(store, id, chunk, range, code)),
        );
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
            code,
            artifacts: job.data.artifacts,
          };
          const jobId = classificationChunkJobId(id, chunk);
          return [
            { name: CLASSIFICATION_CHUNK_QUEUE, data, opts: { ...nodeOptions(config, jobId, true), parent } },
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
      const summary = await merge(store, job, log, signal);
      await completed(summary);
      return summary;
    });
}

/**
 * A chunk's counts when its output for exactly this byte range, classified by code `code`, is in
 * storage, else null.
 */
async function readPartStats(
  store: ArtifactStore,
  id: string,
  chunk: number,
  range: TicketRange,
  code: string,
): Promise<PartStats | null> {
  try {
    const stats = await store.getJson<PartStats>(partStatsKey(id, chunk));
    const r = stats.range;
    if (r.start !== range.start || r.end !== range.end || r.firstRecord !== range.firstRecord) return null;
    if (stats.code !== code) return null;
    return (await store.stat(partKey(id, chunk))) === undefined ? null : stats;
  } catch {
    return null;
  }
}

async function merge(
  store: ArtifactStore,
  job: Job<ClassificationJobData>,
  log: Logger,
  signal: AbortSignal | undefined,
): Promise<ClassificationSummary> {
  const { chunks, classificationId: id } = job.data;
  if (chunks === undefined)
    throw new Error(`classification job ${job.id} reached merge without its split results`);
  const predictionsKey = classificationKey(id, CLASSIFICATION_FILES.predictions);
  const summaryKey = classificationKey(id, CLASSIFICATION_FILES.summary);
  const partsPrefix = classificationKey(id, `${CLASSIFICATION_FILES.partsDir}/`);
  const done = await readJsonOrNull<ClassificationSummary>(store, summaryKey);
  if (done && (await store.stat(predictionsKey)) !== undefined) {
    // A retry after a finished merge: its output is in place.
    await store.removePrefix(partsPrefix);
    return done;
  }
  const parts = await Promise.all(
    Array.from({ length: chunks }, async (_, c) => {
      const key = partStatsKey(id, c);
      return store.getJson<PartStats>(key).catch((err: unknown) => {
        throw new Error(`classification ${id}: chunk ${c} has no output (${key} in ${store.url})`, {
          cause: err,
        });
      });
    }),
  );
  // A chunk job an activation on another build added (before a deploy moved this job) ran on that build.
  const code = classificationCodeIdentity();
  const foreign = parts.find((p) => p.code !== code);
  if (foreign)
    throw new Error(
      `classification ${id}: chunk ${foreign.chunk} was classified by code ${foreign.code?.slice(0, 12) ?? 'unrecorded'}, this worker runs ${code.slice(0, 12)}: a deploy changed the build during the classification; submit it again once one build serves it`,
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

  const out = await store.openWriter(predictionsKey);
  try {
    await out.write(csvRow(columns));
    for (let c = 0; c < chunks; c++) {
      for await (const piece of await store.openRead(partKey(id, c))) await out.write(piece as Buffer);
    }
    signal?.throwIfAborted();
    await out.commit();
  } catch (err) {
    await out.abort();
    if (err instanceof BadInputError) throw err;
    throw new Error(`merging the chunks of ${id} failed: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const seconds = Math.round(Date.now() - (job.data.startedAt ?? Date.now())) / 1000;
  const summary = summariseParts(job.data, parts, seconds);
  await store.putJson(summaryKey, summary);
  await store.removePrefix(partsPrefix);
  log.info(
    `classified ${summary.tickets} tickets with model ${summary.model}: ${summary.abstained} abstained, ` +
      `${JSON.stringify(summary.counts)}`,
  );
  return summary;
}
