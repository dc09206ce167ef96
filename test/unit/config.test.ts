import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { PROJECT_ROOT, resolveConfig } from '../../shared/core/config/config';
import { DEFAULT_PIPELINE_PARAMS, resolvePipelineParams } from '../../shared/core/config/pipeline-params';
import { BadInputError } from '../../shared/core/errors';

describe('resolveConfig', () => {
  it('gives the documented defaults for an empty environment', () => {
    const c = resolveConfig({});
    assert.equal(c.redisUrl, 'redis://127.0.0.1:6379');
    assert.equal(c.queuePrefix, 'ticketflow');
    assert.equal(c.storageDir, path.join(PROJECT_ROOT, '.ticketflow', 'storage'));
    assert.equal(c.dataDir, path.join(PROJECT_ROOT, 'shared', 'sample'));
    assert.equal(c.port, 3000);
    assert.deepEqual(c.retry, { attempts: 4, backoff: { type: 'fixed', delay: 2000 } });
    assert.equal(c.pipeline.topics, 3);
    assert.equal(c.pipeline.minDf, 2);
    assert.equal(c.pipeline.maxDf, 0.95);
    assert.equal(c.pipeline.testSize, 0.3);
    assert.equal(c.pipeline.splitSeed, 42);
  });

  it('reads the environment and is pure (same input, same output)', () => {
    const env = {
      REDIS_URL: 'redis://db:6380/2',
      TICKETFLOW_QUEUE_PREFIX: 'tf2',
      TICKETFLOW_STORAGE_DIR: '/tmp/s',
      PORT: '8080',
    };
    assert.deepEqual(resolveConfig(env), resolveConfig(env));
    const c = resolveConfig(env);
    assert.equal(c.redisUrl, 'redis://db:6380/2');
    assert.equal(c.queuePrefix, 'tf2');
    assert.equal(c.storageDir, '/tmp/s');
    assert.equal(c.port, 8080);
  });

  it('lists every invalid variable in one message', () => {
    assert.throws(
      () =>
        resolveConfig({
          REDIS_URL: 'localhost',
          PORT: 'eighty',
          TICKETFLOW_QUEUE_PREFIX: 'a:b',
          TICKETFLOW_LOG_LEVEL: 'loud',
        }),
      (err: Error) =>
        err instanceof BadInputError &&
        /REDIS_URL must look like/.test(err.message) &&
        /PORT must be an integer from 0 to 65535, got "eighty"/.test(err.message) &&
        /TICKETFLOW_QUEUE_PREFIX/.test(err.message) &&
        /TICKETFLOW_LOG_LEVEL/.test(err.message),
    );
  });
});

describe('resolveConfig: where artifacts live', () => {
  it('defaults to the storage folder, takes a file URL as the folder, and an s3 URL with the AWS variables', () => {
    const dir = resolveConfig({ TICKETFLOW_STORAGE_DIR: '/srv/tf' });
    assert.deepEqual(dir.storage, { kind: 'file', root: '/srv/tf' });
    const file = resolveConfig({
      TICKETFLOW_STORAGE_DIR: '/srv/tf',
      TICKETFLOW_STORAGE_URL: 'file:///var/lib/tf',
    });
    assert.equal(file.storageDir, '/var/lib/tf');
    assert.deepEqual(file.storage, { kind: 'file', root: '/var/lib/tf' });
    const s3 = resolveConfig({
      TICKETFLOW_STORAGE_URL: 's3://runs-bucket/tf',
      TICKETFLOW_S3_ENDPOINT: 'http://127.0.0.1:9000',
      AWS_ACCESS_KEY_ID: 'id',
      AWS_SECRET_ACCESS_KEY: 'secret',
    });
    assert.deepEqual(s3.storage, {
      kind: 's3',
      bucket: 'runs-bucket',
      prefix: 'tf',
      endpoint: 'http://127.0.0.1:9000',
      region: 'us-east-1',
      credentials: { accessKeyId: 'id', secretAccessKey: 'secret' },
    });
    assert.throws(
      () =>
        resolveConfig({
          TICKETFLOW_STORAGE_URL: 's3://runs-bucket',
          TICKETFLOW_S3_ENDPOINT: 'http://key:s3cret@127.0.0.1:9000',
        }),
      (err: Error) =>
        /TICKETFLOW_S3_ENDPOINT holds user:password@/.test(err.message) && !/s3cret/.test(err.message),
    );
    assert.throws(
      () => resolveConfig({ TICKETFLOW_STORAGE_URL: 'ftp://x/y', PORT: 'x' }),
      /TICKETFLOW_STORAGE_URL="ftp:\/\/x\/y": the scheme must be file: or s3:.*; PORT|PORT.*TICKETFLOW_STORAGE_URL/,
    );
  });
});

describe('resolvePipelineParams', () => {
  it('overlays valid overrides without touching the defaults', () => {
    const p = resolvePipelineParams(DEFAULT_PIPELINE_PARAMS, { topics: 5, C: 0.5, stratify: false });
    assert.equal(p.topics, 5);
    assert.equal(p.C, 0.5);
    assert.equal(p.stratify, false);
    assert.equal(DEFAULT_PIPELINE_PARAMS.topics, 3);
  });

  it('rejects unknown names and bad values, all at once', () => {
    assert.throws(
      () =>
        resolvePipelineParams(DEFAULT_PIPELINE_PARAMS, { topics: 2.5, testSize: 1, colour: 'red', minDf: 0 }),
      (err: Error) =>
        /"topics" must be an integer/.test(err.message) &&
        /"testSize" must be a number strictly between 0 and 1/.test(err.message) &&
        /unknown parameter "colour"/.test(err.message) &&
        /"minDf"/.test(err.message),
    );
    assert.throws(
      () => resolvePipelineParams(DEFAULT_PIPELINE_PARAMS, { minDf: 0.9, maxDf: 0.5 }),
      /must not exceed/,
    );
    assert.throws(
      () => resolvePipelineParams(DEFAULT_PIPELINE_PARAMS, { topicDictionary: { A: [] } }),
      /non-empty list/,
    );
    assert.throws(() => resolvePipelineParams(DEFAULT_PIPELINE_PARAMS, [1]), /JSON object/);
  });
});
