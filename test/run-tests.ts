/**
 * `npm test`: run every compiled test file with Node's test runner against a real Redis. When no Redis
 * answers at REDIS_URL (default redis://127.0.0.1:6379), a private redis-server is started on a free port
 * for the duration of the tests. Each test uses its own queue prefix and storage folder.
 * Arguments narrow the files: `npm test -- flow` runs files whose path contains "flow".
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { resolveConfig } from '../shared/core/config/config';
import { ensureRedis } from '../shared/runtime/redis/local-redis';

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

async function main(): Promise<number> {
  const filters = process.argv.slice(2);
  const files = testFiles(__dirname).filter(
    (f) => filters.length === 0 || filters.some((x) => f.includes(x)),
  );
  if (files.length === 0) throw new Error(`no test files match ${filters.join(' ')}`);
  const config = resolveConfig(process.env);
  const redis = await ensureRedis({ url: config.redisUrl, dir: config.redisDir, mode: 'private' });
  if (redis.started) process.stderr.write(`test: started a private redis-server at ${redis.url}\n`);
  try {
    const child = spawn(process.execPath, ['--test', '--test-concurrency=1', ...files], {
      stdio: 'inherit',
      env: {
        ...process.env,
        REDIS_URL: redis.url,
        TICKETFLOW_LOG_LEVEL: process.env.TICKETFLOW_LOG_LEVEL ?? 'warn',
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
