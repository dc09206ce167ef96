/**
 * node dist/tools/bench/serve-load.js [--api-root DIR] [--cache-mb N] [--duration S]
 *
 * The API under a client cycling large models: the API (from `--api-root`'s dist, default this build) as
 * its own process, a small `production` model and six synthetic category models of the probe's size
 * (23.6 MB model.json each). 10 connections POST /classify to `production` (autocannon) for `duration`
 * seconds while one client POSTs to the six large models in turn, one request at a time. Prints the
 * production traffic's req/s and latency percentiles, the cycling client's requests and median, and the
 * API's resident memory.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ChildProcess } from 'node:child_process';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../../shared/core/config/config';
import { ModelRegistry } from '../../shared/runtime/runs/model-registry';
import { freePort } from '../../shared/runtime/redis/local-redis';
import { syntheticModel, writeModelRun } from '../../test/model/synthetic-model';
import { openBenchStack, stackTarget, startApiProcess } from './bench-stack';
import { residentMb } from './process-memory';

const autocannon = require('autocannon') as (opts: Record<string, unknown>) => Promise<{
  latency: { p50: number; p99: number; max: number };
  requests: { total: number; average: number };
  non2xx: number;
  errors: number;
}>;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'api-root': { type: 'string', default: PROJECT_ROOT },
      'cache-mb': { type: 'string' },
      duration: { type: 'string', default: '14' },
    },
  });
  const duration = Number(values.duration);
  const stack = await openBenchStack('serve-load');
  const { config, runs } = stack;
  let api: ChildProcess | null = null;
  try {
    const production = '20260101-000000-000000';
    await writeModelRun(runs.store, config.storageDir, production, syntheticModel({ terms: 5000, seed: 5 }));
    const large = Array.from({ length: 6 }, (_, i) => `20260101-00000${i + 1}-00000${i + 1}`);
    for (const [i, run] of large.entries())
      await writeModelRun(
        runs.store,
        config.storageDir,
        run,
        syntheticModel({ terms: 137_000, seed: 100 + i }),
      );
    const size = fs.statSync(path.join(config.storageDir, 'runs', large[0]!, 'model.json')).size;
    await new ModelRegistry(runs).setAlias('production', production);

    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    api = await startApiProcess(
      values['api-root'],
      stackTarget(stack),
      port,
      values['cache-mb'] ? { TICKETFLOW_MODEL_CACHE_MB: values['cache-mb'] } : {},
      'inherit',
    );
    const body = (model?: string) =>
      JSON.stringify({
        tickets: [{ text: 'The bank charged an overdraft fee on my checking account twice.' }],
        ...(model ? { model } : {}),
      });
    const post = (model?: string) =>
      fetch(`${url}/classify`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: body(model),
      }).then(async (r) => {
        await r.arrayBuffer();
        if (!r.ok) throw new Error(`POST /classify ${model}: ${r.status}`);
      });
    await post();
    const stop = Date.now() + duration * 1000;
    const cycling: number[] = [];
    const cycle = (async () => {
      for (let i = 0; Date.now() < stop; i++) {
        const t = performance.now();
        await post(large[i % large.length]);
        cycling.push(performance.now() - t);
      }
    })();
    const result = await autocannon({
      url: `${url}/classify`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: body(),
      connections: 10,
      duration,
    });
    await cycle;
    cycling.sort((a, b) => a - b);
    const rssMb = residentMb(api.pid!);
    const rss = rssMb === null ? null : Math.round(rssMb);
    process.stdout.write(
      `${JSON.stringify({
        apiRoot: values['api-root'],
        cacheMb: values['cache-mb'] ?? 'default',
        largeModelMb: +(size / 1e6).toFixed(1),
        production: {
          reqPerSec: Math.round(result.requests.average),
          p50ms: result.latency.p50,
          p99ms: result.latency.p99,
          maxMs: result.latency.max,
          non2xx: result.non2xx,
          errors: result.errors,
        },
        cyclingClient: {
          requests: cycling.length,
          p50ms: Math.round(cycling[Math.floor(cycling.length / 2)] ?? 0),
        },
        apiRssMb: rss,
      })}\n`,
    );
  } finally {
    api?.kill('SIGTERM');
    await stack.close();
  }
}

main().catch((err: Error) => {
  process.stderr.write(`serve-load: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
