import { Redis } from 'ioredis';
import { Logger } from '../shared/logger';

const CONNECTION_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** True for errors that only say Redis cannot be reached right now. */
export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return (
    (e.code !== undefined && CONNECTION_ERRORS.has(e.code)) ||
    /Connection is closed|connect ECONNREFUSED|Stream isn't writeable|read ECONNRESET/.test(e.message ?? '')
  );
}

/**
 * One warning when Redis goes, one line when it is back: every BullMQ connection of every queue would
 * otherwise report each reconnection attempt. The workers wait for Redis on their own (ioredis
 * reconnects; blocking commands resume); nothing needs to be done but say so.
 */
export class RedisOutage {
  private down = false;

  constructor(
    private readonly log: Logger,
    private readonly url: string,
  ) {}

  watch(connection: Redis): void {
    connection.on('error', (err: Error) => (isConnectionError(err) ? this.lost(err) : undefined));
    connection.on('end', () => this.lost(new Error('connection ended')));
    connection.on('ready', () => this.back());
  }

  /** Route a worker's 'error' event: connection trouble is the outage's, anything else is logged. */
  error(err: Error, where: string): void {
    if (isConnectionError(err)) this.lost(err);
    else this.log.error(`${where}: ${err.message}`);
  }

  get isDown(): boolean {
    return this.down;
  }

  private lost(err: Error): void {
    if (this.down) return;
    this.down = true;
    this.log.warn(`Redis at ${this.url} is unreachable (${err.message}): jobs wait until it is back`);
  }

  private back(): void {
    if (!this.down) return;
    this.down = false;
    this.log.info(`Redis at ${this.url} is back: serving again`);
  }
}
