import path from 'node:path';
import net from 'node:net';
import os from 'node:os';
import { BadInputError } from '../errors';
import { DEFAULT_PIPELINE_PARAMS, PipelineParams } from './pipeline-params';
import { parseStoreUrl, StoreLocation } from '../store/store-location';

/** The project's root folder (config.ts compiles to dist/shared/core/config/config.js). */
export const PROJECT_ROOT = path.resolve(__dirname, '../../../..');

/** Retry policy of every job: the seed's `retries=3, retry_delay_seconds=2`. */
export interface RetryPolicy {
  attempts: number;
  backoff: { type: 'fixed' | 'exponential'; delay: number };
}

/** The whole configuration, resolved: every field has its value. */
export interface TicketflowConfig {
  /** `REDIS_URL` @defaultValue 'redis://127.0.0.1:6379' */
  redisUrl: string;
  /** `TICKETFLOW_QUEUE_PREFIX`: BullMQ key prefix, so several deployments can share one Redis. @defaultValue 'ticketflow' */
  queuePrefix: string;
  /** `TICKETFLOW_STORAGE_DIR`: shared storage; runs write under `runs/<runId>/`. @defaultValue '<project>/.ticketflow/storage' */
  storageDir: string;
  /**
   * `TICKETFLOW_STORAGE_URL`: where artifacts live — `file:///path` or `s3://bucket/prefix` (with
   * `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION` and, for S3-compatible servers,
   * `TICKETFLOW_S3_ENDPOINT`). A file URL sets `storageDir` too. @defaultValue the file URL of `storageDir`
   */
  storage: StoreLocation;
  /** `TICKETFLOW_DATA_DIR`: datasets named by the API are resolved inside it. @defaultValue '<project>/shared/sample' */
  dataDir: string;
  /**
   * `TICKETFLOW_DATA_URL`: where the datasets that runs and batch classifications name live — a folder
   * (`file:///path`) or an S3 prefix (`s3://bucket/prefix`, with the S3 settings of `storage`). A file URL
   * sets `dataDir` too. @defaultValue the file URL of `dataDir`
   */
  data: StoreLocation;
  /** `PORT` of the HTTP API. @defaultValue 3000 */
  port: number;
  /**
   * `HOST`: the address the HTTP API listens on (an IP address or a host name; IPv6 with or without
   * brackets). Anything but loopback needs `apiToken` (or `allowInsecure`). @defaultValue '127.0.0.1'
   */
  host: string;
  /**
   * `TICKETFLOW_API_TOKEN`: when set, every API route but `GET /healthz` needs `Authorization: Bearer
   * <token>`, and Bull Board the same token as Bearer or as the HTTP Basic password. At least 16 visible
   * ASCII characters, no spaces. @defaultValue null (no authentication)
   */
  apiToken: string | null;
  /**
   * True when `TICKETFLOW_API_TOKEN` is present in the environment but empty or blank (e.g. a secret file
   * that was missing): the API refuses to start rather than run without authentication. `apiToken` is
   * null then. @defaultValue false
   */
  apiTokenBlank: boolean;
  /**
   * `TICKETFLOW_ALLOWED_HOSTS`: comma-separated host names (or addresses) the API answers to besides
   * loopback names and `host` itself; any other `Host` header is refused (DNS rebinding). Lower case,
   * without ports. @defaultValue []
   */
  allowedHosts: string[];
  /**
   * `TICKETFLOW_ALLOWED_ORIGINS`: comma-separated origins (`https://ops.example.com`) whose pages may send
   * state-changing requests (POST, PUT, PATCH, DELETE); other cross-origin ones are refused. Normalised
   * to `scheme://host[:port]`. @defaultValue []
   */
  allowedOrigins: string[];
  /**
   * `TICKETFLOW_ALLOW_INSECURE=1`: let the API listen on a non-loopback `host` without a token (it warns).
   * @defaultValue false
   */
  allowInsecure: boolean;
  /**
   * Bull Board in read-only mode (no retry, clean, add, pause, promote, remove, ... from the board).
   * `TICKETFLOW_BOARD_READONLY=1` always makes it read-only; otherwise `TICKETFLOW_BOARD_WRITABLE=1|0`
   * decides; with neither, the board is read-only when a token is set (it would let every token holder
   * pause queues and add jobs) and writable without one (loopback only, where any local process can
   * already write to the unauthenticated Redis). @defaultValue apiToken !== null
   */
  boardReadOnly: boolean;
  /**
   * `TICKETFLOW_MODEL_CACHE_MB`: the most memory the API's loaded models may hold together (least recently
   * used evicted first; the model just loaded is kept even when larger). @defaultValue 128
   */
  modelCacheMb: number;
  /**
   * `TICKETFLOW_PARTED_REFIT_TICKETS`: from this many labelled tickets up, the refit of a one-vs-rest
   * winner runs one job per class (any worker may take each; the model's bytes are the same), so that
   * the workers share it instead of one fitting every class while the others wait. @defaultValue 100000
   */
  partedRefitTickets: number;
  /** `TICKETFLOW_CONCURRENCY`: jobs per queue per worker process. @defaultValue 1 */
  concurrency: number;
  /**
   * `TICKETFLOW_WARM_UP`: a worker's sandboxes run their code once on a few hundred sample tickets when
   * the worker starts (shared/pipeline/warm-up.ts), so that the first run's jobs do not wait for V8 to
   * compile it; the worker reports ready after ~1 s more. @defaultValue true
   */
  warmUp: boolean;
  /** `TICKETFLOW_LOG_LEVEL` @defaultValue 'info' */
  logLevel: 'error' | 'warn' | 'info' | 'debug';
  /**
   * `TICKETFLOW_LOG_FORMAT`: `text` (one readable line per entry) or `json` (winston's JSON: one object per
   * line with `timestamp`, `level`, `message`, and for a job's lines `runId`, `stage`, `jobId`, `attempt`,
   * `worker`). @defaultValue 'text'
   */
  logFormat: 'text' | 'json';
  /** `TICKETFLOW_REDIS_DIR`: where a privately started redis-server keeps its files. @defaultValue '<project>/.ticketflow/redis' */
  redisDir: string;
  /** Pipeline parameters; a run may override them. */
  pipeline: PipelineParams;
  retry: RetryPolicy;
  /**
   * How long BullMQ keeps finished jobs (`TICKETFLOW_JOB_RETENTION_SECONDS`, `TICKETFLOW_JOB_RETENTION_COUNT`,
   * per queue): run records and artifacts stay until a run is deleted, so jobs are only needed for a while.
   * @defaultValue { seconds: 86400, count: 1000 }
   */
  jobRetention: { seconds: number; count: number };
  /**
   * How fast a job whose worker died is noticed and handed to another (`TICKETFLOW_LOCK_DURATION_MS`,
   * `TICKETFLOW_STALLED_INTERVAL_MS`): a job's lock expires `lockDurationMs` after its worker last renewed it
   * (every half of that), and every `stalledIntervalMs` some worker moves jobs with expired locks back to
   * the queue. A kill costs at most about their sum. CPU-heavy work runs in sandboxed children, so the
   * worker's event loop is free to renew locks even when short.
   * @defaultValue { lockDurationMs: 4000, stalledIntervalMs: 2000 }
   */
  recovery: { lockDurationMs: number; stalledIntervalMs: number };
  /**
   * Per queue named in `TICKETFLOW_STAGE_TIMEOUTS` (`"text-chunks=600,training=3600"`, seconds), how long
   * one attempt may run before it is killed and failed for good: a runaway job on pathological input
   * would run as long again if retried. A queue not named takes its default from its stage's definition
   * (shared/runtime/flow/queue-names.ts resolves them and rejects names that are no queue).
   * @defaultValue {}
   */
  stageTimeoutMs: Readonly<Record<string, number>>;
  /** Webhook registration and delivery (see WebhookSettings). */
  webhooks: WebhookSettings;
}

