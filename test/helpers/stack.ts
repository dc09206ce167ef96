import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { AddressInfo } from 'node:net';
import { FlowProducer } from 'bullmq';
import { Redis } from 'ioredis';
import { TicketflowConfig } from '../../shared/core/config/config';
import { createApiConnection, createConnection } from '../../shared/runtime/flow/connection';
import { Queues } from '../../shared/runtime/flow/queues';
import { closeRunsContext, openRunsContext, RunsContext } from '../../shared/runtime/runs/context';
import { isFinal, RunRecord } from '../../shared/runtime/runs/record';
import { readRun } from '../../shared/runtime/runs/sync';
import { spawnWorkers, SpawnedWorkers } from '../../producers/cli/self-contained';
import { createApp } from '../../producers/api/app';
import { cleanup, quietLog, SAMPLE_DATASET, tempDir, testConfig } from './env';
import { waitFor } from './processes';
import { REPORT_FILE, writeRunReport } from '../../shared/runtime/report/run-report';
import { runDir } from '../../shared/core/storage';
import { emitRunFinished } from '../../shared/runtime/events/webhook-events';

/** A real deployment for one test: its own prefix and storage, worker processes, optionally the HTTP API. */
export interface Stack {
  config: TicketflowConfig;
  connection: Redis;
  runs: RunsContext;
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
  const runs = openRunsContext(config, connection, { onRunFinished: [writeRunReport, emitRunFinished] });
  const workers = opts.workers
    ? await spawnWorkers(
        config,
        runs.queues,
        config.redisUrl,
        opts.workers,
        process.env.TICKETFLOW_LOG_LEVEL ?? 'warn',
        opts.workerEnv,
      )
    : null;
  let server: http.Server | null = null;
  let baseUrl: string | null = null;
  if (opts.api) {
    // The API answers 503 while its connection is not ready: a test's first request must not race it.
    if (connection.status !== 'ready') await new Promise((r) => connection.once('ready', r));
    server = createApp(runs, quietLog).listen(0);
    await new Promise<void>((r) => server!.once('listening', () => r()));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }
  return {
    config,
    connection,
    runs,
    queues: runs.queues,
    flowProducer: runs.flowProducer,
    workers,
    baseUrl,
    async close() {
      if (server) await new Promise<void>((r) => server!.close(() => r()));
      await workers?.stop();
      await closeRunsContext(runs);
      connection.disconnect();
      await cleanup(config);
    },
  };
}

/**
 * The API alone, in this process, as deployed: its own connection (fail-fast while Redis is down) and run
 * context for `config`, listening on a free loopback port once the connection is ready.
 */
export async function serveApi(
  config: TicketflowConfig,
): Promise<{ runs: RunsContext; server: http.Server; base: string }> {
  const connection = createApiConnection(config.redisUrl);
  await new Promise<void>((r) => connection.once('ready', () => r()));
  const runs = openRunsContext(config, connection);
  const server = createApp(runs, quietLog).listen(0, '127.0.0.1');
  await new Promise<void>((r) => server.once('listening', () => r()));
  return { runs, server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** A stack whose data root is its own folder, holding the sample dataset as `sample.json`. */
export interface SampleStack extends Stack {
  dataDir: string;
}

/**
 * startStack with TICKETFLOW_DATA_DIR a fresh temporary folder (named for `name`) holding the sample as
 * `sample.json`; `close` removes the folder too, as does a start that fails.
 */
export async function startSampleStack(name: string, opts: StackOptions = {}): Promise<SampleStack> {
  const dataDir = tempDir(name);
  const removeData = () => fs.rmSync(dataDir, { recursive: true, force: true });
  let stack: Stack;
  try {
    fs.copyFileSync(SAMPLE_DATASET, path.join(dataDir, 'sample.json'));
    stack = await startStack({ ...opts, env: { TICKETFLOW_DATA_DIR: dataDir, ...opts.env } });
  } catch (err) {
    removeData();
    throw err;
  }
  return {
    ...stack,
    dataDir,
    async close() {
      await stack.close();
      removeData();
    },
  };
}

/** Poll a run, every 100 ms, until it is final (or `timeoutMs` passes). */
export async function waitForRun(runs: RunsContext, runId: string, timeoutMs = 120_000): Promise<RunRecord> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const record = await readRun(runs, runId);
    if (record && isFinal(record.state)) return record;
    if (Date.now() > deadline)
      throw new Error(
        `run ${runId} still ${record?.state ?? 'missing'} after ${timeoutMs} ms: ${JSON.stringify(record?.stages.map((s) => [s.stage, s.state, s.rawState]))}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Remove a finished run's folder behind ticketflow's back. Whoever makes a record final runs the
 * run-finished hooks after writing it, so the worker may still be writing report.html when a reader sees
 * the final record: wait for the report first, or the removal races that write (ENOTEMPTY).
 */
export async function removeRunFolderByHand(stack: Stack, runId: string, timeoutMs = 10_000): Promise<void> {
  const dir = runDir(stack.config.storageDir, runId);
  await waitFor(
    `run ${runId}'s ${REPORT_FILE}`,
    () => (fs.existsSync(path.join(dir, REPORT_FILE)) ? true : undefined),
    timeoutMs,
    20,
  );
  fs.rmSync(dir, { recursive: true });
}
