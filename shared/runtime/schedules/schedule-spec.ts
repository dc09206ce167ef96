import { getNextMillis } from 'bullmq';
import { TicketflowConfig } from '../../core/config/config';
import { resolvePipelineParams } from '../../core/config/pipeline-params';
import { openDatasetSource } from '../../core/dataset/open-dataset-source';
import { BadInputError } from '../../core/errors';
import { ALIAS_PATTERN } from '../runs/model-registry';
import { GATE_METRICS, GateMetric, PromoteSpec } from '../runs/record';
import { splitCacheFlag } from '../runs/submit';

/** Schedule ids: no ":" (BullMQ's tick job ids are `repeat:<id>:<ms>`), at most 64 characters. */
export const SCHEDULE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** A schedule as it is kept in Redis: what to train, when, and the promotion gate of its runs. */
export interface ScheduleDefinition {
  id: string;
  /** a cron pattern (5 or 6 fields, UTC), or */
  cron?: string;
  /** a period in seconds; exactly one of the two */
  everySeconds?: number;
  /** as POST /runs takes it: a name in the data root (or S3 prefix) */
  dataset: string;
  params?: Record<string, unknown>;
  promote?: PromoteSpec;
  enabled: boolean;
  createdAt: string;
}

const FIELDS = ['id', 'cron', 'everySeconds', 'dataset', 'params', 'promote'];
const PROMOTE_FIELDS = ['alias', 'metric', 'minDelta', 'floor'];

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const bad = (message: string): never => {
  throw new BadInputError(message);
};

function unknownFields(obj: Record<string, unknown>, allowed: string[], where: string): void {
  const extra = Object.keys(obj).filter((k) => !allowed.includes(k));
  if (extra.length > 0)
    bad(`unknown field(s) ${extra.join(', ')}${where}: the body takes ${allowed.join(', ')}`);
}

function parsePromote(raw: unknown): PromoteSpec {
  if (!isObject(raw))
    return bad('"promote" must be an object {"alias", "metric": "accuracy"|"macroF1", "minDelta", "floor"?}');
  unknownFields(raw, PROMOTE_FIELDS, ' in "promote"');
  const { alias, metric, minDelta, floor } = raw;
  if (typeof alias !== 'string' || !ALIAS_PATTERN.test(alias))
    bad('"promote.alias" must be a letter then up to 63 letters, digits, "_", "." or "-"');
  if (typeof metric !== 'string' || !GATE_METRICS.includes(metric as GateMetric))
    bad(`"promote.metric" must be one of ${GATE_METRICS.map((m) => `"${m}"`).join(', ')}`);
  if (typeof minDelta !== 'number' || !Number.isFinite(minDelta) || minDelta < -1 || minDelta > 1)
    bad('"promote.minDelta" must be a number from -1 to 1 (the score the challenger must gain)');
  if (floor !== undefined && (typeof floor !== 'number' || !(floor >= 0 && floor <= 1)))
    bad('"promote.floor" must be a number from 0 to 1');
  return {
    alias: alias as string,
    metric: metric as GateMetric,
    minDelta: minDelta as number,
    ...(floor !== undefined ? { floor: floor as number } : {}),
  };
}

/**
 * A POST /schedules body (or the CLI's options as one), checked field by field: BadInputError naming the
 * first field that is wrong. The dataset and parameters are checked as POST /runs checks them.
 */
export async function parseScheduleBody(
  config: TicketflowConfig,
  body: unknown,
  now = new Date(),
): Promise<ScheduleDefinition> {
  if (!isObject(body))
    return bad(
      'the body must be a JSON object: {"id", "cron" | "everySeconds", "dataset", "params"?, "promote"?}',
    );
  unknownFields(body, FIELDS, '');
  const { id, cron, everySeconds, dataset, params, promote } = body;
  if (typeof id !== 'string' || !SCHEDULE_ID_PATTERN.test(id))
    bad('"id" must be 1 to 64 letters, digits, "_", "." or "-", beginning with a letter or digit');
  if ((cron === undefined) === (everySeconds === undefined))
    bad('give exactly one of "cron" (a cron pattern) and "everySeconds" (a period in seconds)');
  if (cron !== undefined) {
    if (typeof cron !== 'string' || cron.trim() === '')
      bad('"cron" must be a cron pattern, e.g. "0 3 * * *"');
    let next: number | undefined;
    try {
      next = getNextMillis(now.getTime(), { pattern: cron as string });
    } catch (err) {
      bad(`"cron" ${JSON.stringify(cron)} is not a cron pattern: ${(err as Error).message}`);
    }
    if (next === undefined) bad(`"cron" ${JSON.stringify(cron)} never fires`);
  }
  if (everySeconds !== undefined && (!Number.isInteger(everySeconds) || (everySeconds as number) < 1))
    bad('"everySeconds" must be a whole number ≥ 1');
  if (params !== undefined && !isObject(params)) bad('"params" must be a JSON object of pipeline parameters');
  // As submitRun reads them: an invalid parameter is refused now, not at every tick.
  resolvePipelineParams(config.pipeline, splitCacheFlag(params).overrides);
  const { name } = await openDatasetSource(config).resolve(dataset);
  return {
    id: id as string,
    ...(cron !== undefined ? { cron: cron as string } : { everySeconds: everySeconds as number }),
    dataset: name,
    ...(params !== undefined ? { params: params as Record<string, unknown> } : {}),
    ...(promote !== undefined ? { promote: parsePromote(promote) } : {}),
    enabled: true,
    createdAt: now.toISOString(),
  };
}
