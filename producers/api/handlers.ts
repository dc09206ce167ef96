import { openDatasetSource } from '../../shared/core/dataset/open-dataset-source';
import { BadInputError, DataUnavailableError, StorageError } from '../../shared/core/errors';
import { QUEUES } from '../../shared/runtime/flow/queue-names';
import { RunsContext } from '../../shared/runtime/runs/context';
import { ModelRegistry } from '../../shared/runtime/runs/model-registry';
import { cancelRun, deleteRun, NoSuchRun, retryRun, RunConflict } from '../../shared/runtime/runs/control';
import { liveWorkers } from '../../shared/runtime/runs/heartbeats';
import { LISTED_STATES, ListedState } from '../../shared/runtime/runs/record';
import { IdempotencyConflict, submitRun, SubmitDeadlinePassed } from '../../shared/runtime/runs/submit';
import { readRun } from '../../shared/runtime/runs/sync';
import { RUN_ID_PATTERN } from '../../shared/core/storage';
import { LOCK_TTL_MS, LockBusy } from '../../shared/runtime/runs/run-lock';
import { writeRefusal } from '../../shared/runtime/redis/write-refusal';
import { logLost } from '../../shared/core/logger';
import { answerError, errorResult as error, HandlerResult } from './handler-result';
import { StoreHealthCheck } from './store-health';

/** What handlers need; passed in so tests use real Redis with their own prefix. */
export type ApiDeps = RunsContext & { registry: ModelRegistry; storeHealth: StoreHealthCheck };

const notFound = (id: string) => error(404, `no run with id ${JSON.stringify(id)}`);

/**
 * Submit a run. The dataset is hashed first, outside `redisDeadlineMs` (a large file takes seconds; the
 * hash cache makes an unchanged file's next submission instant, and bounds how many are hashed at once);
 * the deadline then covers the Redis part, which either commits the run (202) or rolls everything back
 * and answers 503: a 503 never leaves a run behind.
 */
export async function createRun(
  deps: ApiDeps,
  body: unknown,
  idempotencyKey: string | undefined,
  redisDeadlineMs?: number,
): Promise<HandlerResult> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return error(
      400,
      'the body must be a JSON object: {"dataset": "<path in the data root>", "params": {...}}',
    );
  }
  const { dataset, params, ...rest } = body as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length > 0)
    return error(400, `unknown field(s) ${extra.join(', ')}: the body takes "dataset" and "params"`);
  if (idempotencyKey !== undefined && (idempotencyKey.length === 0 || idempotencyKey.length > 255)) {
    return error(400, 'the Idempotency-Key header must hold 1 to 255 characters');
  }
  try {
    const datasets = openDatasetSource(deps.config);
    const { name, location } = await datasets.resolve(dataset);
    const { record, existing } = await submitRun(deps, {
      dataset: name,
      datasetFile: location,
      params,
      idempotencyKey,
      hash: (file) => datasets.digest(file),
      ...(redisDeadlineMs !== undefined ? { deadlineMs: redisDeadlineMs } : {}),
    });
    // The run is committed: a failure from here on must not answer as if it were not.
    const workers = await liveWorkers(deps.redis, deps.keys, QUEUES).catch(() => ({}));
    const idle = Object.entries(workers).filter(([, n]) => n === 0);
    const warnings =
      idle.length > 0 && record.state !== 'completed'
        ? [
            `no live worker serves ${idle.map(([q]) => q).join(', ')}: the run waits until one does (npm run worker)`,
          ]
        : [];
    return {
      status: existing ? 200 : 202,
      body: {
        id: record.id,
        state: record.state,
        status: `/runs/${record.id}`,
        ...(existing ? { existing } : {}),
        warnings,
      },
    };
  } catch (err) {
    if (err instanceof SubmitDeadlinePassed)
      return error(
        503,
        `Redis at ${deps.config.redisUrl} did not answer in time: ${err.message}; try again shortly`,
      );
    // Storage that cannot be written (full, read-only) is the deployment's problem, not the request's.
    return answerError(err, [
      [StorageError, 507],
      [BadInputError, 400],
      [IdempotencyConflict, 409],
      [DataUnavailableError, 503],
    ]);
  }
}

export async function getRun(deps: ApiDeps, id: string): Promise<HandlerResult> {
  if (!RUN_ID_PATTERN.test(id)) return notFound(id);
  const record = await readRun(deps, id);
  if (record) return { status: 200, body: record };
  if (await deps.store.deletion(id))
    return error(404, `run ${id} is being deleted (DELETE /runs/${id} finishes a delete that was cut short)`);
  return notFound(id);
}

const LIST_PARAMS = new Set(['state', 'limit', 'cursor']);

export async function getRuns(deps: ApiDeps, query: Record<string, unknown>): Promise<HandlerResult> {
  const unknown = Object.keys(query).filter((k) => !LIST_PARAMS.has(k));
  if (unknown.length > 0)
    return error(400, `unknown query parameter(s) ${unknown.join(', ')}: use state, limit, cursor`);
  const { state, limit: limitParam, cursor } = query;
  const limit = limitParam === undefined ? 50 : Number(limitParam);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
    return error(400, '"limit" must be a whole number from 1 to 1000');
  if (state !== undefined && (typeof state !== 'string' || !LISTED_STATES.includes(state as ListedState))) {
    return error(400, `"state" must be one of ${LISTED_STATES.join(', ')}`);
  }
  if (cursor !== undefined && typeof cursor !== 'string') return error(400, '"cursor" must be given once');
  try {
    const page = await deps.store.list({ state: state as ListedState | undefined, limit, cursor });
    return { status: 200, body: page };
  } catch (err) {
    return answerError(err, [[RangeError, 400]]);
  }
}

