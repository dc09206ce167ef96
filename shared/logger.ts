import winston from 'winston';

export type Logger = winston.Logger;

/** Fields a log line may carry so a reader can follow one run, stage, job and attempt. */
export interface LogScope {
  runId?: string;
  stage?: string;
  jobId?: string;
  attempt?: string;
  component?: string;
}

/**
 * A logger writing to stderr only: stdout belongs to the program's own output (the CLI's report and
 * `--json`). Scope a logger with `logger.child({ runId, stage, ... })`.
 */
export function createLogger(level: string, scope: LogScope = {}): Logger {
  const line = winston.format.printf((info) => {
    const { level: lvl, message, timestamp, ...rest } = info as Record<string, unknown>;
    const scopeText = ['component', 'runId', 'stage', 'jobId', 'attempt']
      .filter((k) => rest[k] !== undefined)
      .map((k) => `${k}=${String(rest[k])}`)
      .join(' ');
    const extra = Object.fromEntries(
      Object.entries(rest).filter(([k]) => !['component', 'runId', 'stage', 'jobId', 'attempt'].includes(k)),
    );
    const extraText = Object.keys(extra).length > 0 ? ` ${JSON.stringify(extra)}` : '';
    return `${String(timestamp)} ${String(lvl)} [${scopeText}] ${String(message)}${extraText}`;
  });
  return winston.createLogger({
    level,
    defaultMeta: scope,
    format: winston.format.combine(winston.format.timestamp(), line),
    transports: [
      new winston.transports.Console({
        stderrLevels: ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'],
      }),
    ],
  });
}
