import http from 'node:http';
import { AddressInfo } from 'node:net';
import { FlowProducer } from 'bullmq';
import { Redis } from 'ioredis';
import { TicketflowConfig } from '../../shared/config/config';
import { createConnection } from '../../shared/flow/connection';
import { Queues, closeQueues, openFlowProducer, openQueues } from '../../shared/flow/queues';
import { getRunStatus, RunStatus } from '../../shared/flow/run-status';
import { spawnWorkers, SpawnedWorkers } from '../../producers/cli/self-contained';
import { createApp } from '../../producers/api/app';
import { cleanup, quietLog, testConfig } from './env';

/** A real deployment for one test: its own prefix and storage, worker processes, optionally the HTTP API. */
export interface Stack {
  config: TicketflowConfig;
  connection: Redis;
  queues: Queues;
  flowProducer: FlowProducer;
  workers: SpawnedWorkers | null;
  baseUrl: string | null;
  close(): Promise<void>;
}

export interface StackOptions {
  workers?: number;
  env?: Record<string, string>;
  workerEnv?: Record<string, string>;
  api?: boolean;
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const config = testConfig(opts.env);
  const connection = createConnection(config.redisUrl);
  const queues = openQueues(config, connection);
  const flowProducer = openFlowProducer(config, connection);
  const workers = opts.workers
    ? await spawnWorkers(
        config,
        queues,
        config.redisUrl,
        opts.workers,
        process.env.TICKETFLOW_LOG_LEVEL ?? 'warn',
        opts.workerEnv,
      )
    : null;
  let server: http.Server | null = null;
  let baseUrl: string | null = null;
  if (opts.api) {
    server = createApp({ config, queues, flowProducer }, quietLog).listen(0);
    await new Promise<void>((r) => server!.once('listening', () => r()));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }
  return {
    config,
    connection,
    queues,
    flowProducer,
    workers,
    baseUrl,
    async close() {
      if (server) await new Promise<void>((r) => server!.close(() => r()));
      await workers?.stop();
      await flowProducer.close();
      await closeQueues(queues);
      connection.disconnect();
      await cleanup(config);
    },
  };
}

/** Poll a run until it completes or fails (or `timeoutMs` passes). */
export async function waitForRun(queues: Queues, runId: string, timeoutMs = 120_000): Promise<RunStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await getRunStatus(queues, runId);
    if (status && (status.state === 'completed' || status.state === 'failed')) return status;
    if (Date.now() > deadline)
      throw new Error(
        `run ${runId} still ${status?.state ?? 'missing'} after ${timeoutMs} ms: ${JSON.stringify(status?.stages.map((s) => [s.stage, s.state]))}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}
