/**
 * npm run bench -- --classify [--data FILE] [--rate N] [--duration S]
 *
 * The trained model in use, measured: a run on the dataset (default: the dev data) with 2 workers, its model
 * promoted to `production`, then
 *  - online: the real API as its own process, one ticket per POST /classify, `rate` requests/s for
 *    `duration` s over loopback (autocannon; tickets taken in turn from the dataset), latency percentiles,
 *    errors, the API's resident memory with the model loaded;
 *  - batch: the whole dataset through POST /classifications' code path on the same 2 workers, tickets/s
 *    from submission to completed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ChildProcess } from 'node:child_process';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../../shared/core/config/config';
import { enqueueRun } from '../../test/helpers/enqueue-run';
import { freePort } from '../../shared/runtime/redis/local-redis';
import { ModelRegistry } from '../../shared/runtime/runs/model-registry';
import { getClassification, submitClassification } from '../../shared/runtime/classify/batch';
import { readTickets } from '../../shared/core/dataset/read-tickets';
import { spawnWorkers } from '../../producers/cli/self-contained';
import { waitForRun } from '../../test/helpers/stack';
import { openBenchStack, stackTarget, startApiProcess } from './bench-stack';
import { residentMb } from './process-memory';

// autocannon ships no types; this is the part used here.
const autocannon = require('autocannon') as (opts: Record<string, unknown>) => Promise<{
  latency: { p50: number; p99: number; p97_5: number; max: number; average: number };
  requests: { total: number; average: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
}>;

const DEV = path.resolve(PROJECT_ROOT, '..', 'shared', 'data', 'complaints-dev.json');
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

export async function classifyBench(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      classify: { type: 'boolean' },
      data: { type: 'string' },
      rate: { type: 'string', default: '200' },
      duration: { type: 'string', default: '30' },
      out: { type: 'string' },
    },
  });
  const dataset = path.resolve(
    values.data ??
      (fs.existsSync(DEV) ? DEV : path.join(PROJECT_ROOT, 'shared', 'sample', 'complaints-sample.json')),
  );
  const rate = Number(values.rate);
  const duration = Number(values.duration);
  const stack = await openBenchStack('classify-bench', { TICKETFLOW_DATA_DIR: path.dirname(dataset) });
  const { config, redis, runs } = stack;
  const workers = await spawnWorkers(config, runs.queues, redis.url, 2, 'warn');
  const port = await freePort();
  let api: ChildProcess | null = null;
  try {
    const run = await waitForRun(runs, await enqueueRun(runs, { dataset }), 3_600_000);
    if (run.state !== 'completed')
      throw new Error(`training run ${run.id} ${run.state}: ${run.error?.message}`);
    const registry = new ModelRegistry(runs);
    await registry.setAlias('production', run.id);
    process.stderr.write(
      `classify-bench: model ${run.id} (test accuracy ${run.metrics?.test.accuracy.toFixed(4)}) is production\n`,
    );

    // Batch first, on the warm workers.
    const t0 = performance.now();
    const { id } = await submitClassification(runs, registry, {
      dataset: path.basename(dataset),
      datasetFile: dataset,
    });
    let status = await getClassification(runs, id);
    while (status && status.state !== 'completed' && status.state !== 'failed') {
      await new Promise((r) => setTimeout(r, 20));
      status = await getClassification(runs, id);
    }
    const batchSeconds = (performance.now() - t0) / 1000;
    if (status?.state !== 'completed' || !status.summary)
      throw new Error(`classification ${id}: ${status?.error}`);
    const batch = {
      tickets: status.summary.tickets,
      seconds: round(batchSeconds, 3),
      ticketsPerSecond: Math.round(status.summary.tickets / batchSeconds),
      abstentionRate: round(status.summary.abstentionRate, 4),
      outOfVocabularyShare: round(status.summary.drift.outOfVocabularyShare, 4),
    };

    // Online: the API as its own process, as deployed.
    api = await startApiProcess(
      PROJECT_ROOT,
      stackTarget(stack),
      port,
      { TICKETFLOW_DATA_DIR: config.dataDir },
      'ignore',
    );
    const url = `http://127.0.0.1:${port}`;
    const texts: string[] = [];
    await readTickets(dataset, (rec) => {
      if (texts.length < 5000) texts.push(rec.narrative);
    });
    const bodies = texts.map((text) => JSON.stringify({ tickets: [{ text }] }));
    // Load the model and warm the path before measuring.
    await autocannon({
      url: `${url}/classify`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: bodies[0],
      amount: 200,
      connections: 4,
    });
    let next = 0;
    const result = await autocannon({
      url: `${url}/classify`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      connections: 10,
      overallRate: rate,
      duration,
      requests: [
        {
          setupRequest: (req: Record<string, unknown>) => ({ ...req, body: bodies[next++ % bodies.length] }),
        },
      ],
    });
    const apiRss = residentMb(api.pid!);
    const online = {
      rate,
      duration,
      requests: result.requests.total,
      p50Ms: result.latency.p50,
      p99Ms: result.latency.p99,
      maxMs: result.latency.max,
      errors: result.errors + result.timeouts + result.non2xx,
      apiRssMb: apiRss === null ? null : round(apiRss, 1),
    };
    const out = { dataset, model: run.id, online, batch };
    process.stdout.write(
      [
        `model ${run.id} on ${path.basename(dataset)}`,
        '',
        '| online POST /classify, 1 ticket per request | value |',
        '|---|---:|',
        `| rate × duration | ${rate}/s × ${duration} s (${online.requests} requests) |`,
        `| latency p50 / p99 / max | ${online.p50Ms} / ${online.p99Ms} / ${online.maxMs} ms |`,
        `| errors (incl. non-2xx, timeouts) | ${online.errors} |`,
        `| API resident memory, model loaded | ${online.apiRssMb} MB |`,
        '',
        '| batch classification, 2 workers | value |',
        '|---|---:|',
        `| tickets | ${batch.tickets} |`,
        `| submission → completed | ${batch.seconds} s |`,
        `| tickets/s | ${batch.ticketsPerSecond} |`,
        `| abstention rate / out-of-vocabulary share | ${batch.abstentionRate} / ${batch.outOfVocabularyShare} |`,
      ].join('\n') + '\n',
    );
    if (values.out) fs.writeFileSync(values.out, JSON.stringify(out, null, 2) + '\n');
  } finally {
    api?.kill('SIGTERM');
    await workers.stop();
    await stack.close();
  }
}
