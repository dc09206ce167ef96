import { createHash } from 'node:crypto';
import { checkParamsAgainstData, resolvePipelineParams } from '../config/pipeline-params';
import { STAGES, StageName } from '../config/stages';
import { BadInputError } from '../errors';
import { hashFile } from '../dataset/hash-file';
import { buildRunFlow } from '../flow/build-flow';
import { newRunId } from '../flow/run-id';
import { stageJobId } from '../flow/job-types';
import { CODE_VERSION } from './code-version';
import { writeRunReport } from '../report/run-report';
import { RunsContext } from './context';
import { deriveRunFields, initialStages, RunRecord } from './record';
import { stageCacheKeys } from './stage-cache';

export interface SubmitInput {
  /** the dataset as job data carries it: absolute, or relative to each worker's data root */
  dataset: string;
  /** the same file as this process reads it, to hash it */
  datasetFile: string;
  /** per-run overrides of the pipeline parameters, plus `cache: false` to compute every stage */
  params?: unknown;
  /** the client's Idempotency-Key: the same key answers the same run */
  idempotencyKey?: string;
}

export interface SubmitResult {
  record: RunRecord;
  /** true when an earlier submission with the same idempotency key made this run */
  existing: boolean;
}

/** How long an Idempotency-Key keeps answering the same run. */
export const IDEMPOTENCY_TTL_SECONDS = 48 * 3600;

/**
 * Submit a run: validate the parameters, hash the dataset, reuse every stage the stage cache holds (in
 * flow order, up to the first miss), write the run record, and add a flow for the stages left. A run
 * whose every stage is cached is complete at once and adds no job.
 */
export async function submitRun(ctx: RunsContext, input: SubmitInput): Promise<SubmitResult> {
  const { cache, overrides } = splitCacheFlag(input.params);
  const params = resolvePipelineParams(ctx.config.pipeline, overrides);
  const createdAt = new Date();
  const runId = newRunId(createdAt);
  if (input.idempotencyKey !== undefined) {
    const bodyHash = sha256(JSON.stringify({ dataset: input.dataset, params: input.params ?? null }));
    const key = ctx.keys.idempotency(sha256(input.idempotencyKey));
    const claim = JSON.stringify({ runId, bodyHash });
    const won = await ctx.redis.set(key, claim, 'EX', IDEMPOTENCY_TTL_SECONDS, 'NX');
    if (won !== 'OK') {
      const prior = JSON.parse((await ctx.redis.get(key)) ?? claim) as { runId: string; bodyHash: string };
      if (prior.bodyHash !== bodyHash) {
        throw new IdempotencyConflict(
          `the Idempotency-Key was used for a different request (run ${prior.runId})`,
        );
      }
      const record = await waitForRecord(ctx, prior.runId);
      if (record) return { record, existing: true };
      throw new IdempotencyConflict(
        `the Idempotency-Key's run ${prior.runId} no longer exists: use a new key`,
      );
    }
  }
  try {
    return { record: await createRun(ctx, input, runId, createdAt, params, cache), existing: false };
  } catch (err) {
    if (input.idempotencyKey !== undefined)
      await ctx.redis.del(ctx.keys.idempotency(sha256(input.idempotencyKey)));
    throw err;
  }
}

async function createRun(
  ctx: RunsContext,
  input: SubmitInput,
  runId: string,
  createdAt: Date,
  params: ReturnType<typeof resolvePipelineParams>,
  cache: boolean,
): Promise<RunRecord> {
  const digest = await hashFile(input.datasetFile).catch((err: NodeJS.ErrnoException) => {
    throw new BadInputError(`${input.datasetFile}: cannot read the dataset (${err.code ?? err.message})`);
  });
  const cacheKeys = stageCacheKeys(digest.sha256, params);
  // An earlier run of the same dataset tells how many tickets it holds: parameters that cannot work with
  // that many fail here, before anything is enqueued, rather than in stage 2.
  const known = (await ctx.cache.get(cacheKeys['text-processing']))?.result as { rows?: unknown } | undefined;
  if (typeof known?.rows === 'number') {
    const problems = checkParamsAgainstData(params, known.rows);
    if (problems.length > 0)
      throw new BadInputError(`${problems.join('; ')} (the dataset holds ${known.rows} tickets)`);
  }
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
    stages: initialStages(cacheKeys, ctx.config.tags, ctx.config.retry.attempts),
    error: null,
    metrics: null,
    warnings: [],
    events: [{ at: createdAt.toISOString(), event: 'created' }],
  };
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
  await ctx.store.write(record).catch(async (err: unknown) => {
    // Refused (e.g. a full disk): leave no folder of cached stages' links behind.
    await ctx.store.removeFiles(runId).catch(() => undefined);
    throw err;
  });
  // A run that every stage's cache completed has its report at once, like any run that ends.
  if (first === null) await writeRunReport(ctx, runId).catch(() => undefined);
  if (first !== null) {
    try {
      await ctx.flowProducer.add(
        buildRunFlow(
          ctx.config,
          {
            runId,
            dataset: input.dataset,
            params,
            createdAt: record.createdAt,
            generation: 1,
            cacheKeys,
            datasetSha256: digest.sha256,
            codeVersion: CODE_VERSION,
          },
          first,
        ),
      );
    } catch (err) {
      // Nothing was enqueued: leave no record that says "waiting" forever.
      await ctx.store.remove(record).catch(() => undefined);
      throw err;
    }
  }
  return record;
}

/** `cache` is a run option, not a pipeline parameter: it changes how a run is computed, never its outputs. */
function splitCacheFlag(params: unknown): { cache: boolean; overrides: unknown } {
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

/** The run an earlier request with the same key is still creating: wait for its record briefly. */
async function waitForRecord(ctx: RunsContext, runId: string): Promise<RunRecord | null> {
  for (let i = 0; i < 100; i++) {
    const record = await ctx.store.read(runId);
    if (record) return record;
    await new Promise((r) => setTimeout(r, 50));
  }
  return null;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
