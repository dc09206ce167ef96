import { createHash } from 'node:crypto';
import { checkParamsAgainstData, resolvePipelineParams } from '../../core/config/pipeline-params';
import { ROOT_STAGE, STAGES, StageName } from '../../pipeline/stages/definitions';
import { BadInputError } from '../../core/errors';
import { FileDigest, hashFile } from '../../core/dataset/hash-file';
import { buildRunFlow } from '../flow/build-flow';
import { newRunId } from '../flow/run-id';
import { stageJobId } from '../flow/job-types';
import { CODE_VERSION } from './code-version';
import { runFinished } from './run-finished';
import { RunsContext } from './context';
import { deriveRunFields, initialStages, RunRecord, ScheduleTag } from './record';
import { stageCodeIdentities } from './code-identity';
import { stageCacheKeys } from './stage-cache';
import { logLost } from '../../core/logger';

export interface SubmitInput {
  /** the dataset as job data carries it: absolute, or relative to each worker's data root */
  dataset: string;
  /** the same file as this process reads it, to hash it */
  datasetFile: string;
  /** per-run overrides of the pipeline parameters, plus `cache: false` to compute every stage */
  params?: unknown;
  /** the client's Idempotency-Key: the same key answers the same run */
  idempotencyKey?: string;
  /** how to hash the dataset (the API's hash cache); hashFile by default */
  hash?: (file: string) => Promise<FileDigest>;
  /**
   * ms the Redis part of the submission may take, counted after hashing: a submission not committed by
   * then is rolled back and throws SubmitDeadlinePassed. No limit by default.
   */
  deadlineMs?: number;
  /** the schedule tick that submits the run (written to the record; the promotion gate reads it) */
  schedule?: ScheduleTag;
}

export interface SubmitResult {
  record: RunRecord;
  /** true when an earlier submission with the same idempotency key made this run */
  existing: boolean;
}

/** How long an Idempotency-Key keeps answering the same run. */
const IDEMPOTENCY_TTL_SECONDS = 48 * 3600;
/** A claim on a key whose run was not committed after this long belongs to a submission that died. */
const ABANDONED_CLAIM_MS = 15_000;
/** How long rolling back waits for each Redis compensation before answering (they still run, in order). */
const UNDO_WAIT_MS = 200;
/** How long a withdrawn run's jobs are refused by workers (they see it as cancelled). */
const WITHDRAWN_FLAG_SECONDS = 86_400;

/** The deadline passed before the run was committed: everything it had written was rolled back. */
export class SubmitDeadlinePassed extends Error {
  override readonly name = 'SubmitDeadlinePassed';
}

/**
 * Submit a run: validate the parameters, hash the dataset, reuse every stage the stage cache holds (in
 * flow order, up to the first miss), write the run record, and add a flow for the stages left. A run
 * whose every stage is cached is complete at once and adds no job.
 *
 * Atomic with its answer: the run is committed by one Redis transaction — the flow (BullMQ adds a flow
 * in one MULTI), or, for a run every stage's cache completes, its index entry. Before that point any
 * failure, or the deadline passing, undoes what was written (the run's folder and index entry, the
 * idempotency claim) and throws; after it nothing fails the submission. When the commit itself gets no
 * answer in time (it may still run later), the run is withdrawn too: its jobs removed and flagged
 * cancelled. Undoing goes through the same connection as the writes, so it runs after them even when
 * Redis answers late.
 */
export async function submitRun(ctx: RunsContext, input: SubmitInput): Promise<SubmitResult> {
  const { cache, overrides } = splitCacheFlag(input.params);
  const params = resolvePipelineParams(ctx.config.pipeline, overrides);
  const digest = await (input.hash ?? hashFile)(input.datasetFile).catch((err: NodeJS.ErrnoException) => {
    if (err instanceof BadInputError) throw err;
    throw new BadInputError(`${input.datasetFile}: cannot read the dataset (${err.code ?? err.message})`);
  });
  const deadline = input.deadlineMs === undefined ? Infinity : Date.now() + input.deadlineMs;
  const createdAt = new Date();
  const runId = newRunId(createdAt);
  const undo = new Rollback();
  try {
    if (input.idempotencyKey !== undefined) {
      const prior = await claimKey(ctx, input, runId, deadline, undo);
      if (prior) return { record: prior, existing: true };
    }
    const record = await createRun(ctx, input, runId, createdAt, params, cache, digest, deadline, undo);
    if (input.idempotencyKey !== undefined)
      await markCommitted(ctx, input, runId).catch(
        logLost(`marking the idempotency key of run ${runId} committed`),
      );
    return { record, existing: false };
  } catch (err) {
    await undo.run();
    throw err;
  }
}

