import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from '../../shared/core/config/config';
import { cleanup, testConfig } from '../helpers/env';

describe('worker process', () => {
  const config = testConfig();
  after(async () => cleanup(config));

  it('closes gracefully on SIGTERM and SIGINT', async () => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const child = spawn(
        process.execPath,
        [path.join(PROJECT_ROOT, 'dist', 'workers', 'main.js'), '--queues', 'training,text-chunks'],
        {
          env: {
            ...process.env,
            TICKETFLOW_QUEUE_PREFIX: config.queuePrefix,
            TICKETFLOW_STORAGE_DIR: config.storageDir,
            TICKETFLOW_LOG_LEVEL: 'info',
          },
          stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        },
      );
      let stderr = '';
      child.stderr!.on('data', (d) => (stderr += d));
      await new Promise<void>((resolve, reject) => {
        child.on('message', (m: { type?: string }) => m?.type === 'ticketflow-worker-ready' && resolve());
        child.on('exit', (code) => reject(new Error(`worker exited early (${code}): ${stderr}`)));
      });
      const started = Date.now();
      child.kill(signal);
      const code = await new Promise<number | null>((resolve) =>
        child.on('exit', (c, s) => resolve(c ?? (s as unknown as number))),
      );
      assert.equal(code, 0, stderr);
      assert.ok(Date.now() - started < 10_000, 'an idle worker closes at once');
      assert.match(stderr, new RegExp(`${signal}: closing`));
      assert.match(stderr, /serving training, text-chunks/);
    }
  });
});
