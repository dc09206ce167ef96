import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../shared/core/config/config';
import { cleanup, SAMPLE_DATASET, tempDir, testConfig } from '../helpers/env';
import { runCli } from '../helpers/cli';

/**
 * The stage cache follows the code: a build whose stage-3 code differs by one line reruns stages 3–4 and
 * reuses stages 1–2. Each run is a fresh self-contained CLI (its own worker process) started from a copy of
 * dist/, so the copy's files are the code both the submitter and the workers load.
 */
describe('stage cache keyed by the code identity', () => {
  const config = testConfig();
  let project: string;
  let redisDir: string;
  before(() => {
    project = tempDir('code-identity');
    redisDir = tempDir('code-identity-redis');
    for (const part of ['shared', 'workers', 'producers']) {
      fs.cpSync(path.join(PROJECT_ROOT, 'dist', part), path.join(project, 'dist', part), { recursive: true });
    }
    fs.copyFileSync(path.join(PROJECT_ROOT, 'package.json'), path.join(project, 'package.json'));
    fs.symlinkSync(path.join(PROJECT_ROOT, 'node_modules'), path.join(project, 'node_modules'), 'dir');
  });
  after(async () => {
    await cleanup(config);
    fs.rmSync(project, { recursive: true, force: true });
    fs.rmSync(redisDir, { recursive: true, force: true });
  });

  const run = async (): Promise<{
    cached: Record<string, boolean>;
    code: Record<string, string | undefined>;
  }> => {
    const cli = path.join(project, 'dist', 'producers', 'cli', 'ticketflow.js');
    const res = await runCli(
      ['run', '--json', '--workers', '1', '--data', SAMPLE_DATASET],
      {
        TICKETFLOW_QUEUE_PREFIX: config.queuePrefix,
        TICKETFLOW_STORAGE_DIR: config.storageDir,
        TICKETFLOW_REDIS_DIR: redisDir,
        TICKETFLOW_DATA_DIR: path.dirname(SAMPLE_DATASET),
      },
      cli,
    );
    assert.equal(res.code, 0, res.stderr);
    const out = JSON.parse(res.stdout.trim()) as {
      state: string;
      artifactsDir: string;
      cached: Record<string, boolean>;
    };
    assert.equal(out.state, 'completed');
    const record = JSON.parse(fs.readFileSync(path.join(out.artifactsDir, 'run.json'), 'utf8')) as {
      stages: { stage: string; code?: string }[];
    };
    const code = Object.fromEntries(record.stages.map((s) => [s.stage, s.code]));
    for (const c of Object.values(code))
      assert.match(String(c), /^[0-9a-f]{64}$/, 'the record keeps each code identity');
    return { cached: out.cached, code };
  };

  it('reruns stages 3–4 and keeps stages 1–2 cached after one line of stage 3 changes', async () => {
    const all = (cached: boolean) => ({
      'text-processing': cached,
      'feature-extraction': cached,
      'transform-split': cached,
      training: cached,
    });
    const first = await run();
    assert.deepEqual(first.cached, all(false), 'first run computes every stage');

    const stage3 = path.join(
      project,
      'dist',
      'shared',
      'pipeline',
      'stages',
      'transform-split',
      'transform-split.js',
    );
    fs.appendFileSync(stage3, '\nvoid "a changed line of stage 3";\n');

    const changed = await run();
    assert.deepEqual(
      changed.cached,
      { 'text-processing': true, 'feature-extraction': true, 'transform-split': false, training: false },
      'the changed build reruns stage 3 and everything after it',
    );
    assert.notEqual(changed.code['transform-split'], first.code['transform-split']);
    assert.equal(changed.code['text-processing'], first.code['text-processing']);
    assert.deepEqual((await run()).cached, all(true), 'the changed build then reuses its own results');
  });
});
