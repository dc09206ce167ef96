import { getClassification } from '../../shared/runtime/classify/batch';
import { RunsContext } from '../../shared/runtime/runs/context';
import { errorResult as error, HandlerResult } from './handler-result';

/** Each listed classification's status is read from its files (and job): the bound keeps a page quick. */
export const CLASSIFICATION_LIST_LIMITS = { default: 50, max: 200 } as const;

/** One classification as `GET /classifications` lists it. */
export interface ClassificationRow {
  id: string;
  /** run id of the model */
  model: string;
  dataset: string;
  state: string;
  progress: number;
  createdAt: string;
  /** tickets classified, once completed */
  tickets: number | null;
  abstentionRate: number | null;
}

/**
 * `GET /classifications?limit=`: the newest classifications first, from the Redis index that
 * submission writes (members `<createdAt ms, 15 digits>|<id>`, so reverse lex order is newest first); an
 * entry whose `classification.json` is gone is left out.
 */
export async function listClassifications(
  ctx: RunsContext,
  query: Record<string, unknown>,
): Promise<HandlerResult> {
  const unknown = Object.keys(query).filter((k) => k !== 'limit');
  if (unknown.length > 0) return error(400, `unknown query parameter(s) ${unknown.join(', ')}: use limit`);
  const { max } = CLASSIFICATION_LIST_LIMITS;
  if (query.limit !== undefined && typeof query.limit !== 'string')
    return error(400, '"limit" must be given once');
  const limit = query.limit === undefined ? CLASSIFICATION_LIST_LIMITS.default : Number(query.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > max)
    return error(400, `"limit" must be a whole number from 1 to ${max}`);
  const members = await ctx.redis.zrevrangebylex(ctx.keys.classifications, '+', '-', 'LIMIT', 0, limit);
  const ids = members.map((m) => m.slice(m.indexOf('|') + 1));
  const statuses = await Promise.all(ids.map((id) => getClassification(ctx, id)));
  const classifications: ClassificationRow[] = [];
  for (const s of statuses) {
    if (s === null) continue;
    classifications.push({
      id: s.id,
      model: s.model,
      dataset: s.dataset,
      state: s.state,
      progress: s.progress,
      createdAt: s.createdAt,
      tickets: s.summary?.tickets ?? null,
      abstentionRate: s.summary?.abstentionRate ?? null,
    });
  }
  return { status: 200, body: { classifications } };
}
