import { BadInputError } from '../../shared/core/errors';
import { RunsContext } from '../../shared/runtime/runs/context';
import {
  DELIVERY_LOG_LENGTH,
  parseRegistration,
  publicWebhook,
  WebhookRegistry,
} from '../../shared/runtime/events/webhook-registry';
import { answerError, errorResult as error, HandlerResult } from './handler-result';

const registryOf = (deps: RunsContext) => new WebhookRegistry(deps.redis, deps.config.queuePrefix);
const notFound = (id: string) =>
  error(404, `no webhook with id ${JSON.stringify(id)}: GET /webhooks lists them`);

/**
 * POST /webhooks `{url, events, secret}`: 201 `{id, url, events, createdAt}` (the secret is kept to sign
 * deliveries, never shown); 400 naming the field, or TICKETFLOW_WEBHOOK_ALLOWED_HOSTS when the URL's host
 * and port are not in it.
 */
export async function createWebhook(deps: RunsContext, body: unknown): Promise<HandlerResult> {
  try {
    const fields = parseRegistration(body, deps.config.webhooks.allowedHosts);
    return { status: 201, body: publicWebhook(await registryOf(deps).create(fields)) };
  } catch (err) {
    return answerError(err, [[BadInputError, 400]]);
  }
}

/** GET /webhooks: every webhook, oldest first, without secrets. */
export async function listWebhooks(deps: RunsContext): Promise<HandlerResult> {
  const webhooks = await registryOf(deps).list();
  return { status: 200, body: { webhooks: webhooks.map(publicWebhook) } };
}

/** DELETE /webhooks/:id: the webhook and its delivery log; deliveries still queued send nothing. */
export async function deleteWebhook(deps: RunsContext, id: string): Promise<HandlerResult> {
  return (await registryOf(deps).remove(id)) ? { status: 200, body: { id, deleted: true } } : notFound(id);
}

/**
 * GET /webhooks/:id/deliveries?limit=: the newest attempts first (default 50, at most the
 * DELIVERY_LOG_LENGTH kept): event, event id, delivery id, attempt, HTTP status or error, duration, time.
 */
export async function webhookDeliveries(
  deps: RunsContext,
  id: string,
  query: Record<string, unknown>,
): Promise<HandlerResult> {
  const unknown = Object.keys(query).filter((k) => k !== 'limit');
  if (unknown.length > 0) return error(400, `unknown query parameter(s) ${unknown.join(', ')}: use limit`);
  let limit = 50;
  if (query.limit !== undefined) {
    limit = typeof query.limit === 'string' && /^\d+$/.test(query.limit) ? Number(query.limit) : NaN;
    if (!Number.isInteger(limit) || limit < 1 || limit > DELIVERY_LOG_LENGTH)
      return error(400, `"limit" must be a whole number from 1 to ${DELIVERY_LOG_LENGTH}`);
  }
  const registry = registryOf(deps);
  if (!(await registry.get(id))) return notFound(id);
  return { status: 200, body: { id, deliveries: await registry.deliveries(id, limit) } };
}
