import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createConnection } from '../../shared/runtime/flow/connection';
import { closeRunsContext, openRunsContext } from '../../shared/runtime/runs/context';
import { RunRecord } from '../../shared/runtime/runs/record';
import { activeRunWithoutJobs } from '../helpers/records';
import { LOST_JOBS_AFTER_MS, refreshRecord } from '../../shared/runtime/runs/refresh';
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
    return activeRunWithoutJobs(id, at, config.pipeline);
  };

  it('fails, saying so and how to go on, once its last event is old enough', async () => {
    const lost = await refreshRecord(record(LOST_JOBS_AFTER_MS + 1000), runs.queues);
    assert.equal(lost.state, 'failed');
    assert.equal(lost.error?.stage, 'text-processing');
    assert.match(lost.error?.message ?? '', /jobs are gone from Redis.*retry the run/);
    assert.deepEqual(
      lost.stages.map((s) => s.state),
      ['failed', 'skipped', 'skipped', 'skipped'],
    );
  });

  it('is left alone right after submission, while its flow is being added', async () => {
    const fresh = await refreshRecord(record(100), runs.queues);
    assert.equal(fresh.state, 'active');
    assert.equal(fresh.error, null);
  });
});
