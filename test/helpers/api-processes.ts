import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { resolveConfig } from '../../shared/core/config/config';
import { freePort } from '../../shared/runtime/redis/local-redis';
import { cleanup, tempDir } from './env';
import { stopAll } from './processes';

/**
 * Environments for API processes a test file starts itself: each gets a free port, its own queue prefix
 * and folders, and this test run's Redis; `close` stops every process and removes what they made.
 */
export function apiProcessEnvs(label: string): {
  env(extra: Record<string, string>): Promise<{ env: Record<string, string>; port: number }>;
  close(): Promise<void>;
} {
  const dirs: string[] = [];
  const prefixes: string[] = [];
  return {
    async env(extra) {
      const port = await freePort();
      const storage = tempDir(`${label}-storage`);
      const redisDir = tempDir(`${label}-redis`);
      dirs.push(storage, redisDir);
      const prefix = `tf${label}-${randomBytes(4).toString('hex')}`;
      prefixes.push(prefix);
      return {
        port,
        env: {
          PORT: String(port),
          TICKETFLOW_QUEUE_PREFIX: prefix,
          TICKETFLOW_STORAGE_DIR: storage,
          TICKETFLOW_REDIS_DIR: redisDir,
          TICKETFLOW_LOG_LEVEL: 'info',
          HOST: '127.0.0.1',
          ...extra,
        },
      };
    },
    async close() {
      await stopAll();
      for (const prefix of prefixes)
        await cleanup(
          resolveConfig({
            ...process.env,
            TICKETFLOW_QUEUE_PREFIX: prefix,
            TICKETFLOW_STORAGE_DIR: tempDir('x'),
          }),
        );
      for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
