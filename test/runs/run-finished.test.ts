import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createConnection } from '../../shared/runtime/flow/connection';
import { closeRunsContext, openRunsContext, RunsContext } from '../../shared/runtime/runs/context';
import { LOST_JOBS_AFTER_MS } from '../../shared/runtime/runs/refresh';
import { runFinished } from '../../shared/runtime/runs/run-finished';
import { syncRun } from '../../shared/runtime/runs/sync';
import { activeRunWithoutJobs } from '../helpers/records';
import { cleanup, testConfig } from '../helpers/env';

describe('run-finished hooks', () => {
  const config = testConfig();
  const connection = createConnection(config.redisUrl);
  const heard: string[] = [];
  async function breaks(): Promise<void> {
    throw new Error('disk full');
  }
  const runs = openRunsContext(config, connection, {
    onRunFinished: [breaks, async (_ctx, runId) => void heard.push(runId)],
  });
  after(async () => {
    await closeRunsContext(runs);
    connection.disconnect();
    await cleanup(config);
  });

  it('run once when a run turns final, and a hook that throws neither fails the sync nor stops the next', async () => {
    const id = 'finishing-run';
    const at = new Date(Date.now() - LOST_JOBS_AFTER_MS - 1000).toISOString();
    await runs.store.write(activeRunWithoutJobs(id, at, config.pipeline));
    // Its jobs are gone from Redis: the sync fails the run, and the run ends here.
    const synced = await syncRun(runs, id);
    assert.equal(synced?.state, 'failed');
    assert.deepEqual(heard, [id]);
    await syncRun(runs, id);
    assert.deepEqual(heard, [id], 'a final run does not finish twice');
  });

  it('log what a failing hook lost: the run, the hook and its error', async () => {
    const lines: string[] = [];
    const ctx: RunsContext = { ...runs, onRunFinished: [breaks] };
    await runFinished(ctx, 'some-run', { warn: (msg: string) => void lines.push(msg) } as never);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /run some-run: the run-finished hook breaks failed: disk full/);
  });
});
