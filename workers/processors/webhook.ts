import { Job, UnrecoverableError } from 'bullmq';
import { Redis } from 'ioredis';
import { TicketflowConfig } from '../../shared/core/config/config';
import { Logger } from '../../shared/core/logger';
import { deliveryBody, WebhookJobData } from '../../shared/runtime/events/webhook-events';
import {
  DeliveryAttempt,
  targetProblem,
  WebhookRegistry,
} from '../../shared/runtime/events/webhook-registry';
import { SIGNATURE_HEADER, signatureHeader } from '../../shared/runtime/events/signature';

/** How an attempt ended, for the log and the job. */
interface Outcome {
  status: number | null;
  error: string | null;
  /** the job fails for good: retrying cannot help */
  final?: boolean;
}

/**
 * Deliver one event to one webhook: POST the signed JSON body to its URL, without following redirects,
 * waiting at most `config.webhooks.timeoutMs`. A 2xx answer completes the job; any other answer or a
 * network error fails the attempt (BullMQ retries it with backoff); a URL the worker's allow-list no
 * longer holds fails it for good. Every attempt is appended to the webhook's delivery log. A webhook
 * deleted meanwhile gets nothing.
 */
export function webhookProcessor(config: TicketflowConfig, redis: Redis, log: Logger) {
  const registry = new WebhookRegistry(redis, config.queuePrefix);
  return async (job: Job<WebhookJobData>): Promise<{ status: number } | { skipped: string }> => {
    const data = job.data;
    const webhook = await registry.get(data.webhookId);
    if (!webhook) return { skipped: `webhook ${data.webhookId} was deleted` };
    const started = Date.now();
    const outcome = await attempt(config, webhook.url, webhook.secret, job);
    const entry: DeliveryAttempt = {
      event: data.event,
      eventId: data.eventId,
      delivery: job.id!,
      attempt: job.attemptsMade + 1,
      status: outcome.status,
      error: outcome.error,
      durationMs: Date.now() - started,
      at: new Date(started).toISOString(),
    };
    await registry
      .logAttempt(webhook.id, entry)
      .catch((err: Error) => log.warn(`delivery ${job.id}: its attempt was not logged: ${err.message}`));
    if (outcome.error === null) return { status: outcome.status! };
    const message = `delivery of ${data.event} ${data.eventId} to ${webhook.url}: ${outcome.error}`;
    if (outcome.final) throw new UnrecoverableError(message);
    throw new Error(message);
  };
}

async function attempt(
  config: TicketflowConfig,
  url: string,
  secret: string,
  job: Job<WebhookJobData>,
): Promise<Outcome> {
  // The allow-list may have changed since the webhook was registered: this worker's applies.
  const problem = targetProblem(new URL(url), config.webhooks.allowedHosts);
  if (problem !== null) return { status: null, error: problem, final: true };
  const body = deliveryBody(job.data);
  try {
    const res = await fetch(url, {
      method: 'POST',
      redirect: 'manual',
      signal: AbortSignal.timeout(config.webhooks.timeoutMs),
      headers: {
        'content-type': 'application/json',
        'X-Ticketflow-Event': job.data.event,
        'X-Ticketflow-Delivery': job.id!,
        [SIGNATURE_HEADER]: signatureHeader(secret, body, Math.floor(Date.now() / 1000)),
      },
      body,
    });
    await res.body?.cancel().catch(() => undefined);
    if (res.status >= 200 && res.status < 300) return { status: res.status, error: null };
    return { status: res.status, error: `the receiver answered ${res.status}` };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const why =
      e.name === 'TimeoutError'
        ? `no answer within ${config.webhooks.timeoutMs} ms (TICKETFLOW_WEBHOOK_TIMEOUT_MS)`
        : (e.cause?.code ?? e.cause?.message ?? e.message);
    return { status: null, error: why };
  }
}
