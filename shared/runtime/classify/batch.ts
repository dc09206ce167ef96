/**
 * Batch classification: a dataset classified with a trained model by the workers, in chunks, like stage 1
 * of a run (split → chunk jobs → merge on the `classification` and `classification-chunks` queues).
 *
 * Storage, under `classifications/<id>/`:
 * - `classification.json`: the request (id, dataset, model run, threshold, createdAt), written at
 *   submission;
 * - `parts/part-NNNNN.csv` and `part-NNNNN.stats.json`: each chunk's prediction rows and counts, while
 *   it runs (the stats file, written last, says the chunk is done);
 * - `predictions.csv`: `ticket_id,label,predicted,confidence,p_<class>…,abstained`, one row per kept ticket in
 *   input order, then `summary.json`; the merge writes both and removes `parts/`;
 * - `failed.json`: `{error, finishedAt}`, once a reader or a worker saw the classification fail for good.
 *
 * The status is read from those files and the parent job, so a finished classification still answers
 * after BullMQ's retention removed its jobs.
 */
import path from 'node:path';
import { Job } from 'bullmq';
import { CLASSIFICATION_QUEUE, isQueueName } from '../flow/queue-names';
import { datasetFileProblem } from '../../core/dataset/open-dataset';
import { ReadStats, TicketRange } from '../../core/dataset/read-tickets';
import { BadInputError } from '../../core/errors';
import { nodeOptions } from '../flow/build-flow';
import { ClassificationJobData, classificationJobId } from '../flow/job-types';
import { newRunId } from '../flow/run-id';
import { NEEDS_REVIEW } from '../../pipeline/model/load-model';
import { ModelRegistry } from '../runs/model-registry';
import { RunsContext } from '../runs/context';
import { logLost } from '../../core/logger';
import { TicketflowConfig } from '../../core/config/config';
import { ArtifactNotFound, ArtifactStore } from '../../core/store/artifact-store';
import { openStore } from '../../core/store/open-store';

const CLASSIFICATION_ID_PATTERN = /^cls-[A-Za-z0-9_-]{1,80}$/;

/** `cls-` then letters, digits, "_" and "-": the ids submitClassification makes. */
export const isClassificationId = (id: string): boolean => CLASSIFICATION_ID_PATTERN.test(id);

/** Same bounds as the pipeline's `chunkSize`. */
export const MAX_CLASSIFICATION_CHUNK_SIZE = 10_000_000;

/** A classification whose job is missing this long after submission has lost it (see getClassification). */
const LOST_CLASSIFICATION_AFTER_MS = 30_000;

export const CLASSIFICATION_FILES = {
  record: 'classification.json',
  predictions: 'predictions.csv',
  summary: 'summary.json',
  failure: 'failed.json',
  partsDir: 'parts',
} as const;

/** `cls-20261126-130512-3f9a1c08d2e4`: sorts by creation time, unique across producers. */
function newClassificationId(now: Date = new Date()): string {
  return `cls-${newRunId(now)}`;
}

function checkClassificationId(id: string): string {
  if (!CLASSIFICATION_ID_PATTERN.test(id))
    throw new RangeError(`classification id "${id}" must be "cls-" then letters, digits, "_" and "-"`);
  return id;
}

/** The folder of a classification's files on the file backend (the store's root being `storageDir`). */
export function classificationDir(storageDir: string, id: string): string {
  return path.join(storageDir, 'classifications', checkClassificationId(id));
}

/** A classification's object in the artifact store: `classifications/<id>/<name>`. */
export function classificationKey(id: string, name: string): string {
  return `classifications/${checkClassificationId(id)}/${name}`;
}

const partName = (chunk: number) => `${CLASSIFICATION_FILES.partsDir}/part-${String(chunk).padStart(5, '0')}`;

/** A chunk's prediction rows. */
export function partKey(id: string, chunk: number): string {
  return classificationKey(id, `${partName(chunk)}.csv`);
}

/** A chunk's counts, written after its rows. */
export function partStatsKey(id: string, chunk: number): string {
  return classificationKey(id, `${partName(chunk)}.stats.json`);
}

const stores = new WeakMap<TicketflowConfig, ArtifactStore>();

/** The artifact store a worker process's classification jobs use: one per config, opened on first use. */
export function classificationStore(config: TicketflowConfig): ArtifactStore {
  let store = stores.get(config);
  if (store === undefined) {
    store = openStore(config.storage);
    stores.set(config, store);
  }
  return store;
}

