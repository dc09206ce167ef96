import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createConnection } from '../../shared/flow/connection';
import { stageJobId } from '../../shared/flow/job-types';
import { closeRunsContext, openRunsContext } from '../../shared/runs/context';
import { deriveRunFields, initialStages, RunRecord } from '../../shared/runs/record';
import { LOST_JOBS_AFTER_MS, refreshRecord } from '../../shared/runs/refresh';
import { stageCacheKeys } from '../../shared/runs/stage-cache';
import { cleanup, testConfig } from '../helpers/env';

describe('a run whose jobs are gone from Redis', () => {
  const config = testConfig();
  const connection = createConnection(config.redisUrl);
  const runs = openRunsContext(config, connection);
  after(async () => {
    await closeRunsContext(runs);
    connection.disconnect();
    await cleanup(config);
  });

  const record = (lastEventAgoMs: number): RunRecord => {
    const at = new Date(Date.now() - lastEventAgoMs).toISOString();
    const id = 'lost-run';
    const stages = initialStages(stageCacheKeys('0'.repeat(64), config.pipeline), config.tags, 4).map(
      (s) => ({
        ...s,
        jobId: stageJobId(id, s.stage),
        generation: 1,
        state: s.stage === 'text-processing' ? ('active' as const) : s.state,
        startedAt: s.stage === 'text-processing' ? at : null,
      }),
    );
    return deriveRunFields(
      {
        id,
        state: 'active',
        dataset: 'x.json',
        datasetSha256: '0'.repeat(64),
        datasetBytes: 1,
        params: config.pipeline,
        cache: true,
        codeVersion: 'test',
        createdAt: at,
        startedAt: at,
        finishedAt: null,
        durationSeconds: null,
        progress: 0,
        generation: 1,
        stages,
        error: null,
        metrics: null,
        warnings: [],
        events: [{ at, event: 'created' }],
      },
      new Date(),
    );
  };

  it('fails, saying so and how to go on, once its last event is old enough', async () => {
    const lost = await refreshRecord(record(LOST_JOBS_AFTER_MS + 1000), runs.queues, config.storageDir);
    assert.equal(lost.state, 'failed');
    assert.equal(lost.error?.stage, 'text-processing');
    assert.match(lost.error?.message ?? '', /jobs are gone from Redis.*retry the run/);
    assert.deepEqual(
      lost.stages.map((s) => s.state),
      ['failed', 'skipped', 'skipped', 'skipped'],
    );
  });

  it('is left alone right after submission, while its flow is being added', async () => {
    const fresh = await refreshRecord(record(100), runs.queues, config.storageDir);
    assert.equal(fresh.state, 'active');
    assert.equal(fresh.error, null);
  });
});
