import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RunsContext } from '../../shared/runtime/runs/context';
import { readRun } from '../../shared/runtime/runs/sync';
import { Deployment, redisCommand, sleep, startWorker, waitFor } from '../helpers/processes';
import { artifactHashes } from '../runs/artifacts';
import { waitForRun } from '../helpers/stack';
import { ChaosDeployment, chaosDeployment } from './chaos-deployment';

describe('chaos: Redis restarts and shutdowns', () => {
  let chaos: ChaosDeployment;
  let d: Deployment;
  let runs: RunsContext;
  before(async () => {
    chaos = await chaosDeployment('chaos-outage', 10, 500);
    ({ d, runs } = chaos);
  });
  after(() => chaos.close());

  const submit = () => chaos.submit();
  const finish = (id: string) => waitForRun(runs, id, 90_000);

  /**
   * Two workers run a reference run, then a run during which Redis stops for `outageMs` and starts again
   * (its append-only file keeps the queues): the run completes with the reference's bytes.
   */
  async function survivesOutage(t: { diagnostic(message: string): void }, outageMs: number): Promise<void> {
    const workers = await Promise.all([1, 2].map((i) => startWorker(d, [], `worker-${i}`)));
    const reference = await submit();
    assert.equal((await finish(reference)).state, 'completed');

    const id = await submit();
    await waitFor(
      'text processing under way',
      async () => ((await readRun(runs, id))?.stages[0]?.state === 'active' ? true : undefined),
      30_000,
      10,
    );
    assert.equal((await redisCommand(d, 'stop')).code, 0);
    await sleep(outageMs);
    assert.equal((await redisCommand(d, 'start')).code, 0);
    const started = performance.now();
    const done = await finish(id);
    t.diagnostic(`completed ${((performance.now() - started) / 1000).toFixed(2)} s after Redis came back`);
    assert.equal(done.state, 'completed', JSON.stringify(done.error));
    assert.deepEqual(artifactHashes(d.storageDir, id), artifactHashes(d.storageDir, reference));
    for (const w of workers) {
      const lines = w
        .stderr()
        .split('\n')
        .filter((l) => /ECONNREFUSED|unreachable|is back/.test(l));
      assert.ok(lines.length <= 2, `${w.label} said ${lines.length} lines about the outage:\n${w.stderr()}`);
    }
    await Promise.all(workers.map((w) => w.stop('SIGTERM', 10_000)));
  }

  it('a run survives Redis stopped and restarted mid-run (append-only file): completes, same bytes', (t) =>
    survivesOutage(t, 2000));

  it("a run survives an outage longer than its jobs' locks: the attempts that lost them stop, the others finish", (t) =>
    // Locks last 4 s (TICKETFLOW_LOCK_DURATION_MS): after 5 s every running job's has lapsed, the
    // stalled-job check hands each job to a new attempt, and the old attempts must neither add child
    // jobs nor remove files the new ones read (before, a stage failed for good 1 time in 3 here).
    survivesOutage(t, 5000));

  it('a worker sent SIGTERM while Redis is unreachable exits within its shutdown timeout', async (t) => {
    const worker = await startWorker(d, ['--shutdown-timeout', '1000'], 'worker-shutdown');
    assert.equal((await redisCommand(d, 'stop')).code, 0);
    try {
      await sleep(500);
      const started = performance.now();
      const code = await worker.signal('SIGTERM', 10_000);
      const seconds = (performance.now() - started) / 1000;
      t.diagnostic(`exited ${seconds.toFixed(2)} s after SIGTERM with Redis down (code ${code})`);
      assert.ok(seconds < 1 + 2 + 1, `exited after ${seconds} s`);
    } finally {
      assert.equal((await redisCommand(d, 'start')).code, 0);
    }
  });
});
