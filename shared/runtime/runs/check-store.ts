import { TicketflowConfig } from '../../core/config/config';
import { ArtifactStore } from '../../core/store/artifact-store';
import { openStore } from '../../core/store/open-store';
import type { StoreLocation } from '../../core/store/store-location';

/** How long a start-up check may take: an endpoint that swallows packets must not hang start-up. */
const START_UP_CHECK_MS = 15_000;

/** Why a store cannot be used, as /readyz reports it (`ok` when it can). */
export type StoreState = 'ok' | 'unreachable' | 'access-denied' | 'no-bucket' | 'failing';

/** A store's health: where it is (no credentials: they live in the environment), and why it fails. */
export interface StoreHealth {
  /** `file:///var/lib/ticketflow` or `s3://bucket/prefix` */
  url: string;
  /** the S3-compatible server's origin (scheme, host, port), when one is set */
  endpoint?: string;
  state: StoreState;
  /** the whole reason, naming the store and the setting to fix; absent when `ok` */
  problem?: string;
}

/** Words before the store's own message, where that message alone would not say it (ECONNREFUSED). */
const REASON: Readonly<Record<Exclude<StoreState, 'ok'>, string>> = {
  unreachable: 'it does not answer: ',
  'access-denied': '',
  'no-bucket': '',
  failing: '',
};

/** Network failures: the endpoint (or the folder's server) did not answer, whatever the store is. */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'TimeoutError',
]);
const DENIED_CODES = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'EACCES',
  'EPERM',
]);

class CheckTimedOut extends Error {}

/** What kind of failure `err` is: the codes of the error and of its causes (S3 names, errno codes). */
export function failureState(err: unknown): Exclude<StoreState, 'ok'> {
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    if (e instanceof CheckTimedOut) return 'unreachable';
    const x = e as { code?: unknown; name?: unknown; $metadata?: { httpStatusCode?: number } };
    const codes = [x.code, x.name].map(String);
    if (codes.includes('NoSuchBucket')) return 'no-bucket';
    if (codes.some((c) => DENIED_CODES.has(c)) || x.$metadata?.httpStatusCode === 403) return 'access-denied';
    if (codes.some((c) => UNREACHABLE_CODES.has(c))) return 'unreachable';
    e = (e as { cause?: unknown }).cause;
  }
  return 'failing';
}

/** The setting that names the store, for messages. */
function settingOf(location: StoreLocation): string {
  return location.kind === 'file' ? 'TICKETFLOW_STORAGE_DIR' : 'TICKETFLOW_STORAGE_URL';
}

/** The store's URL and its endpoint's origin (scheme, host, port), as /readyz shows them. */
function placeOf(store: ArtifactStore, location: StoreLocation): Pick<StoreHealth, 'url' | 'endpoint'> {
  if (location.kind !== 's3' || location.endpoint === undefined) return { url: store.url };
  try {
    return { url: store.url, endpoint: new URL(location.endpoint).origin };
  } catch {
    return { url: store.url };
  }
}

/**
 * The health of `store` (at `location`) that failed with `err`: the kind of failure and the whole reason.
 * `failing` when `err` says nothing of the store being unreachable, refusing the key or without its bucket.
 */
export function storeFailure(store: ArtifactStore, location: StoreLocation, err: unknown): StoreHealth {
  const state = failureState(err);
  const detail = err instanceof Error ? err.message : String(err);
  return {
    ...placeOf(store, location),
    state,
    problem: `storage ${store.url} (${settingOf(location)}) cannot be used: ${REASON[state]}${detail}`,
  };
}

/**
 * Check `store` (at `location`) within `timeoutMs`: reached and written, or why not. Never throws; a check
 * that does not finish in time counts as an unreachable endpoint (the check goes on in the background and
 * its outcome is dropped).
 */
export async function probeStore(
  store: ArtifactStore,
  location: StoreLocation,
  timeoutMs: number,
): Promise<StoreHealth> {
  const where = placeOf(store, location);
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new CheckTimedOut(
            `no answer from ${where.endpoint ?? store.url} within ${(timeoutMs / 1000).toFixed(1)} s`,
          ),
        ),
      timeoutMs,
    );
  });
  const check = store.check();
  check.catch(() => undefined); // its outcome after the timeout is not wanted
  try {
    await Promise.race([check, expired]);
    return { ...where, state: 'ok' };
  } catch (err) {
    return storeFailure(store, location, err);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Fail at start, naming the store and why, rather than on every job or request: the artifact store
 * (TICKETFLOW_STORAGE_URL, or TICKETFLOW_STORAGE_DIR) must be reachable and writable.
 */
export async function checkArtifactStore(
  config: TicketflowConfig,
  timeoutMs = START_UP_CHECK_MS,
): Promise<void> {
  const store = openStore(config.storage);
  try {
    const health = await probeStore(store, config.storage, timeoutMs);
    if (health.problem !== undefined) throw new Error(health.problem);
  } finally {
    await store.close();
  }
}
