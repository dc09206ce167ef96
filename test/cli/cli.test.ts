import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from '../../shared/runtime/redis/local-redis';
import { cleanup, SAMPLE_DATASET, tempDir, testConfig } from '../helpers/env';
import { runCli } from '../helpers/cli';

describe('ticketflow CLI', () => {
  const config = testConfig();
  const env = {
    TICKETFLOW_QUEUE_PREFIX: config.queuePrefix,
    TICKETFLOW_STORAGE_DIR: config.storageDir,
    TICKETFLOW_REDIS_DIR: tempDir('redis'),
  };
  let dataDir: string;
  before(() => {
    dataDir = tempDir('cli-data');
    fs.writeFileSync(
      path.join(dataDir, 'empty.json'),
      '[{"_source": {"complaint_what_happened": "", "product": "Mortgage"}}]',
    );
  });
  after(async () => {
    await cleanup(config);
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(env.TICKETFLOW_REDIS_DIR, { recursive: true, force: true });
  });

  it('prints usage with --help', async () => {
    const res = await runCli(['--help'], env);
    assert.equal(res.code, 0);
    assert.match(res.stdout, /ticketflow run \[--data FILE\]/);
    assert.equal((await runCli(['frobnicate'], env)).code, 2);
  });

  it('is self-contained: starts its own Redis and workers, prints one JSON object, cleans up', async () => {
    const unused = `redis://127.0.0.1:${await freePort()}`;
    const res = await runCli(['run', '--json', '--workers', '1', '--chunk-size', '500'], {
      ...env,
      REDIS_URL: unused,
    });
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /started a private redis-server/);
    assert.match(res.stderr, /started 1 worker process/);
    assert.match(
      res.stderr,
      /text-processing: completed \| feature-extraction: completed \| transform-split: completed \| training: completed/,
    );
    const lines = res.stdout.trim().split('\n');
    assert.equal(lines.length, 1, 'stdout holds only the JSON object');
    const out = JSON.parse(lines[0]!) as {
      id: string;
      state: string;
      artifactsDir: string;
      stages: Record<string, number>;
      metrics: { test: { accuracy: number } };
    };
    assert.equal(out.state, 'completed');
    assert.ok(fs.existsSync(path.join(out.artifactsDir, 'metrics.json')));
    assert.deepEqual(Object.keys(out.stages), [
      'text-processing',
      'feature-extraction',
      'transform-split',
      'training',
    ]);
    assert.ok(out.metrics.test.accuracy > 0.8);
  });

  it('prints the report by default and exits non-zero with the failing stage on bad data', async () => {
    const ok = await runCli(['run', '--data', SAMPLE_DATASET, '--workers', '1'], env);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /Test classification report:/);
    assert.match(ok.stdout, /weighted avg/);
    assert.match(ok.stdout, /accuracy\s+0\.9\d+\s+0\.\d+/);
    const bad = await runCli(['run', '--data', path.join(dataDir, 'empty.json'), '--workers', '1'], env);
    assert.equal(bad.code, 1);
    assert.match(
      bad.stderr,
      /failed in stage text-processing: .*empty\.json: no record with a non-empty narrative/,
    );
    const missing = await runCli(['run', '--data', path.join(dataDir, 'nope.json')], env);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /nope\.json does not exist/);
    const badParams = await runCli(['run', '--params', '{"topics": 1}'], env);
    assert.equal(badParams.code, 2);
    assert.match(badParams.stderr, /"topics" must be an integer from 2/);
  });
});