/** Where webhooks may be sent and how their deliveries are attempted. */
export interface WebhookSettings {
  /**
   * `TICKETFLOW_WEBHOOK_ALLOWED_HOSTS`: comma-separated `host` or `host:port` entries (IPv6 in brackets)
   * a webhook's URL must name; `host` alone allows only its scheme's default port (80, 443). Lower case,
   * hosts normalised as URLs write them. Empty refuses every webhook, so no request is sent into the
   * local network unless someone listed the receiver. @defaultValue []
   */
  allowedHosts: string[];
  /** `TICKETFLOW_WEBHOOK_BACKOFF_MS`: the first retry's delay, doubled for each next one. @defaultValue 1000 */
  backoffMs: number;
  /** `TICKETFLOW_WEBHOOK_TIMEOUT_MS`: how long one delivery attempt waits for the receiver. @defaultValue 10000 */
  timeoutMs: number;
}

/**
 * An entry of `TICKETFLOW_WEBHOOK_ALLOWED_HOSTS` as webhook URLs are matched against it: `host` or
 * `host:port`, the host as the WHATWG URL parser normalises it (lower case, IPv6 in brackets); null when
 * the entry is no host with an optional port.
 */
export function webhookHostEntry(entry: string): string | null {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]/@?#\s]+)(?::(\d{1,5}))?$/.exec(entry.trim());
  // An IPv6 address without brackets holds colons: it names no port.
  const host = m ? m[1]! : net.isIPv6(entry.trim()) ? `[${entry.trim()}]` : null;
  const port = m ? m[2] : undefined;
  if (host === null || (port !== undefined && (Number(port) < 1 || Number(port) > 65535))) return null;
  try {
    const url = new URL(`http://${host}/`);
    if (url.hostname === '') return null;
    return port === undefined ? url.hostname : `${url.hostname}:${Number(port)}`;
  } catch {
    return null;
  }
}

