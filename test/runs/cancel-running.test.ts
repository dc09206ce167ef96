import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Job } from 'bullmq';
import { enqueueRun } from '../helpers/enqueue-run';
import { stageJobId } from '../../shared/runtime/flow/job-types';
import { cancelRun } from '../../shared/runtime/runs/control';
import { readRun } from '../../shared/runtime/runs/sync';
import { SAMPLE_DATASET } from '../helpers/env';
import { sleep, waitFor } from '../helpers/processes';
import { Stack, startStack, waitForRun } from '../helpers/stack';

/** State, parent pid and CPU time (clock ticks, user + system) of a process, from /proc/<pid>/stat. */
function procStat(pid: number): { state: string; ppid: number; cpu: number } | null {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // Fields after the command name (which may hold spaces and parentheses): state ppid … utime stime.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { state: f[0]!, ppid: Number(f[1]), cpu: Number(f[11]) + Number(f[12]) };
}

/** Child processes of `parent` with their CPU time so far. */
function childrenOf(parent: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = procStat(Number(name));
    if (s?.ppid === parent) out.set(Number(name), s.cpu);
  }
  return out;
}

/** Whether `pid` runs (a zombie has exited: it only waits for its parent to read its status). */
function alive(pid: number): boolean {
  const s = procStat(pid);
  return s !== null && s.state !== 'Z';
}

/**
 * The one child of `worker` that is computing: the sandboxed child running the job. The worker's other
 * children (pre-started sandboxes of other queues) are idle, so the busy one is the child whose CPU time
 * grows by well over the others'.
 */
async function busyChild(worker: number): Promise<number> {
  const base = childrenOf(worker);
  return waitFor(
    `a busy sandboxed child of worker ${worker}`,
    () => {
      const grown = [...childrenOf(worker)]
        .map(([pid, cpu]) => ({ pid, grew: cpu - (base.get(pid) ?? cpu) }))
        .sort((a, b) => b.grew - a.grew);
      const [top, next] = grown;
      // 30 ticks: 0.3 s of CPU beyond any other child's.
      return top && top.grew - (next?.grew ?? 0) >= 30 ? top.pid : undefined;
    },
    60_000,
    100,
  );
}

describe('cancel during one long-running sandboxed job', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ workers: 1 });
  });
  after(async () => {
    await stack.close();
  });

  it('the job fails as cancelled within 2 s, its child process is killed, and the worker goes on', async (t) => {
    // Feature extraction with 40 topics, 10,000 NMF iterations and a tolerance it never reaches: one
    // sandboxed job computing for minutes (about 10 ms of CPU per iteration on the sample).
    const runId = await enqueueRun(stack.runs, {
      dataset: SAMPLE_DATASET,
      params: { topics: 40, nmfMaxIter: 10_000, nmfTol: 1e-300, cache: false },
    });
    const queue = stack.queues['feature-extraction'];
    const jobId = stageJobId(runId, 'feature-extraction');
    await waitFor(
      'feature extraction active',
      async () => ((await queue.getJob(jobId))?.processedOn ? true : undefined),
      60_000,
      50,
    );
    const [worker] = stack.workers!.pids;
    const child = await busyChild(worker!);
    assert.equal(await queue.getJobState(jobId), 'active', 'the job is still running when cancelled');

    const started = performance.now();
    const { record } = await cancelRun(stack.runs, runId);
    assert.equal(record.state, 'cancelled');
    const failed = await waitFor(
      'the job failed',
      async () => {
        const job = (await queue.getJob(jobId)) as Job | undefined;
        return job?.finishedOn !== undefined && job.failedReason ? job : undefined;
      },
      10_000,
      20,
    );
    const failedAfter = (performance.now() - started) / 1000;
    await waitFor('the sandboxed child gone', () => (alive(child) ? undefined : true), 10_000, 20);
    const goneAfter = (performance.now() - started) / 1000;
    t.diagnostic(
      `job failed ${failedAfter.toFixed(3)} s and child ${child} gone ${goneAfter.toFixed(3)} s after the cancel`,
    );
    assert.match(failed.failedReason, /run .* was cancelled/);
    assert.equal(failed.attemptsMade, 1, 'a cancelled job is not retried');
    assert.ok(failedAfter < 2, `the job failed ${failedAfter.toFixed(3)} s after the cancel`);
    assert.ok(goneAfter < 2, `the child ${child} was gone ${goneAfter.toFixed(3)} s after the cancel`);
    assert.ok(alive(worker!), 'the worker process itself goes on');
    const shown = await readRun(stack.runs, runId);
    assert.equal(shown!.state, 'cancelled');
    assert.equal(shown!.stages[1]!.state, 'cancelled');

    // The worker serves the queue again with a fresh child: a run with default parameters completes.
    await sleep(200);
    const next = await waitForRun(
      stack.runs,
      await enqueueRun(stack.runs, { dataset: SAMPLE_DATASET, params: { cache: false } }),
    );
    assert.equal(next.state, 'completed', JSON.stringify(next.error));
  });
});
