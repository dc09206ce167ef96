import { createHash } from 'node:crypto';
import { JobsOptions } from 'bullmq';
import { createLogger, Logger } from '../../core/logger';
import { WEBHOOK_QUEUE } from '../flow/queue-names';
import { RunsContext } from '../runs/context';
import { WebhookEvent, WebhookRegistry } from './webhook-registry';

/** The run of a `run.completed` or `run.failed` event. */
export interface RunEventPayload {
  runId: string;
  state: 'completed' | 'failed';
  generation: number;
  dataset: string;
  /** completed runs: accuracy on the test split */
  testAccuracy?: number;
  /** failed runs: the stage that failed and why */
  error?: { stage: string; message: string };
}

/** What each event's body holds besides `event`, `id` and `occurredAt`. */
export interface WebhookPayloads {
  'run.completed': RunEventPayload;
  'run.failed': RunEventPayload;
  /** an alias moved: `previous` is the run it named before (null: the alias is new) */
  'model.promoted': { alias: string; run: string; previous: string | null };
  'classification.completed': {
    classificationId: string;
    dataset: string;
    model: string;
    tickets: number;
    abstained: number;
    abstentionRate: number;
    /** tickets per label, `needs_review` for abstained ones */
    counts: Record<string, number>;
  };
}

/** A delivery job's data: everything but the webhook's URL and secret, read at delivery. */
export interface WebhookJobData {
  /** the job id: a delivery belongs to no run, so its own id stands in (as a classification's does) */
  runId: string;
  webhookId: string;
  event: WebhookEvent;
  eventId: string;
  occurredAt: string;
  payload: Record<string, unknown>;
}

/** What emitting needs of a process: its Redis connection, configuration and the webhooks queue. */
export type EventContext = Pick<RunsContext, 'redis' | 'config' | 'queues'>;

/**
 * The delivery job id of an event to a webhook, the same wherever and however often the event is
 * emitted: BullMQ adds nothing for an id it still holds, so each webhook gets an event once. Hashed, as
 * event ids hold ":", which job ids may not.
 */
export function deliveryJobId(webhookId: string, eventId: string): string {
  return `${webhookId}-${createHash('sha256').update(eventId).digest('hex').slice(0, 32)}`;
}

/** The JSON body a receiver gets: the same bytes on every attempt. */
export function deliveryBody(
  data: Pick<WebhookJobData, 'event' | 'eventId' | 'occurredAt' | 'payload'>,
): string {
  return JSON.stringify({
    event: data.event,
    id: data.eventId,
    occurredAt: data.occurredAt,
    ...data.payload,
  });
}

/**
 * Queue one delivery of event `eventId` to every webhook subscribed to `event`; returns the delivery job
 * ids. An event emitted again (two processes saw the same run end) adds nothing while its jobs are kept
 * (TICKETFLOW_JOB_RETENTION_*).
 */
export async function emitEvent<E extends WebhookEvent>(
  ctx: EventContext,
  event: E,
  eventId: string,
  payload: WebhookPayloads[E],
  occurredAt: Date = new Date(),
): Promise<string[]> {
  const webhooks = (await new WebhookRegistry(ctx.redis, ctx.config.queuePrefix).list()).filter((w) =>
    w.events.includes(event),
  );
  if (webhooks.length === 0) return [];
  const keep = { age: ctx.config.jobRetention.seconds, count: ctx.config.jobRetention.count };
  const jobs = webhooks.map((w) => {
    const jobId = deliveryJobId(w.id, eventId);
    const data: WebhookJobData = {
      runId: jobId,
      webhookId: w.id,
      event,
      eventId,
      occurredAt: occurredAt.toISOString(),
      payload: payload as unknown as Record<string, unknown>,
    };
    const opts: JobsOptions = {
      jobId,
      attempts: 5,
      backoff: { type: 'exponential', delay: ctx.config.webhooks.backoffMs },
      removeOnComplete: keep,
      removeOnFail: keep,
    };
    return { name: event, data, opts };
  });
  await ctx.queues[WEBHOOK_QUEUE].addBulk(jobs);
  return jobs.map((j) => j.opts.jobId!);
}

let defaultLog: Logger | undefined;
const logOf = (ctx: EventContext) =>
  (defaultLog ??= createLogger(ctx.config.logLevel, { component: 'webhooks' }));

/**
 * A run-finished hook (register it beside writeRunReport): `run.completed` or `run.failed` for the run,
 * with event id `run.<state>:<runId>:<generation>`, so a retried run that ends again is a new event.
 */
export async function emitRunFinished(ctx: RunsContext, runId: string): Promise<void> {
  const record = await ctx.store.read(runId);
  if (!record || (record.state !== 'completed' && record.state !== 'failed')) return;
  const payload: RunEventPayload = {
    runId,
    state: record.state,
    generation: record.generation,
    dataset: record.dataset,
    ...(record.metrics ? { testAccuracy: record.metrics.test.accuracy } : {}),
    ...(record.error ? { error: record.error } : {}),
  };
  await emitEvent(
    ctx,
    `run.${record.state}`,
    `run.${record.state}:${runId}:${record.generation}`,
    payload,
    record.finishedAt ? new Date(record.finishedAt) : new Date(),
  );
}

/**
 * `model.promoted` for an alias moved to `run` (from `previous`), event id
 * `model.promoted:<alias>:<run>:<ms>`. Never throws: the alias has moved whatever the webhooks do; a
 * failure to queue the deliveries is logged.
 */
export async function emitModelPromoted(
  ctx: EventContext,
  promotion: WebhookPayloads['model.promoted'],
  at: Date = new Date(),
): Promise<void> {
  await emitEvent(
    ctx,
    'model.promoted',
    `model.promoted:${promotion.alias}:${promotion.run}:${at.getTime()}`,
    promotion,
    at,
  ).catch((err: Error) =>
    logOf(ctx).warn(
      `alias ${promotion.alias} moved to ${promotion.run}, but its model.promoted webhooks were not queued: ${err.message}`,
    ),
  );
}

/** The fields of a batch classification's summary (summary.json) its event carries. */
type ClassificationTotals = Omit<WebhookPayloads['classification.completed'], 'classificationId'> & {
  id: string;
};

/**
 * `classification.completed` for a classification's summary, event id `classification.completed:<id>`.
 * Never throws: the classification is complete whatever the webhooks do; a failure to queue is logged.
 */
export async function emitClassificationCompleted(
  ctx: EventContext,
  summary: ClassificationTotals,
  at: Date = new Date(),
): Promise<void> {
  const payload: WebhookPayloads['classification.completed'] = {
    classificationId: summary.id,
    dataset: summary.dataset,
    model: summary.model,
    tickets: summary.tickets,
    abstained: summary.abstained,
    abstentionRate: summary.abstentionRate,
    counts: summary.counts,
  };
  await emitEvent(
    ctx,
    'classification.completed',
    `classification.completed:${summary.id}`,
    payload,
    at,
  ).catch((err: Error) =>
    logOf(ctx).warn(
      `classification ${summary.id} completed, but its webhooks were not queued: ${err.message}`,
    ),
  );
}
