/**
 * `npm test`: run the compiled test files with Node's test runner against a real Redis. When no Redis
 * answers at REDIS_URL (default redis://127.0.0.1:6379), a private redis-server is started on a free port
 * for the duration of the tests. Each test uses its own queue prefix and storage folder.
 *
 * Two lanes, so the one run after every change stays short: `npm test` runs every file outside
 * SYSTEM_LANE; `npm run test:system` (`--lane system`) the drills with real processes killed, Redis
 * stopped or hung, deployments, whole runs on the S3 backend and the byte-determinism runs over many
 * worker processes; CI runs both (`--lane all` runs both at once).
 * Arguments narrow the files, across both lanes: `npm test -- flow` runs files whose path contains "flow".
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { resolveConfig } from '../shared/core/config/config';
import { ensureRedis } from '../shared/runtime/redis/local-redis';
import { wholeNumber } from '../tools/bench/bench-options';

function testFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory()
        ? testFiles(path.join(dir, e.name))
        : e.name.endsWith('.test.js')
          ? [path.join(dir, e.name)]
          : [],
    )
    .sort();
}

/** Path parts of the files `npm run test:system` runs: minutes of real processes, not of logic. */
const SYSTEM_LANE = [
  '/chaos/',
  '/deploy/',
  '/ops/',
  '/flow/s3-',
  '/runs/dataset-on-s3.',
  '/runs/runtime-on-s3.',
  // many real worker processes, or a process killed, Redis hung or stopped, a store unreachable
  '/flow/determinism.',
  '/cli/cli-control.',
  '/api/store-outage.',
  '/api/redis-hang.',
  '/runs/delete-restartable.',
  '/runs/api-503.',
  '/redis/durable-redis.',
];

const LANES = ['main', 'system', 'all'] as const;
type Lane = (typeof LANES)[number];

function inLane(file: string, lane: Lane): boolean {
  const system = SYSTEM_LANE.some((part) => file.includes(part));
  return lane === 'all' || (lane === 'system') === system;
}

/**
 * Test files run at once: the main lane's tests mostly wait (on Redis, on worker processes starting, on
 * HTTP), so two files at a time keep 2 cores busy; the system lane's drills time outages and kills
 * against lock durations, and run one at a time. TICKETFLOW_TEST_CONCURRENCY overrides both.
 */
function testConcurrency(lane: Lane, env: NodeJS.ProcessEnv): number {
  const set = env.TICKETFLOW_TEST_CONCURRENCY;
  if (set !== undefined && set !== '') return wholeNumber('TICKETFLOW_TEST_CONCURRENCY', set, 1);
  return lane === 'main' ? 2 : 1;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const at = args.indexOf('--lane');
  const lane = at === -1 ? undefined : args.splice(at, 2)[1];
  if (lane !== undefined && !(LANES as readonly string[]).includes(lane))
    throw new Error(`--lane must be one of ${LANES.join(', ')}, not ${JSON.stringify(lane)}`);
  const filters = args;
  // Without --lane, filters look in both lanes; without filters either, the main lane runs.
  const chosen = (lane ?? (filters.length === 0 ? 'main' : 'all')) as Lane;
  const files = testFiles(__dirname).filter(
    (f) => inLane(f, chosen) && (filters.length === 0 || filters.some((x) => f.includes(x))),
  );
  if (files.length === 0) throw new Error(`no test files match ${filters.join(' ')}`);
  const concurrency = testConcurrency(chosen, process.env);
  const config = resolveConfig(process.env);
  const redis = await ensureRedis({ url: config.redisUrl, dir: config.redisDir, mode: 'private' });
  if (redis.started) process.stderr.write(`test: started a private redis-server at ${redis.url}\n`);
  try {
    const child = spawn(process.execPath, ['--test', `--test-concurrency=${concurrency}`, ...files], {
      stdio: 'inherit',
      env: {
        ...process.env,
        REDIS_URL: redis.url,
        TICKETFLOW_LOG_LEVEL: process.env.TICKETFLOW_LOG_LEVEL ?? 'warn',
        // Tests start hundreds of workers, each of whose sandboxes would spend a second of CPU warming up
        // for runs of a few hundred tickets: off, but in test/ops/warm-up, which turns it on.
        TICKETFLOW_WARM_UP: process.env.TICKETFLOW_WARM_UP ?? '0',
      },
    });
    return await new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
  } finally {
    await redis.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`test: ${err.message}\n`);
    process.exit(1);
  },
);
