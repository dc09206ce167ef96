import { RUN_ID_PATTERN } from '../../shared/core/storage';
import { RunsContext } from '../../shared/runtime/runs/context';
import { readRunLogs } from '../../shared/runtime/runs/run-logs';
import { errorResult as error, HandlerResult } from './handler-result';

/** The most lines `?limit=` may ask for. */
const MAX_LOG_LIMIT = 100_000;

/**
 * `GET /runs/:id/logs[?limit=N]`: the run's log lines from all its jobs (stage jobs of every generation,
 * chunk jobs) and from `runs/<id>/logs.jsonl` when present, merged in time order, as
 * `{id, total, lines: [{at, jobId, queue, line, source}]}`; with `limit`, the last N lines. 404 for
 * unknown runs, 400 for a bad limit or an unknown parameter.
 */
export async function getRunLogs(
  deps: RunsContext,
  id: string,
  query: Record<string, unknown> = {},
): Promise<HandlerResult> {
  if (!RUN_ID_PATTERN.test(id)) return error(404, `no run with id ${JSON.stringify(id)}`);
  const unknown = Object.keys(query).filter((k) => k !== 'limit');
  if (unknown.length > 0) return error(400, `unknown query parameter(s) ${unknown.join(', ')}: use limit`);
  let limit: number | undefined;
  if (query.limit !== undefined) {
    limit = typeof query.limit === 'string' && /^\d+$/.test(query.limit) ? Number(query.limit) : NaN;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LOG_LIMIT)
      return error(400, `"limit" must be a whole number from 1 to ${MAX_LOG_LIMIT}`);
  }
  const logs = await readRunLogs(deps, id, limit === undefined ? {} : { limit });
  return logs ? { status: 200, body: logs } : error(404, `no run with id ${JSON.stringify(id)}`);
}
