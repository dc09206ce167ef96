import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import IORedis from 'ioredis';
import { resolveConfig, PROJECT_ROOT, TicketflowConfig } from '../../shared/core/config/config';
import { createLogger, Logger } from '../../shared/core/logger';
import { StageContext } from '../../shared/pipeline/stages/context';
import { openStore } from '../../shared/core/store/open-store';

/** `../shared/data` beside the project, or `TICKETFLOW_SHARED_DATA`. */
export const SHARED_DATA = path.resolve(
  process.env.TICKETFLOW_SHARED_DATA ?? path.join(PROJECT_ROOT, '..', 'shared', 'data'),
);
export const DEV_DATASET = path.join(SHARED_DATA, 'complaints-dev.json');
export const SAMPLE_DATASET = path.join(PROJECT_ROOT, 'shared', 'sample', 'complaints-sample.json');
export const hasSharedData = fs.existsSync(DEV_DATASET);

/** Every folder tempDir made in this process: removed when it exits, whether or not its test cleaned up. */
const made = new Set<string>();
process.once('exit', () => {
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});

/** A fresh folder under the system's temp folder, gone when the test file's process exits. */
export function tempDir(label: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ticketflow-${label}-`));
  made.add(dir);
  return dir;
}

export const quietLog: Logger = createLogger(process.env.TICKETFLOW_LOG_LEVEL ?? 'warn', {
  component: 'test',
});

/** A config of its own for one test: a random queue prefix and a fresh storage folder. */
export function testConfig(env: Record<string, string> = {}): TicketflowConfig {
  return resolveConfig({
    ...process.env,
    TICKETFLOW_QUEUE_PREFIX: `tft-${randomBytes(4).toString('hex')}`,
    TICKETFLOW_STORAGE_DIR: tempDir('storage'),
    ...env,
  });
}

/** A stage context over the config's store (`config.storage`). */
export function stageContext(config: TicketflowConfig, runId = 'test-run'): StageContext {
  return { store: openStore(config.storage), runId, params: { ...config.pipeline }, log: quietLog };
}

/** Remove every Redis key under the test's prefix and its storage folder. */
export async function cleanup(config: TicketflowConfig): Promise<void> {
  const redis = new IORedis(config.redisUrl, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${config.queuePrefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  fs.rmSync(config.storageDir, { recursive: true, force: true });
}
