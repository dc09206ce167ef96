/**
 * npm run bench:list -- [--runs N] [--requests N]
 *
 * GET /runs latency at N runs (default 10,000): a private Redis, the real API over HTTP on loopback, and
 * N run records written through the record store (run.json in storage + the Redis index), as the API
 * writes them — synthetic records (a sample-sized dataset reference, states spread over all five), not N
 * executed runs, since listing reads only the index.
 */
import http from 'node:http';
import { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { createApiConnection } from '../../shared/runtime/flow/connection';
import { deriveRunFields, initialStages, RUN_STATES, RunRecord } from '../../shared/runtime/runs/record';
import { stageCacheKeys } from '../../shared/runtime/runs/stage-cache';
import { createApp } from '../../producers/api/app';
import { createLogger } from '../../shared/core/logger';
import { openBenchStack } from './bench-stack';

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { runs: { type: 'string', default: '10000' }, requests: { type: 'string', default: '1000' } },
  });
  const n = Number(values.runs);
  const requests = Number(values.requests);
  const stack = await openBenchStack('list-bench', {}, createApiConnection);
  const { config, runs } = stack;
  await new Promise<void>((r) => stack.connection.once('ready', () => r()));
  const server = http.createServer(createApp(runs, createLogger('error'))).listen(0, '127.0.0.1');
  try {
    const t0 = performance.now();
    const base = Date.parse('2026-01-01T00:00:00Z');
    const keys = stageCacheKeys('0'.repeat(64), config.pipeline);
    for (let i = 0; i < n; i += 200) {
      await Promise.all(
        Array.from({ length: Math.min(200, n - i) }, (_, k) => {
          const at = new Date(base + (i + k) * 60_000).toISOString();
          const record: RunRecord = deriveRunFields(
            {
              id: `bench-${String(i + k).padStart(6, '0')}`,
              state: RUN_STATES[(i + k) % RUN_STATES.length]!,
              dataset: 'complaints-dev.json',
              datasetSha256: '0'.repeat(64),
              datasetBytes: 0,
              params: config.pipeline,
              cache: true,
              codeVersion: 'bench',
              createdAt: at,
              startedAt: null,
              finishedAt: null,
              durationSeconds: null,
              progress: 0,
              generation: 1,
              stages: initialStages(keys, 4),
              error: null,
              metrics: null,
              warnings: [],
              events: [{ at, event: 'created' }],
            },
            new Date(),
          );
          return runs.store.write({ ...record, state: RUN_STATES[(i + k) % RUN_STATES.length]! });
        }),
      );
    }
    process.stderr.write(
      `list-bench: wrote ${n} run records in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
    );
    const port = (server.address() as AddressInfo).port;
    const get = async (route: string) => {
      const s = performance.now();
      const res = await fetch(`http://127.0.0.1:${port}${route}`);
      const body = (await res.json()) as { runs: unknown[]; next: string | null };
      if (res.status !== 200) throw new Error(`${route}: ${res.status}`);
      return { ms: performance.now() - s, body };
    };
    for (let i = 0; i < 50; i++) await get('/runs'); // warm-up
    const rows: string[] = ['| request | p50 ms | p99 ms | runs per page |', '|---|---:|---:|---:|'];
    let cursor: string | null = null;
    const cases: [string, () => string][] = [
      ['GET /runs (50 newest)', () => '/runs'],
      ['GET /runs?state=failed&limit=100', () => '/runs?state=failed&limit=100'],
      [
        'GET /runs?limit=50&cursor=… (paging through all)',
        () => `/runs?limit=50${cursor ? `&cursor=${cursor}` : ''}`,
      ],
    ];
    for (const [label, route] of cases) {
      const times: number[] = [];
      let size = 0;
      for (let i = 0; i < requests; i++) {
        const { ms, body } = await get(route());
        times.push(ms);
        size = body.runs.length;
        cursor = body.next;
      }
      times.sort((a, b) => a - b);
      rows.push(
        `| ${label} | ${percentile(times, 50).toFixed(2)} | ${percentile(times, 99).toFixed(2)} | ${size} |`,
      );
    }
    process.stdout.write(
      `GET /runs at ${n} runs, ${requests} sequential requests each, loopback:\n${rows.join('\n')}\n`,
    );
  } finally {
    server.close();
    await stack.close();
  }
}

main().catch((err: Error) => {
  process.stderr.write(`list-bench: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
