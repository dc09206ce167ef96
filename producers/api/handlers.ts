import fs from 'node:fs/promises';
import path from 'node:path';
import { FlowProducer } from 'bullmq';
import { TicketflowConfig } from '../../shared/config/config';
import { BadInputError } from '../../shared/errors';
import { enqueueRun } from '../../shared/flow/enqueue';
import { Queues } from '../../shared/flow/queues';
import { RUN_ID_PATTERN } from '../../shared/flow/run-id';
import { getRunStatus, listRuns } from '../../shared/flow/run-status';

/** What handlers need; passed in so tests use real Redis with their own prefix. */
export interface ApiDeps {
  config: TicketflowConfig;
  queues: Queues;
  flowProducer: FlowProducer;
}

/** A handler's answer, independent of the HTTP framework. */
export interface HandlerResult {
  status: number;
  body: unknown;
}

const error = (status: number, message: string): HandlerResult => ({ status, body: { error: message } });

/**
 * Resolve a dataset named relative to the data root; anything that escapes the root (.., absolute
 * paths, symlinks pointing out) or is not a readable file is refused with the reason.
 */
export async function resolveDataset(dataDir: string, dataset: unknown): Promise<string> {
  if (typeof dataset !== 'string' || dataset.trim() === '') {
    throw new BadInputError('"dataset" must be a path relative to the data root, e.g. "complaints.json"');
  }
  if (path.isAbsolute(dataset))
    throw new BadInputError(`"dataset" must be relative to the data root (${dataDir}), got an absolute path`);
  const root = await fs.realpath(dataDir).catch(() => {
    throw new Error(
      `the data root ${dataDir} does not exist: set TICKETFLOW_DATA_DIR to the folder holding your datasets`,
    );
  });
  const candidate = path.resolve(root, dataset);
  const real = await fs.realpath(candidate).catch(() => null);
  const inside = (p: string) => p === root || p.startsWith(root + path.sep);
  if (!inside(candidate) || (real !== null && !inside(real))) {
    throw new BadInputError(`"dataset" ${JSON.stringify(dataset)} resolves outside the data root ${dataDir}`);
  }
  if (real === null)
    throw new BadInputError(
      `"dataset" ${JSON.stringify(dataset)} does not exist in the data root ${dataDir}`,
    );
  const stat = await fs.stat(real);
  if (!stat.isFile()) throw new BadInputError(`"dataset" ${JSON.stringify(dataset)} is not a file`);
  return path.relative(root, real);
}

export async function createRun(deps: ApiDeps, body: unknown): Promise<HandlerResult> {
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
  try {
    const relative = await resolveDataset(deps.config.dataDir, dataset);
    const id = await enqueueRun(deps.flowProducer, deps.config, { dataset: relative, params });
    return { status: 202, body: { id, status: `/runs/${id}` } };
  } catch (err) {
    if (err instanceof BadInputError) return error(400, err.message);
    throw err;
  }
}

export async function getRun(deps: ApiDeps, id: string): Promise<HandlerResult> {
  if (!RUN_ID_PATTERN.test(id)) return error(404, `no run with id ${JSON.stringify(id)}`);
  const status = await getRunStatus(deps.queues, id);
  return status ? { status: 200, body: status } : error(404, `no run with id ${JSON.stringify(id)}`);
}

export async function getRuns(deps: ApiDeps, limitParam: unknown): Promise<HandlerResult> {
  const limit = limitParam === undefined ? 50 : Number(limitParam);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
    return error(400, '"limit" must be a whole number from 1 to 1000');
  const runs = await listRuns(deps.queues, limit);
  const withState = await Promise.all(
    runs.map(async (r) => ({ ...r, state: (await getRunStatus(deps.queues, r.id))?.state ?? 'unknown' })),
  );
  return { status: 200, body: { runs: withState } };
}
