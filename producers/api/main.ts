#!/usr/bin/env node
import { resolveConfig } from '../../shared/config/config';
import { createConnection } from '../../shared/flow/connection';
import { closeQueues, openFlowProducer, openQueues } from '../../shared/flow/queues';
import { createLogger } from '../../shared/logger';
import { ensureRedis } from '../../shared/redis/local-redis';
import { createApp } from './app';

const HELP = `Usage: npm run serve

The ticketflow HTTP API and Bull Board, on PORT (default 3000):
  POST /runs        {"dataset": "<path relative to TICKETFLOW_DATA_DIR>", "params": {...}} → 202 {"id"}
  GET  /runs        recent runs, newest first
  GET  /runs/:id    a run's state, stages, attempts, times, failure message and metrics
  GET  /board       Bull Board over every queue
Runs are executed by workers (npm run worker). When no Redis answers at a loopback REDIS_URL, the API
starts redis-server on that port itself and stops it when it exits.`;

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
  const log = createLogger(config.logLevel, { component: 'api' });
  const redis = await ensureRedis({ url: config.redisUrl, dir: config.redisDir, mode: 'at-url' });
  if (redis.started)
    log.info(`no Redis answered at ${config.redisUrl}: started redis-server there (it stops with the API)`);
  const connection = createConnection(config.redisUrl);
  const queues = openQueues(config, connection);
  const flowProducer = openFlowProducer(config, connection);
  const app = createApp({ config, queues, flowProducer }, log);
  const server = app.listen(config.port, () => {
    log.info(`listening on http://localhost:${config.port} (board at /board, data root ${config.dataDir})`);
  });
  const signal = await stopSignal;
  log.info(`${signal}: closing`);
  server.close();
  await flowProducer.close();
  await closeQueues(queues);
  connection.disconnect();
  await redis.stop();
  process.exit(0);
}

main().catch((err: Error) => {
  process.stderr.write(`serve: ${err.message}\n`);
  process.exit(1);
});
