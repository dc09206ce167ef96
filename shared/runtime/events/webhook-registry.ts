import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { BadInputError } from '../../core/errors';
import { webhookKeys } from './webhook-keys';

/** The events a webhook may subscribe to. */
export const WEBHOOK_EVENTS = [
  'run.completed',
  'run.failed',
  'model.promoted',
  'classification.completed',
] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

export const isWebhookEvent = (e: unknown): e is WebhookEvent =>
  (WEBHOOK_EVENTS as readonly unknown[]).includes(e);

/** A registered webhook as stored: the secret never leaves the registry but to sign deliveries. */
export interface Webhook {
  id: string;
  url: string;
  events: WebhookEvent[];
  secret: string;
  createdAt: string;
}

/** A webhook as the API shows it. */
export type PublicWebhook = Omit<Webhook, 'secret'>;

/** One delivery attempt in a webhook's log. */
export interface DeliveryAttempt {
  event: WebhookEvent;
  eventId: string;
  /** the job id, sent as `X-Ticketflow-Delivery` */
  delivery: string;
  /** 1 for the first attempt */
  attempt: number;
  /** the receiver's HTTP status, or null when no answer came */
  status: number | null;
  /** why the attempt failed (network error, timeout, non-2xx, URL no longer allowed), or null */
  error: string | null;
  durationMs: number;
  at: string;
}

/** Attempts kept per webhook: the newest. */
export const DELIVERY_LOG_LENGTH = 200;

const SECRET_LENGTH = { min: 16, max: 256 };
const MAX_URL_LENGTH = 2048;
const WEBHOOK_ID_PATTERN = /^wh-[0-9a-f]{16}$/;

/** The variable that lists the hosts webhooks may be sent to. */
export const ALLOW_LIST_VARIABLE = 'TICKETFLOW_WEBHOOK_ALLOWED_HOSTS';

/**
 * Whether `url` names a host and port of `allowedHosts` (config.webhooks.allowedHosts: `host` for its
 * scheme's default port, `host:port` for that port).
 */
export function hostAllowed(url: URL, allowedHosts: readonly string[]): boolean {
  const defaultPort = url.protocol === 'https:' ? 443 : 80;
  const port = url.port === '' ? defaultPort : Number(url.port);
  const host = url.hostname.toLowerCase();
  return allowedHosts.includes(`${host}:${port}`) || (port === defaultPort && allowedHosts.includes(host));
}

/** Why webhooks may not be sent to `url`, naming the allow-list variable, or null when they may. */
export function targetProblem(url: URL, allowedHosts: readonly string[]): string | null {
  if (allowedHosts.length === 0)
    return `webhooks are refused: ${ALLOW_LIST_VARIABLE} is empty; set it to the receivers' host or host:port (comma-separated)`;
  if (hostAllowed(url, allowedHosts)) return null;
  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
  return `${url.hostname}:${port} is not in ${ALLOW_LIST_VARIABLE} (${allowedHosts.join(',')})`;
}

/** Check a registration's body: the webhook to store, or BadInputError naming the field. */
export function parseRegistration(
  body: unknown,
  allowedHosts: readonly string[],
): Omit<Webhook, 'id' | 'createdAt'> {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new BadInputError('the body must be a JSON object: {"url", "events", "secret"}');
  const { url, events, secret, ...rest } = body as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length > 0)
    throw new BadInputError(`unknown field(s) ${extra.join(', ')}: the body takes url, events, secret`);
  if (typeof url !== 'string' || url === '' || url.length > MAX_URL_LENGTH)
    throw new BadInputError(`"url" must be an http or https URL of at most ${MAX_URL_LENGTH} characters`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new BadInputError(`"url" is not a URL: ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new BadInputError(`"url" must be http or https, not ${parsed.protocol.replace(/:$/, '')}`);
  if (parsed.username !== '' || parsed.password !== '')
    throw new BadInputError('"url" must not hold credentials (user:password@): sign with "secret" instead');
  const problem = targetProblem(parsed, allowedHosts);
  if (problem !== null) throw new BadInputError(`"url": ${problem}`);
  if (!Array.isArray(events) || events.length === 0)
    throw new BadInputError(`"events" must be a non-empty array of ${WEBHOOK_EVENTS.join(', ')}`);
  const unknown = events.filter((e) => !isWebhookEvent(e));
  if (unknown.length > 0)
    throw new BadInputError(
      `"events" holds ${unknown.map((e) => JSON.stringify(e)).join(', ')}: choose from ${WEBHOOK_EVENTS.join(', ')}`,
    );
  if (typeof secret !== 'string' || secret.length < SECRET_LENGTH.min || secret.length > SECRET_LENGTH.max)
    throw new BadInputError(
      `"secret" must be a string of ${SECRET_LENGTH.min} to ${SECRET_LENGTH.max} characters (e.g. openssl rand -hex 32)`,
    );
  const chosen = WEBHOOK_EVENTS.filter((e) => events.includes(e));
  return { url: parsed.href, events: chosen, secret };
}

export function publicWebhook({ secret: _secret, ...rest }: Webhook): PublicWebhook {
  return rest;
}

/** Registered webhooks in Redis, with each one's delivery log. */
export class WebhookRegistry {
  private readonly keys;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.keys = webhookKeys(prefix);
  }

  async create(fields: Omit<Webhook, 'id' | 'createdAt'>, now = new Date()): Promise<Webhook> {
    const webhook: Webhook = {
      id: `wh-${randomBytes(8).toString('hex')}`,
      ...fields,
      createdAt: now.toISOString(),
    };
    await this.redis.hset(this.keys.webhooks, webhook.id, JSON.stringify(webhook));
    return webhook;
  }

  /** Every webhook, oldest first. */
  async list(): Promise<Webhook[]> {
    const all = await this.redis.hvals(this.keys.webhooks);
    return all
      .map((raw) => JSON.parse(raw) as Webhook)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }

  async get(id: string): Promise<Webhook | null> {
    if (!WEBHOOK_ID_PATTERN.test(id)) return null;
    const raw = await this.redis.hget(this.keys.webhooks, id);
    return raw === null ? null : (JSON.parse(raw) as Webhook);
  }

  /** Remove a webhook and its log; false when there was none. Its queued deliveries find it gone. */
  async remove(id: string): Promise<boolean> {
    if (!WEBHOOK_ID_PATTERN.test(id)) return false;
    const [[, removed]] = (await this.redis
      .multi()
      .hdel(this.keys.webhooks, id)
      .del(this.keys.deliveries(id))
      .exec()) as [[Error | null, number], [Error | null, number]];
    return removed === 1;
  }

  /** Append an attempt to a webhook's log, keeping the newest DELIVERY_LOG_LENGTH. */
  async logAttempt(webhookId: string, attempt: DeliveryAttempt): Promise<void> {
    const key = this.keys.deliveries(webhookId);
    await this.redis
      .multi()
      .lpush(key, JSON.stringify(attempt))
      .ltrim(key, 0, DELIVERY_LOG_LENGTH - 1)
      .exec();
  }

  /** A webhook's newest `limit` attempts, newest first. */
  async deliveries(webhookId: string, limit: number): Promise<DeliveryAttempt[]> {
    const raw = await this.redis.lrange(this.keys.deliveries(webhookId), 0, limit - 1);
    return raw.map((r) => JSON.parse(r) as DeliveryAttempt);
  }
}
