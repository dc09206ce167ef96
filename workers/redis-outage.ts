import { Redis } from 'ioredis';
import { Logger } from '../shared/core/logger';
import { WriteRefusal, writeRefusal } from '../shared/runtime/redis/write-refusal';

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
function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return (
    (e.code !== undefined && CONNECTION_ERRORS.has(e.code)) ||
    /Connection is closed|connect ECONNREFUSED|Stream isn't writeable|read ECONNRESET/.test(e.message ?? '')
  );
}

/** How often a Redis that refuses writes is asked again whether it accepts one. */
const WRITE_PROBE_EVERY_MS = 1000;

/**
 * One warning when Redis goes, one line when it is back: every BullMQ connection of every queue would
 * otherwise report each reconnection attempt. The workers wait for Redis on their own (ioredis
 * reconnects; blocking commands resume); nothing needs to be done but say so. The same for a Redis that
 * answers but refuses writes (MISCONF, READONLY, OOM): every worker's fetch loop fails on it several times
 * a second; one warning, then `probeWrite` every second until a write succeeds, then one line.
 */
export class RedisOutage {
  private down = false;
  private refusing: WriteRefusal | null = null;
  private probe: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: Logger,
    private readonly url: string,
    /** a harmless write (a key with a short expiry) that tells whether Redis accepts writes again */
    private readonly probeWrite: () => Promise<unknown> = async () => undefined,
  ) {}

  watch(connection: Redis): void {
    connection.on('error', (err: Error) => (isConnectionError(err) ? this.lost(err) : undefined));
    connection.on('end', () => this.lost(new Error('connection ended')));
    connection.on('ready', () => this.back());
  }

  /**
   * Route a worker's 'error' event: connection trouble and refused writes are the outage's (reported
   * once), anything else is logged.
   */
  error(err: Error, where: string): void {
    const refusal = writeRefusal(err);
    if (isConnectionError(err)) this.lost(err);
    else if (refusal !== null) this.refused(refusal);
    else this.log.error(`${where}: ${err.message}`);
  }

  get isDown(): boolean {
    return this.down;
  }

  /** True while Redis refuses writes. */
  get isRefusingWrites(): boolean {
    return this.refusing !== null;
  }

  /** Stop probing (the workers are closing). */
  close(): void {
    clearInterval(this.probe);
    this.probe = undefined;
  }

  private refused(refusal: WriteRefusal): void {
    if (this.refusing !== null) return;
    this.refusing = refusal;
    this.log.warn(
      `Redis at ${this.url} ${refusal.what} (${refusal.detail}): jobs wait until it accepts writes again`,
    );
    let probing = false;
    this.probe = setInterval(() => {
      if (probing) return;
      probing = true;
      this.probeWrite()
        .then(
          () => this.accepted(),
          () => undefined,
        )
        .finally(() => (probing = false));
    }, WRITE_PROBE_EVERY_MS);
    this.probe.unref();
  }

  private accepted(): void {
    if (this.refusing === null) return;
    this.refusing = null;
    this.close();
    this.log.info(`Redis at ${this.url} accepts writes again: serving again`);
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