/** An object parsed as JSON, or null when there is none. */
export async function readJsonOrNull<T>(store: ArtifactStore, key: string): Promise<T | null> {
  return store.getJson<T>(key).catch((err: unknown) => {
    if (err instanceof ArtifactNotFound) return null;
    throw err;
  });
}

/** `classification.json`: what was asked for. */
export interface ClassificationRecord {
  id: string;
  /** as the jobs carry it: relative to the workers' data root, or absolute */
  dataset: string;
  /** run id of the model */
  model: string;
  /** the alias the request named, if it named one (else null) */
  alias: string | null;
  threshold: number;
  chunkSize: number;
  createdAt: string;
}

/** A chunk's counts (`part-NNNNN.stats.json`), written after its rows. */
export interface PartStats {
  chunk: number;
  range: TicketRange;
  /** the model's classes (the predictions' probability columns) and its training label mix */
  classes: string[];
  trainingLabelMix: Record<string, number>;
  read: ReadStats;
  /** tickets per label (`needs_review` for abstained ones) */
  counts: Record<string, number>;
  /** tickets per most probable class, abstained or not (the predicted label mix) */
  predicted: Record<string, number>;
  abstained: number;
  /** lemma tokens of the narratives, and how many the model's vocabulary does not know */
  tokens: number;
  outOfVocabulary: number;
  seconds: number;
  /** the code identity that classified the part (a worker's; null or absent in-process) */
  code?: string | null;
}

/** `summary.json`, also the parent job's return value. */
export interface ClassificationSummary {
  id: string;
  dataset: string;
  model: string;
  threshold: number;
  tickets: number;
  counts: Record<string, number>;
  abstained: number;
  abstentionRate: number;
  drift: {
    /** share of the narratives' lemma tokens the model's vocabulary does not know */
    outOfVocabularyShare: number;
    /** share of tickets per most probable class (before abstention) */
    predictedMix: Record<string, number>;
    /** each class's share of the model's training split */
    trainingMix: Record<string, number>;
  };
  /** from the start of the split to the end of the merge */
  seconds: number;
}

export type ClassificationState = 'waiting' | 'active' | 'completed' | 'failed';

export interface ClassificationStatus {
  id: string;
  state: ClassificationState;
  /** 0–100: chunks done of all */
  progress: number;
  dataset: string;
  model: string;
  threshold: number;
  createdAt: string;
  finishedAt: string | null;
  /** chunks done and in all, once the split step has run */
  chunks: { total: number; completed: number; failed: number } | null;
  summary: ClassificationSummary | null;
  error: string | null;
}

/** predictions.csv's columns for a model's classes. */
export function predictionColumns(classes: readonly string[]): string[] {
  return ['ticket_id', 'label', 'predicted', 'confidence', ...classes.map((c) => `p_${c}`), 'abstained'];
}

/** A class-keyed map without a prototype: a class may be called "__proto__" or "constructor". */
export function classMap(): Record<string, number> {
  return Object.create(null) as Record<string, number>;
}

/** `counts[key]` when `counts` itself holds `key` (never an inherited property), else 0. */
const countOf = (counts: Readonly<Record<string, number>>, key: string): number =>
  Object.hasOwn(counts, key) ? counts[key]! : 0;

const shares = (
  counts: Readonly<Record<string, number>>,
  keys: readonly string[],
): Record<string, number> => {
  const total = keys.reduce((s, k) => s + countOf(counts, k), 0);
  const out = classMap();
  for (const k of keys) out[k] = total > 0 ? countOf(counts, k) / total : 0;
  return out;
};

/** The whole dataset's summary from its chunks' counts (in chunk order; at least one chunk). */
export function summariseParts(
  job: Pick<ClassificationJobData, 'classificationId' | 'dataset' | 'model' | 'threshold'>,
  parts: readonly PartStats[],
  seconds: number,
): ClassificationSummary {
  const first = parts[0];
  if (first === undefined) throw new RangeError('summariseParts needs the counts of at least one chunk');
  const classes = first.classes;
  const counts = classMap();
  for (const c of [...classes, NEEDS_REVIEW]) counts[c] = 0;
  const predicted = classMap();
  let tickets = 0;
  let abstained = 0;
  let tokens = 0;
  let outOfVocabulary = 0;
  for (const p of parts) {
    tickets += p.read.kept;
    abstained += p.abstained;
    tokens += p.tokens;
    outOfVocabulary += p.outOfVocabulary;
    for (const [label, n] of Object.entries(p.counts)) counts[label] = countOf(counts, label) + n;
    for (const [label, n] of Object.entries(p.predicted)) predicted[label] = countOf(predicted, label) + n;
  }
  return {
    id: job.classificationId,
    dataset: job.dataset,
    model: job.model,
    threshold: job.threshold,
    tickets,
    counts,
    abstained,
    abstentionRate: tickets > 0 ? abstained / tickets : 0,
    drift: {
      outOfVocabularyShare: tokens > 0 ? outOfVocabulary / tokens : 0,
      predictedMix: shares(predicted, classes),
      trainingMix: shares(first.trainingLabelMix, classes),
    },
    seconds,
  };
}