/**
 * Run control: 404 for unknown runs, 409 when the run's state does not allow the action, 507 when storage
 * cannot take the change (read-only, full): then nothing was changed.
 */
async function control(id: string, action: () => Promise<HandlerResult>): Promise<HandlerResult> {
  if (!RUN_ID_PATTERN.test(id)) return notFound(id);
  try {
    return await action();
  } catch (err) {
    if (err instanceof LockBusy)
      return error(
        409,
        `run ${id} is locked by another operation (one whose process died holds it at most ${LOCK_TTL_MS / 1000} s): try again shortly`,
      );
    return answerError(err, [
      [NoSuchRun, 404],
      [RunConflict, 409],
      [StorageError, 507],
      [DataUnavailableError, 503],
    ]);
  }
}

/**
 * Before a retry's Redis deadline starts: hash the run's dataset into the hash cache, so the retry's check
 * that stage 1's input is unchanged reads nothing under the deadline (a large file takes seconds, which is
 * not Redis being slow). Reads the record file only; any problem is left for the retry itself to report.
 */
export async function prepareRetry(deps: ApiDeps, id: string): Promise<void> {
  if (!RUN_ID_PATTERN.test(id)) return;
  const record = await deps.store.readStored(id).catch(() => null);
  if (typeof record?.dataset !== 'string') return;
  const datasets = openDatasetSource(deps.config);
  await datasets
    .digest(datasets.locate(record.dataset))
    .catch(logLost(`hashing the dataset of run ${id} ahead of its retry`));
}

export function retry(deps: ApiDeps, id: string): Promise<HandlerResult> {
  return control(id, async () => {
    const record = await deps.store.read(id);
    const datasets = openDatasetSource(deps.config);
    const file = record ? datasets.locate(record.dataset) : null;
    const next = await retryRun(deps, id, file, (f) => datasets.digest(f));
    return {
      status: 202,
      body: { id, state: next.state, generation: next.generation, status: `/runs/${id}` },
    };
  });
}

export function cancel(deps: ApiDeps, id: string): Promise<HandlerResult> {
  return control(id, async () => {
    const { record, stoppedSeconds } = await cancelRun(deps, id);
    return { status: 200, body: { id, state: record.state, stoppedSeconds } };
  });
}

/**
 * DELETE /runs/:id[?force=1]: 409 naming the aliases when an alias names the run, unless `force=1`, which
 * removes them too. A repeated DELETE finishes a delete that was cut short (200, `resumed: true`).
 */
export function remove(
  deps: ApiDeps,
  id: string,
  query: Record<string, unknown> = {},
): Promise<HandlerResult> {
  const unknown = Object.keys(query).filter((k) => k !== 'force');
  if (unknown.length > 0)
    return Promise.resolve(error(400, `unknown query parameter(s) ${unknown.join(', ')}: use force=1`));
  const force = query.force;
  if (force !== undefined && force !== '1' && force !== '0' && force !== 'true' && force !== 'false')
    return Promise.resolve(
      error(400, '"force" must be 1 (or true) to remove the aliases that name the run, or 0'),
    );
  return control(id, async () => {
    // The lock wait stays within the Redis deadline: a lock left by a killed process answers 409, not 503.
    const { aliasesRemoved, resumed } = await deleteRun(deps, id, {
      lockWaitMs: 1000,
      force: force === '1' || force === 'true',
    });
    // This process's loaded copy goes too: the model no longer exists.
    deps.registry.forget(id);
    return { status: 200, body: { id, deleted: true, aliasesRemoved, ...(resumed ? { resumed } : {}) } };
  });
}

/**
 * Ready: Redis answers, accepts writes, the artifact store can be reached and written (`store` names it and
 * says why not), and every queue has a live worker (by heartbeat).
 */
export async function ready(deps: ApiDeps): Promise<HandlerResult> {
  // Checked alongside Redis: its own time limit (STORE_CHECK_MS) is below the Redis deadline.
  const storeHealth = deps.storeHealth.health();
  await deps.redis.ping();
  // A Redis that answers may still refuse every write (MISCONF: it cannot persist): nothing could run.
  const refusal = await deps.redis.set(deps.keys.writeProbe, 'readyz', 'PX', 10_000).then(
    () => null,
    (err: Error) => writeRefusal(err) ?? Promise.reject(err),
  );
  if (refusal !== null) {
    const problem = `Redis at ${deps.config.redisUrl} ${refusal.what} (${refusal.detail})`;
    return { status: 503, body: { ready: false, redis: 'refusing writes', problem } };
  }
  const workers = await liveWorkers(deps.redis, deps.keys, QUEUES);
  const { problem: storeProblem, ...store } = await storeHealth;
  const idle = Object.entries(workers)
    .filter(([, n]) => n === 0)
    .map(([q]) => q);
  const problems = [
    ...(storeProblem === undefined ? [] : [storeProblem]),
    ...(idle.length > 0 ? [`no live worker serves ${idle.join(', ')}`] : []),
  ];
  return {
    status: problems.length === 0 ? 200 : 503,
    body: {
      ready: problems.length === 0,
      redis: 'ok',
      store,
      workers,
      ...(problems.length > 0 ? { problem: problems.join('; ') } : {}),
    },
  };
}
