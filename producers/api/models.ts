import { ModelRegistry, NoDefaultModel, NoSuchModel } from '../../shared/runtime/runs/model-registry';
import { InvalidModelError } from '../../shared/pipeline/model/load-model';
import { answerError, errorResult as error, HandlerResult } from './handler-result';

/** At most this many tickets per POST /classify (the body is also capped at 1 MB). */
const MAX_TICKETS_PER_REQUEST = 1000;

/** NoSuchModel → 404, NoDefaultModel → 409, a bad alias name → 400. */
async function modelErrors(work: () => Promise<HandlerResult>): Promise<HandlerResult> {
  try {
    return await work();
  } catch (err) {
    // A model file removed behind ticketflow's back: the model is gone, not the server broken.
    if (
      err instanceof InvalidModelError &&
      (err.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT'
    )
      return error(404, `${err.message}: the model is gone; GET /models lists those that are there`);
    return answerError(err, [
      [NoSuchModel, 404],
      [NoDefaultModel, 409],
      [RangeError, 400],
    ]);
  }
}

/**
 * GET /models: the model versions (completed runs, newest first, each with the aliases naming it and the
 * promotion gate's decision on it, if any), every alias, dangling ones too (an alias whose run is gone,
 * being deleted or not completed), and each alias's moves, newest first.
 */
export async function listModels(registry: ModelRegistry): Promise<HandlerResult> {
  const [models, aliases] = await Promise.all([registry.list(), registry.aliasTable()]);
  const [gates, aliasHistory] = await Promise.all([
    registry.gateDecisions(models.map((m) => m.run)),
    registry.aliasHistories(Object.keys(aliases)),
  ]);
  return {
    status: 200,
    body: { models: models.map((m, i) => ({ ...m, gate: gates[i] ?? null })), aliases, aliasHistory },
  };
}

export function putAlias(registry: ModelRegistry, name: string, body: unknown): Promise<HandlerResult> {
  return modelErrors(async () => {
    const run = (body as { run?: unknown } | null)?.run;
    if (typeof run !== 'string' || Object.keys(body as object).length !== 1) {
      return error(400, 'the body must be {"run": "<id of a completed run>"}');
    }
    await registry.setAlias(name, run);
    return { status: 200, body: { alias: name, run } };
  });
}

interface Ticket {
  id?: string | number;
  text: string;
}

/** Validate the body of POST /classify: the first problem, naming the field and ticket index. */
function parseClassifyBody(
  body: unknown,
): { tickets: Ticket[]; model?: string; threshold?: number } | HandlerResult {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return error(
      400,
      'the body must be a JSON object: {"tickets": [{"id"?, "text"}], "model"?, "threshold"?}',
    );
  }
  const { tickets, model, threshold, ...rest } = body as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length > 0)
    return error(400, `unknown field(s) ${extra.join(', ')}: the body takes tickets, model, threshold`);
  if (!Array.isArray(tickets) || tickets.length === 0)
    return error(400, '"tickets" must be a non-empty array');
  if (tickets.length > MAX_TICKETS_PER_REQUEST) {
    return error(
      413,
      `${tickets.length} tickets in one request: at most ${MAX_TICKETS_PER_REQUEST} (use POST /classifications for batches)`,
    );
  }
  for (const [i, t] of tickets.entries()) {
    if (typeof t !== 'object' || t === null || Array.isArray(t))
      return error(400, `tickets[${i}] must be an object {"id"?, "text"}`);
    const { id, text } = t as Record<string, unknown>;
    if (text === undefined) return error(400, `tickets[${i}] has no "text"`);
    if (typeof text !== 'string') return error(400, `tickets[${i}].text must be a string`);
    if (id !== undefined && typeof id !== 'string' && typeof id !== 'number')
      return error(400, `tickets[${i}].id must be a string or a number`);
  }
  if (model !== undefined && typeof model !== 'string')
    return error(400, '"model" must be an alias or a run id');
  if (threshold !== undefined && (typeof threshold !== 'number' || !(threshold >= 0 && threshold <= 1))) {
    return error(400, '"threshold" must be a number from 0 to 1');
  }
  return {
    tickets: tickets as Ticket[],
    ...(model !== undefined ? { model } : {}),
    ...(threshold !== undefined ? { threshold } : {}),
  };
}

/**
 * POST /classify: each ticket's label, confidence, probabilities by class and whether the model abstained
 * (confidence below the threshold: label `needs_review`), with the model version that answered.
 */
export function classify(registry: ModelRegistry, body: unknown): Promise<HandlerResult> {
  return modelErrors(async () => {
    const parsed = parseClassifyBody(body);
    if ('status' in parsed) return parsed;
    const { run, alias } = await registry.resolve(parsed.model);
    const model = await registry.model(run);
    const threshold = parsed.threshold ?? model.file.threshold.value;
    const predictions = model.classify(
      parsed.tickets.map((t) => t.text),
      threshold,
    );
    return {
      status: 200,
      body: {
        model: { run, alias },
        threshold,
        predictions: predictions.map((p, i) => {
          const id = parsed.tickets[i]!.id;
          return { ...(id !== undefined ? { id } : {}), ...p };
        }),
      },
    };
  });
}