/** Compensations for what a submission wrote, run newest first; each waits at most UNDO_WAIT_MS. */
class Rollback {
  private steps: (() => Promise<unknown>)[] = [];
  add(step: () => Promise<unknown>): void {
    this.steps.push(step);
  }
  /** The run is committed: nothing is to be undone any more. */
  clear(): void {
    this.steps = [];
  }
  async run(): Promise<void> {
    for (const step of this.steps.reverse()) {
      const done = step().catch(logLost('undoing a step of a submission that did not commit'));
      await Promise.race([done, new Promise((r) => setTimeout(r, UNDO_WAIT_MS).unref())]);
    }
    this.steps = [];
  }
}

function checkDeadline(deadline: number): void {
  if (Date.now() > deadline)
    throw new SubmitDeadlinePassed('the submission did not finish in time: nothing was created');
}

interface Claim {
  runId: string;
  bodyHash: string;
  /** epoch ms of the claim */
  at: number;
  /** set once the run is committed */
  committed?: boolean;
}

const keyOf = (ctx: RunsContext, input: SubmitInput) => ctx.keys.idempotency(sha256(input.idempotencyKey!));

/** Deletes KEYS[1] only while it holds ARGV[1]: a submission releases its own claim, never a newer one. */
const RELEASE_CLAIM = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0`;

/**
 * Claim the Idempotency-Key for `runId`, or answer the run an earlier request with the key made: that
 * request's run once it is committed; the key again when that request rolled back or died before
 * committing; 409 for another body or a run since deleted.
 */
async function claimKey(
  ctx: RunsContext,
  input: SubmitInput,
  runId: string,
  deadline: number,
  undo: Rollback,
): Promise<RunRecord | null> {
  const bodyHash = sha256(JSON.stringify({ dataset: input.dataset, params: input.params ?? null }));
  const key = keyOf(ctx, input);
  const giveUp = Math.min(deadline, Date.now() + 5000);
  for (;;) {
    const claim = JSON.stringify({ runId, bodyHash, at: Date.now() } satisfies Claim);
    // Undone even when the SET gets no answer: it may still run.
    undo.add(() => ctx.redis.eval(RELEASE_CLAIM, 1, key, claim));
    if ((await ctx.redis.set(key, claim, 'EX', IDEMPOTENCY_TTL_SECONDS, 'NX')) === 'OK') return null;
    undo.clear();
    const raw = await ctx.redis.get(key);
    if (raw === null) continue; // released meanwhile: claim it again
    const prior = JSON.parse(raw) as Claim;
    if (prior.bodyHash !== bodyHash) {
      throw new IdempotencyConflict(
        `the Idempotency-Key was used for a different request (run ${prior.runId})`,
      );
    }
    if (prior.committed) {
      const record = await ctx.store.read(prior.runId);
      if (record) return record;
      throw new IdempotencyConflict(
        `the Idempotency-Key's run ${prior.runId} no longer exists: use a new key`,
      );
    }
    if (Date.now() - (prior.at ?? 0) > ABANDONED_CLAIM_MS) {
      // Its submission died between writing and committing (or could not mark the commit): a run that is
      // there is the answer; otherwise the key is free again.
      const record = await ctx.store.read(prior.runId);
      if (record) return record;
      await ctx.redis.eval(RELEASE_CLAIM, 1, key, raw);
      continue;
    }
    if (Date.now() > giveUp) {
      throw new SubmitDeadlinePassed(
        `the Idempotency-Key's run ${prior.runId} is still being created by another request: nothing was created`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function markCommitted(ctx: RunsContext, input: SubmitInput, runId: string): Promise<void> {
  const key = keyOf(ctx, input);
  const raw = await ctx.redis.get(key);
  if (raw === null) return;
  const claim = JSON.parse(raw) as Claim;
  if (claim.runId !== runId) return;
  await ctx.redis.set(key, JSON.stringify({ ...claim, committed: true }), 'KEEPTTL', 'XX');
}

async function createRun(
  ctx: RunsContext,
  input: SubmitInput,
  runId: string,
  createdAt: Date,
  params: ReturnType<typeof resolvePipelineParams>,
  cache: boolean,
  digest: FileDigest,
  deadline: number,
  undo: Rollback,
): Promise<RunRecord> {
  const code = stageCodeIdentities();
  const cacheKeys = stageCacheKeys(digest.sha256, params, code);
  // An earlier run of the same dataset tells how many tickets it holds: parameters that cannot work with
  // that many fail here, before anything is enqueued, rather than in stage 2.
  const known = (await ctx.cache.get(cacheKeys['text-processing']))?.result as { rows?: unknown } | undefined;
  if (typeof known?.rows === 'number') {
    const problems = checkParamsAgainstData(params, known.rows);
    if (problems.length > 0)
      throw new BadInputError(`${problems.join('; ')} (the dataset holds ${known.rows} tickets)`);
  }
  checkDeadline(deadline);
  let record: RunRecord = {
    id: runId,
    state: 'waiting',
    dataset: input.dataset,
    datasetSha256: digest.sha256,
    datasetBytes: digest.bytes,
    params,
    cache,
    codeVersion: CODE_VERSION,
    createdAt: createdAt.toISOString(),
    startedAt: null,
    finishedAt: null,
    durationSeconds: null,
    progress: 0,
    generation: 1,
    stages: initialStages(cacheKeys, ctx.config.retry.attempts, code),
    error: null,
    metrics: null,
    warnings: [],
    events: [{ at: createdAt.toISOString(), event: 'created' }],
    ...(input.schedule ? { schedule: input.schedule } : {}),
  };
  // From here on the run has a folder (cache links, the record) and an index entry until committed.
  const written = record;
  undo.add(() => ctx.store.remove(written));
  let first: StageName | null = STAGES[0];
  if (cache) {
    first = null;
    for (const stage of STAGES) {
      const entry = await ctx.cache.get(cacheKeys[stage]);
      if (!entry || !(await ctx.cache.link(stage, entry.runId, runId))) {
        // An entry whose files are gone is stale: forget it, so this run's output can take its place.
        if (entry) await ctx.cache.forget(cacheKeys[stage], entry.runId);
        first = stage;
        break;
      }
      record.stages = record.stages.map((s) =>
        s.stage === stage
          ? {
              ...s,
              state: 'cached',
              cached: true,
              cachedFrom: entry.runId,
              progress: 100,
              result: entry.result,
              seconds: 0,
            }
          : s,
      );
    }
  }
  if (first !== null) {
    const from = first;
    record.stages = record.stages.map((s) =>
      STAGES.indexOf(s.stage) >= STAGES.indexOf(from)
        ? { ...s, jobId: stageJobId(runId, s.stage, 1), generation: 1 }
        : s,
    );
  }
  record = deriveRunFields(record, new Date());
  if (record.state === 'completed')
    record.events.push({ at: record.finishedAt!, event: 'completed', detail: 'every stage cached' });
  if (first === null) {
    // Every stage cached: the index entry is the commit.
    await ctx.store.writeStored(record);
    checkDeadline(deadline);
    await ctx.store.index(record);
    undo.clear();
    // A run that every stage's cache completed ends here: its hooks run at once, like any run's end.
    await runFinished(ctx, runId);
    return record;
  }
  // The record and its index entry before the flow: the first worker to start a job updates both.
  await ctx.store.write(record);
  checkDeadline(deadline);
  const flow = buildRunFlow(
    ctx.config,
    {
      runId,
      dataset: input.dataset,
      params,
      createdAt: record.createdAt,
      generation: 1,
      cacheKeys,
      code,
      datasetSha256: digest.sha256,
      datasetBytes: digest.bytes,
      codeVersion: CODE_VERSION,
    },
    first,
  );
  try {
    await ctx.flowProducer.add(flow);
  } catch (err) {
    undo.add(() => withdrawFlow(ctx, runId));
    throw err;
  }
  undo.clear();
  return record;
}

/**
 * Take back a flow whose MULTI got no answer and may still run: flag the run cancelled (a worker that
 * took a job meanwhile fails it at its start check) and remove the flow from its root job down.
 */
async function withdrawFlow(ctx: RunsContext, runId: string): Promise<void> {
  await Promise.all([
    ctx.redis.set(ctx.keys.cancelled(runId), '1', 'EX', WITHDRAWN_FLAG_SECONDS),
    ctx.queues[ROOT_STAGE].remove(stageJobId(runId, ROOT_STAGE, 1), { removeChildren: true }),
  ]);
}

/** `cache` is a run option, not a pipeline parameter: it changes how a run is computed, never its outputs. */
export function splitCacheFlag(params: unknown): { cache: boolean; overrides: unknown } {
  if (
    typeof params !== 'object' ||
    params === null ||
    Array.isArray(params) ||
    !Object.hasOwn(params, 'cache')
  ) {
    return { cache: true, overrides: params };
  }
  const { cache, ...overrides } = params as Record<string, unknown>;
  if (typeof cache !== 'boolean')
    throw new BadInputError(`parameter "cache" must be true or false, got ${JSON.stringify(cache)}`);
  return { cache, overrides };
}

export class IdempotencyConflict extends Error {
  override readonly name = 'IdempotencyConflict';
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
