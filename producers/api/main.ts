#!/usr/bin/env node
import { resolveConfig } from '../../shared/core/config/config';
import { createApiConnection } from '../../shared/runtime/flow/connection';
import { createLogger, logLost } from '../../shared/core/logger';
import { ensureRedis } from '../../shared/runtime/redis/local-redis';
import { closeRunsContext, openRunsContext } from '../../shared/runtime/runs/context';
import { checkArtifactStore } from '../../shared/runtime/runs/check-store';
import { sweepDeletes } from '../../shared/runtime/runs/control';
import { createApp } from './app';
import { exposureCheck, writableBoardWarning } from './auth';
import { writeRunReport } from '../../shared/runtime/report/run-report';
import { promotionGate } from '../../shared/runtime/schedules/promotion-gate';
import { emitRunFinished } from '../../shared/runtime/events/webhook-events';
import { queueTimeoutsMs } from '../../shared/runtime/flow/queue-names';

const HELP = `Usage: npm run serve

The ticketflow HTTP API and Bull Board, on HOST:PORT (default 127.0.0.1:3000):
  POST   /runs              {"dataset": "<path in TICKETFLOW_DATA_DIR>", "params": {...}} → 202 {"id"}
                            (header Idempotency-Key: the same key answers the same run for 48 h)
  GET    /runs              runs newest first: ?state=waiting|active|completed|failed|cancelled|deleting&limit=&cursor=
  GET    /runs/:id          a run's record: state, progress, stages, attempts, times, error, metrics, warnings
  POST   /runs/:id/retry    go on from the failed stage (same run id)
  POST   /runs/:id/cancel   stop every job of the run on every worker
  DELETE /runs/:id          remove a finished run's record, jobs and artifacts (?force=1: and its aliases)
  GET    /healthz           the process is up
  GET    /readyz            Redis answers, the artifact store can be used, every queue has a live worker
  GET    /board             Bull Board over every queue
Runs are executed by workers (npm run worker). When no Redis answers at a loopback REDIS_URL, the API
starts a durable redis-server there (append-only file in TICKETFLOW_REDIS_DIR) that keeps running when the
API stops; \`ticketflow redis stop\` stops it.

Security: TICKETFLOW_API_TOKEN=<token> makes every route but /healthz need "Authorization: Bearer <token>"
(Bull Board also takes it as the HTTP Basic password, any user name); set but empty, the API refuses to
start. A HOST other than loopback needs the token (or TICKETFLOW_ALLOW_INSECURE=1). Requests must name a
loopback host, HOST or one of TICKETFLOW_ALLOWED_HOSTS; pages of other origins may not change anything
(unless listed in TICKETFLOW_ALLOWED_ORIGINS). With a token Bull Board is read-only unless
TICKETFLOW_BOARD_WRITABLE=1; TICKETFLOW_BOARD_READONLY=1 always makes it read-only. See docs/security.md.`;

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(HELP + '\n');
    return;
  }
  // Listen for the stop signals first: a signal that arrives while we start up still closes gracefully.
  const stopSignal = new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  const config = resolveConfig(process.env);
  // Queue names in TICKETFLOW_STAGE_TIMEOUTS are checked against the stage definitions: refuse a typo
  // here too, as every invalid setting.
  queueTimeoutsMs(config.stageTimeoutMs);
  const log = createLogger(config.logLevel, { component: 'api' });
  // Before anything starts: an API reachable from other machines needs a token.
  const exposure = exposureCheck(config);
  if ('refuse' in exposure) throw new Error(exposure.refuse);
  if (exposure.warn) log.warn(exposure.warn);
  const boardWarning = writableBoardWarning(config);
  if (boardWarning) log.warn(boardWarning);
  const redis = await ensureRedis({ url: config.redisUrl, dir: config.redisDir, mode: 'at-url' });
  if (redis.started)
    log.info(`no Redis answered at ${config.redisUrl}: started a durable redis-server there`);
  const connection = createApiConnection(config.redisUrl);
  // Listen once Redis answers, so a restarted API serves its first request; without Redis it still
  // comes up after a few seconds (health checks, 503s) and serves as soon as Redis is back.
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 5000);
    connection.once('ready', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
  if (!ready) log.warn(`Redis at ${config.redisUrl} does not answer yet: answering 503 until it does`);
  // A store that cannot be reached or written (wrong credentials, no bucket) stops the API here, saying why.
  await checkArtifactStore(config);
  // A run can end in the API too: every stage cached at submit, or a reader's sync after a worker died.
  const runs = openRunsContext(config, connection, {
    onRunFinished: [writeRunReport, promotionGate, emitRunFinished],
  });
  // Deletes cut short (a process killed mid-delete) are finished in the background once Redis answers.
  const sweep = (): void => {
    sweepDeletes(runs).then(
      ({ finished, failed }) => {
        if (finished.length > 0)
          log.info(`finished ${finished.length} delete(s) cut short: ${finished.join(', ')}`);
        for (const f of failed) log.warn(`could not finish deleting run ${f.runId}: ${f.error}`);
      },
      (err: Error) => log.warn(`could not look for deletes cut short: ${err.message}`),
    );
  };
  if (ready) sweep();
  else connection.once('ready', sweep);
  const app = createApp(runs, log);
  const server = app.listen(config.port, config.host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', (err: Error) =>
      reject(new Error(`cannot listen on ${config.host}:${config.port}: ${err.message}`)),
    );
  });
  const address = server.address();
  const where =
    address && typeof address === 'object'
      ? `${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`
      : `${config.host}:${config.port}`;
  const auth = config.apiToken !== null ? 'token required' : 'no authentication';
  const board = config.boardReadOnly ? 'read-only board' : 'board';
  log.info(`listening on http://${where} (${auth}; ${board} at /board; data root ${config.dataDir})`);
  const signal = await stopSignal;
  log.info(`${signal}: closing`);
  // Open keep-alive connections or a Redis that does not answer must not keep the API from exiting.
  setTimeout(() => process.exit(0), 5000).unref();
  server.close();
  await closeRunsContext(runs).catch(logLost('closing the queues on shutdown'));
  connection.disconnect();
  await redis.stop();
  process.exit(0);
}

main().catch((err: Error) => {
  process.stderr.write(`serve: ${err.message}\n`);
  process.exit(1);
});