/** `scheme://host[:port]` of an http(s) origin as browsers send it in `Origin`; null if `text` is none. */
export function originOf(text: string): string | null {
  try {
    const url = new URL(text);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
    if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') return null;
    if (url.pathname !== '/' || /^[a-z]+:\/\/[^/]+\/./i.test(text)) return null;
    return url.origin;
  } catch {
    return null;
  }
}

/** What `resolveConfig` reads: environment variables. */
export type ConfigEnv = Readonly<Record<string, string | undefined>>;

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, backoff: { type: 'fixed', delay: 2000 } };

/**
 * Resolve the configuration from environment variables: a pure function (no I/O), so it is easy to test
 * and every process of a deployment reads the same values the same way. Throws one error listing every
 * invalid variable.
 */
export function resolveConfig(env: ConfigEnv): TicketflowConfig {
  const problems: string[] = [];
  const text = (name: string, fallback: string): string => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? fallback : v.trim();
  };
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
      return fallback;
    }
    return n;
  };
  /** A yes/no variable; null when unset or blank. */
  const optionalFlag = (name: string): boolean | null => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return null;
    const v = raw.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    if (['0', 'false', 'no', 'off'].includes(v)) return false;
    problems.push(`${name} must be 1 or 0 (or true/false, yes/no, on/off), got "${raw}"`);
    return null;
  };
  const flag = (name: string): boolean => optionalFlag(name) ?? false;

  const redisUrl = text('REDIS_URL', 'redis://127.0.0.1:6379');
  if (!/^rediss?:\/\/[^\s]+$/.test(redisUrl)) {
    problems.push(`REDIS_URL must look like redis://host:port[/db], got "${redisUrl}"`);
  }
  const queuePrefix = text('TICKETFLOW_QUEUE_PREFIX', 'ticketflow');
  if (!/^[A-Za-z0-9_.-]+$/.test(queuePrefix)) {
    problems.push(
      `TICKETFLOW_QUEUE_PREFIX may hold only letters, digits, "_", "." and "-", got "${queuePrefix}"`,
    );
  }
  const logLevel = text('TICKETFLOW_LOG_LEVEL', 'info');
  if (!['error', 'warn', 'info', 'debug'].includes(logLevel)) {
    problems.push(`TICKETFLOW_LOG_LEVEL must be error, warn, info or debug, got "${logLevel}"`);
  }
  const logFormat = text('TICKETFLOW_LOG_FORMAT', 'text').toLowerCase();
  if (!['text', 'json'].includes(logFormat)) {
    problems.push(`TICKETFLOW_LOG_FORMAT must be text or json, got "${logFormat}"`);
  }
  const stageTimeoutMs: Record<string, number> = {};
  for (const entry of text('TICKETFLOW_STAGE_TIMEOUTS', '')
    .split(',')
    .filter((e) => e.trim() !== '')) {
    const [queue, seconds] = entry.split('=').map((x) => x.trim());
    const n = Number(seconds);
    if (!queue || !/^[a-z][a-z0-9-]*$/.test(queue) || !Number.isFinite(n) || n <= 0) {
      problems.push(`TICKETFLOW_STAGE_TIMEOUTS takes queue=seconds pairs, got "${entry}"`);
    } else stageTimeoutMs[queue] = Math.round(n * 1000);
  }
  let host = text('HOST', '127.0.0.1');
  if (/^\[.*\]$/.test(host)) host = host.slice(1, -1);
  const hostName = /^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$/;
  if (net.isIP(host) === 0 && !hostName.test(host)) {
    problems.push(`HOST must be an IP address or a host name (e.g. 127.0.0.1, 0.0.0.0, ::), got "${host}"`);
  }
  // Never echo the token itself: configuration errors end up in logs.
  const apiToken = text('TICKETFLOW_API_TOKEN', '') || null;
  const apiTokenBlank = env.TICKETFLOW_API_TOKEN !== undefined && apiToken === null;
  if (apiToken !== null && !/^[\x21-\x7e]{16,4096}$/.test(apiToken)) {
    problems.push(
      `TICKETFLOW_API_TOKEN must hold 16 to 4096 visible ASCII characters without spaces (got ${apiToken.length} characters${/[^\x21-\x7e]/.test(apiToken) ? ', some of them not allowed' : ''}): generate one with "openssl rand -hex 32"`,
    );
  }
  const list = (name: string) =>
    text(name, '')
      .split(',')
      .map((e) => e.trim())
      .filter((e) => e !== '');
  const allowedHosts = list('TICKETFLOW_ALLOWED_HOSTS').map((entry) => {
    const h = (/^\[.*\]$/.test(entry) ? entry.slice(1, -1) : entry).toLowerCase();
    if (net.isIP(h) === 0 && !hostName.test(h)) {
      problems.push(
        `TICKETFLOW_ALLOWED_HOSTS takes host names or addresses without ports (e.g. api,tickets.example.com), got "${entry}"`,
      );
    }
    return h;
  });
  const allowedOrigins = list('TICKETFLOW_ALLOWED_ORIGINS').map((entry) => {
    const origin = originOf(entry);
    if (origin === null) {
      problems.push(
        `TICKETFLOW_ALLOWED_ORIGINS takes origins like https://ops.example.com (scheme, host, optional port; no path), got "${entry}"`,
      );
    }
    return origin ?? entry;
  });
  const webhookHosts = list('TICKETFLOW_WEBHOOK_ALLOWED_HOSTS').map((entry) => {
    const normalised = webhookHostEntry(entry);
    if (normalised === null) {
      problems.push(
        `TICKETFLOW_WEBHOOK_ALLOWED_HOSTS takes host or host:port entries (e.g. hooks.example.com,10.0.0.5:8080,[::1]:9000), got "${entry}"`,
      );
    }
    return normalised ?? entry;
  });
  const boardWritable = optionalFlag('TICKETFLOW_BOARD_WRITABLE');
  const boardReadOnly =
    flag('TICKETFLOW_BOARD_READONLY') || (boardWritable === null ? apiToken !== null : !boardWritable);
  // A folder setting and the URL setting that may replace it: the URL's location (a file URL also names the
  // folder), else the folder.
  const folderOrUrl = (dirVar: string, defaultDir: string, urlVar: string) => {
    let dir = path.resolve(text(dirVar, defaultDir));
    let location: StoreLocation = { kind: 'file', root: dir };
    const url = env[urlVar]?.trim();
    if (url !== undefined && url !== '') {
      try {
        location = parseStoreUrl(url, env, urlVar);
        if (location.kind === 'file') dir = location.root;
      } catch (err) {
        problems.push((err as Error).message);
      }
    }
    return { dir, location };
  };
  const { dir: storageDir, location: storage } = folderOrUrl(
    'TICKETFLOW_STORAGE_DIR',
    path.join(PROJECT_ROOT, '.ticketflow', 'storage'),
    'TICKETFLOW_STORAGE_URL',
  );
  const { dir: dataDir, location: data } = folderOrUrl(
    'TICKETFLOW_DATA_DIR',
    path.join(PROJECT_ROOT, 'shared', 'sample'),
    'TICKETFLOW_DATA_URL',
  );
  const config: TicketflowConfig = {
    redisUrl,
    queuePrefix,
    storageDir,
    storage,
    dataDir,
    data,
    redisDir: path.resolve(text('TICKETFLOW_REDIS_DIR', path.join(PROJECT_ROOT, '.ticketflow', 'redis'))),
    port: int('PORT', 3000, 0, 65535),
    host,
    apiToken,
    apiTokenBlank,
    allowedHosts,
    allowedOrigins,
    allowInsecure: flag('TICKETFLOW_ALLOW_INSECURE'),
    boardReadOnly,
    modelCacheMb: int('TICKETFLOW_MODEL_CACHE_MB', 128, 1, 1_048_576),
    partedRefitTickets: int('TICKETFLOW_PARTED_REFIT_TICKETS', 100_000, 0, Number.MAX_SAFE_INTEGER),
    concurrency: int('TICKETFLOW_CONCURRENCY', 1, 1, Math.max(64, os.availableParallelism() * 8)),
    warmUp: optionalFlag('TICKETFLOW_WARM_UP') ?? true,
    logLevel: logLevel as TicketflowConfig['logLevel'],
    logFormat: logFormat as TicketflowConfig['logFormat'],
    pipeline: { ...DEFAULT_PIPELINE_PARAMS },
    retry: DEFAULT_RETRY,
    recovery: {
      lockDurationMs: int('TICKETFLOW_LOCK_DURATION_MS', 4000, 1000, 600_000),
      stalledIntervalMs: int('TICKETFLOW_STALLED_INTERVAL_MS', 2000, 500, 600_000),
    },
    stageTimeoutMs,
    jobRetention: {
      seconds: int('TICKETFLOW_JOB_RETENTION_SECONDS', 86400, 1, 10 * 365 * 86400),
      count: int('TICKETFLOW_JOB_RETENTION_COUNT', 1000, 1, 10_000_000),
    },
    webhooks: {
      allowedHosts: webhookHosts,
      backoffMs: int('TICKETFLOW_WEBHOOK_BACKOFF_MS', 1000, 1, 3_600_000),
      timeoutMs: int('TICKETFLOW_WEBHOOK_TIMEOUT_MS', 10_000, 100, 600_000),
    },
  };
  if (problems.length > 0) {
    throw new BadInputError(`invalid configuration: ${problems.join('; ')}`);
  }
  return config;
}