export interface ClassificationInput {
  /** the dataset as the jobs carry it: relative to the workers' data root, or absolute */
  dataset: string;
  /** the same file as this process reads it, to check it now */
  datasetFile: string;
  /** why `datasetFile` cannot be read as a dataset, or null (its dataset source's check) @defaultValue datasetFileProblem */
  datasetProblem?: (file: string) => Promise<string | null>;
  /** an alias or a run id @defaultValue 'production' */
  model?: string;
  /** @defaultValue the model's calibrated threshold */
  threshold?: number;
  /** @defaultValue the pipeline's chunkSize */
  chunkSize?: number;
}

/**
 * Check the request, resolve the model (an alias or the run id of a completed run; `production` by
 * default: NoDefaultModel without it, NoSuchModel for an unknown one), write `classification.json`
 * and add the parent job. BadInputError for a bad threshold, chunk size or dataset file.
 */
export async function submitClassification(
  ctx: RunsContext,
  registry: ModelRegistry,
  input: ClassificationInput,
): Promise<{ id: string; model: string }> {
  const { threshold, chunkSize = ctx.config.pipeline.chunkSize } = input;
  if (threshold !== undefined && (typeof threshold !== 'number' || !(threshold >= 0 && threshold <= 1)))
    throw new BadInputError(`"threshold" must be a number from 0 to 1, got ${JSON.stringify(threshold)}`);
  if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > MAX_CLASSIFICATION_CHUNK_SIZE) {
    throw new BadInputError(
      `"chunkSize" must be a whole number from 1 to ${MAX_CLASSIFICATION_CHUNK_SIZE}, got ${JSON.stringify(chunkSize)}`,
    );
  }
  if (typeof input.dataset !== 'string' || input.dataset === '')
    throw new BadInputError('"dataset" must name a dataset file');
  const problem = await (input.datasetProblem ?? datasetFileProblem)(input.datasetFile);
  if (problem !== null) throw new BadInputError(`"dataset" ${input.datasetFile}: ${problem}`);
  const { run, alias } = await registry.resolve(input.model);
  // Loading the model checks that its file is usable before anything is enqueued (and is cached).
  const model = await registry.model(run);
  const createdAt = new Date();
  const id = newClassificationId(createdAt);
  const record: ClassificationRecord = {
    id,
    dataset: input.dataset,
    model: run,
    alias,
    threshold: threshold ?? model.file.threshold.value,
    chunkSize,
    createdAt: createdAt.toISOString(),
  };
  await ctx.artifacts.putJson(classificationKey(id, CLASSIFICATION_FILES.record), record);
  await ctx.redis.zadd(ctx.keys.classifications, 0, `${String(createdAt.getTime()).padStart(15, '0')}|${id}`);
  const data: ClassificationJobData = {
    runId: id,
    classificationId: id,
    dataset: record.dataset,
    model: run,
    threshold: record.threshold,
    params: { chunkSize },
    artifacts: `classifications/${id}`,
    createdAt: record.createdAt,
    step: 'split',
  };
  await ctx.queues[CLASSIFICATION_QUEUE].add(
    CLASSIFICATION_QUEUE,
    data,
    nodeOptions(ctx.config, classificationJobId(id), false),
  );
  return { id, model: run };
}

const CHILD_FAILED = /^child .*:([^:]+):([^:]+) failed$/;

/** A parent failed by its child's failure (failParentOnFailure): the child's own message says why. */
async function rootCause(ctx: RunsContext, reason: string): Promise<string> {
  for (let depth = 0; depth < 10; depth++) {
    const m = CHILD_FAILED.exec(reason);
    if (!m || !isQueueName(m[1]!)) return reason;
    const child = await ctx.queues[m[1]].getJob(m[2]!);
    if (!child?.failedReason) return reason;
    reason = child.failedReason;
  }
  return reason;
}

