import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { freePort } from '../../shared/runtime/redis/local-redis';
import { inDeploymentDataRoot } from '../../producers/cli/session';
import { cleanup, SAMPLE_DATASET, tempDir, testConfig } from '../helpers/env';
import { runCli } from '../helpers/cli';

/**
 * The CLI reads local files whatever TICKETFLOW_DATA_URL says: the workers it starts read the file's own
 * folder, and running workers that read an S3 prefix are not handed a local path.
 */
describe('the CLI with TICKETFLOW_DATA_URL naming a bucket', () => {
  // A bucket no one serves: a worker that tried it would fail every attempt.
  const bucketEnv = {
    TICKETFLOW_DATA_URL: 's3://no-such-data/prefix',
    TICKETFLOW_S3_ENDPOINT: 'http://127.0.0.1:9',
    AWS_ACCESS_KEY_ID: 'nobody',
    AWS_SECRET_ACCESS_KEY: 'nothing',
  };
  const config = testConfig(bucketEnv);
  const redisDir = tempDir('redis');
  after(async () => {
    await cleanup(config);
    fs.rmSync(redisDir, { recursive: true, force: true });
  });

  it('trains on a local --data file with the workers it starts', async () => {
    const res = await runCli(
      ['run', '--data', SAMPLE_DATASET, '--json', '--workers', '1', '--chunk-size', '500'],
      {
        ...bucketEnv,
        TICKETFLOW_QUEUE_PREFIX: config.queuePrefix,
        TICKETFLOW_STORAGE_DIR: config.storageDir,
        TICKETFLOW_REDIS_DIR: redisDir,
        REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
      },
    );
    assert.equal(res.code, 0, res.stderr);
    assert.equal((JSON.parse(res.stdout) as { state: string }).state, 'completed');
  });

  it('refuses to hand a local file to running workers that read the bucket, naming the prefix', async () => {
    assert.equal(config.data.kind, 's3');
    await assert.rejects(
      inDeploymentDataRoot(config, 'mine.json', SAMPLE_DATASET),
      /--data mine\.json: the running workers read datasets from s3:\/\/no-such-data\/prefix/,
    );
  });
});
