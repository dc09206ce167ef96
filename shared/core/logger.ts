import winston from 'winston';

export type Logger = winston.Logger;

/** `TICKETFLOW_LOG_FORMAT`: `text` (one readable line) or `json` (winston's JSON, one object a line). */
export type LogFormat = 'text' | 'json';

/** Fields a log line may carry so a reader can follow one run, stage, job and attempt. */
export interface LogScope {
  runId?: string;
  stage?: string;
  jobId?: string;
  attempt?: string;
  /** the worker process that ran the job: `ticketflow-worker@<host>:<pid>` */
  worker?: string;
  component?: string;
}

/** Scope fields, in the order the text format shows them. */
const SCOPE_KEYS = ['component', 'runId', 'stage', 'jobId', 'attempt', 'worker'] as const;

/**
 * The format of this process's log lines when a caller does not say: `TICKETFLOW_LOG_FORMAT` (validated
 * with the rest of the configuration by resolveConfig; anything but `json` reads as text here).
 */
function defaultLogFormat(env: NodeJS.ProcessEnv = process.env): LogFormat {
  return env.TICKETFLOW_LOG_FORMAT?.trim().toLowerCase() === 'json' ? 'json' : 'text';
}

/**
 * One log entry as a readable line: `<time> <level> [component=… runId=… stage=… jobId=… attempt=…
 * worker=…] <message> {other fields}`. Also used to show JSON lines read from worker processes.
 */
export function formatTextLine(entry: Record<string, unknown>): string {
  const { level, message, timestamp, ...rest } = entry;
  const scopeText = SCOPE_KEYS.filter((k) => rest[k] !== undefined)
    .map((k) => `${k}=${String(rest[k])}`)
    .join(' ');
  const extra = Object.fromEntries(
    Object.entries(rest).filter(([k]) => !(SCOPE_KEYS as readonly string[]).includes(k)),
  );
  const extraText = Object.keys(extra).length > 0 ? ` ${JSON.stringify(extra)}` : '';
  return `${String(timestamp)} ${String(level)} [${scopeText}] ${String(message)}${extraText}`;
}

export interface CreateLoggerOptions {
  /** default: defaultLogFormat() */
  format?: LogFormat;
  /** more transports (e.g. a job's own log), each with its own level */
  transports?: winston.transport[];
}

/**
 * A logger writing to stderr only: stdout belongs to the program's own output (the CLI's report and
 * `--json`). Scope a logger with `logger.child({ runId, stage, ... })`. In the JSON format every line is
 * one object with `timestamp`, `level`, `message` and the scope fields.
 */
export function createLogger(level: string, scope: LogScope = {}, opts: CreateLoggerOptions = {}): Logger {
  const format = opts.format ?? defaultLogFormat();
  const line =
    format === 'json'
      ? winston.format.json()
      : winston.format.printf((info) => formatTextLine(info as Record<string, unknown>));
  return winston.createLogger({
    level,
    defaultMeta: scope,
    format: winston.format.combine(winston.format.timestamp(), line),
    transports: [
      new winston.transports.Console({
        level,
        stderrLevels: ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'],
      }),
      ...(opts.transports ?? []),
    ],
  });
}

/** npm levels, most severe first: `error` 0 … `silly` 6. */
export function levelRank(level: string): number {
  const rank = (winston.config.npm.levels as Record<string, number>)[level];
  return rank ?? Number.POSITIVE_INFINITY;
}

const LEVELS = ['error', 'warn', 'info', 'debug'];
let lostLog: Logger | undefined;

/**
 * A `.catch` handler for a failure the caller can afford (best-effort clean-up, a cache, a row that is
 * written again later): it resolves to undefined and logs at debug what was lost and why, so a reader of
 * a debug log can see it. `log` defaults to a process logger at `TICKETFLOW_LOG_LEVEL` (read as
 * resolveConfig does; anything else reads as info).
 */
export function logLost(what: string, log?: Logger): (err: unknown) => undefined {
  return (err) => {
    const level = process.env.TICKETFLOW_LOG_LEVEL?.trim() ?? 'info';
    const target =
      log ??
      (lostLog ??= createLogger(LEVELS.includes(level) ? level : 'info', { component: 'best-effort' }));
    target.debug(`${what} failed, carrying on: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  };
}