/**
 * A classification's status, or null for an unknown id: from `classification.json`, then `summary.json`
 * (completed) or `failed.json` (failed), else the parent job and its chunk counts. A failure seen here for
 * the first time is written to `failed.json`, so it outlives the job.
 */
export async function getClassification(ctx: RunsContext, id: string): Promise<ClassificationStatus | null> {
  if (typeof id !== 'string' || !CLASSIFICATION_ID_PATTERN.test(id)) return null;
  const store = ctx.artifacts;
  const record = await readJsonOrNull<ClassificationRecord>(
    store,
    classificationKey(id, CLASSIFICATION_FILES.record),
  );
  if (!record) return null;
  const status: ClassificationStatus = {
    id,
    state: 'waiting',
    progress: 0,
    dataset: record.dataset,
    model: record.model,
    threshold: record.threshold,
    createdAt: record.createdAt,
    finishedAt: null,
    chunks: null,
    summary: null,
    error: null,
  };
  const summaryKey = classificationKey(id, CLASSIFICATION_FILES.summary);
  const summary = await readJsonOrNull<ClassificationSummary>(store, summaryKey);
  const written = summary && (await store.stat(summaryKey));
  if (summary && written) {
    return {
      ...status,
      state: 'completed',
      progress: 100,
      finishedAt: written.modifiedAt.toISOString(),
      summary,
    };
  }
  const failureKey = classificationKey(id, CLASSIFICATION_FILES.failure);
  const failure = await readJsonOrNull<{ error: string; finishedAt: string }>(store, failureKey);
  if (failure) return { ...status, state: 'failed', finishedAt: failure.finishedAt, error: failure.error };

  const job = (await ctx.queues[CLASSIFICATION_QUEUE].getJob(classificationJobId(id))) as
    Job<ClassificationJobData> | undefined;
  if (!job) {
    if (Date.now() - Date.parse(record.createdAt) < LOST_CLASSIFICATION_AFTER_MS) return status;
    return fail(
      status,
      store,
      failureKey,
      'its job is gone from the queue without a result (Redis lost it, or it was removed): submit the classification again',
      new Date().toISOString(),
    );
  }
  const raw = await job.getState();
  if (raw === 'failed') {
    // The job was read before its state: read it again, so its failure reason is the final one.
    const failed = (await ctx.queues[CLASSIFICATION_QUEUE].getJob(job.id!)) ?? job;
    const reason = await rootCause(ctx, failed.failedReason || 'failed');
    return fail(status, store, failureKey, reason, new Date(failed.finishedOn ?? Date.now()).toISOString());
  }
  if (raw === 'completed') {
    // The merge writes summary.json before the job completes: read it again (it may have just appeared).
    const finished = await readJsonOrNull<ClassificationSummary>(store, summaryKey);
    const fresh = finished ? null : await ctx.queues[CLASSIFICATION_QUEUE].getJob(job.id!);
    return {
      ...status,
      state: 'completed',
      progress: 100,
      finishedAt: new Date(fresh?.finishedOn ?? job.finishedOn ?? Date.now()).toISOString(),
      summary: finished ?? (fresh?.returnvalue as ClassificationSummary | undefined) ?? null,
    };
  }
  const total = job.data.chunks;
  if (total !== undefined) {
    const counts = await job.getDependenciesCount();
    const completed = Math.min(total, (counts.processed ?? 0) + (job.data.reusedChunks ?? 0));
    status.chunks = { total, completed, failed: (counts.failed ?? 0) + (counts.ignored ?? 0) };
    status.progress = Math.min(99, Math.floor((100 * completed) / Math.max(1, total)));
  }
  status.state = raw === 'waiting' || raw === 'prioritized' || raw === 'delayed' ? 'waiting' : 'active';
  // A job waiting for its next attempt (after a failed one) or for its chunks is under way.
  if (status.state === 'waiting' && (job.attemptsMade > 0 || total !== undefined)) status.state = 'active';
  return status;
}

async function fail(
  status: ClassificationStatus,
  store: ArtifactStore,
  key: string,
  error: string,
  finishedAt: string,
): Promise<ClassificationStatus> {
  await store
    .putJson(key, { error, finishedAt })
    .catch(logLost(`writing the failure file ${key} in ${store.url}`));
  return { ...status, state: 'failed', finishedAt, error };
}
