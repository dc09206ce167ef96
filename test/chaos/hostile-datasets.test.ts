import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { STAGES, StageName } from '../../shared/pipeline/stages/definitions';
import { buildRunFlow } from '../../shared/runtime/flow/build-flow';
import { enqueueRun } from '../helpers/enqueue-run';
import { newRunId } from '../../shared/runtime/flow/run-id';
import { stageJobId } from '../../shared/runtime/flow/job-types';
import { spawnWorkers } from '../../producers/cli/self-contained';
import { SAMPLE_DATASET } from '../helpers/env';
import { SampleStack, startSampleStack, waitForRun } from '../helpers/stack';

describe('chaos: hostile datasets reach the workers', () => {
  let stack: SampleStack;
  let data: string;
  before(async () => {
    // No workers yet: the swap test needs a run that waits.
    stack = await startSampleStack('hostile-data');
    data = stack.dataDir;
    execFileSync('mkfifo', [path.join(data, 'pipe.json')]);
    fs.symlinkSync('/dev/zero', path.join(data, 'zero.json'));
  });
  after(async () => {
    await stack.close();
  });

  /** A flow added by hand, as a Bull Board "add" or a script could: job data is not to be trusted. */
  async function handMadeRun(dataset: string): Promise<string> {
    const runId = newRunId();
    const cacheKeys = Object.fromEntries(STAGES.map((s) => [s, `hand-${s}`])) as Record<StageName, string>;
    await stack.flowProducer.add(
      buildRunFlow(stack.config, {
        runId,
        dataset,
        params: stack.config.pipeline,
        createdAt: new Date().toISOString(),
        generation: 1,
        cacheKeys,
        datasetSha256: '0'.repeat(64),
        codeVersion: 'hand-made',
      }),
    );
    return runId;
  }

  async function waitForFailure(runId: string) {
    const job = await stack.queues['text-processing'].getJob(stageJobId(runId, 'text-processing'));
    assert.ok(job);
    for (let i = 0; i < 200; i++) {
      const state = await job.getState();
      if (state === 'failed' || state === 'completed') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    return (await stack.queues['text-processing'].getJob(stageJobId(runId, 'text-processing')))!;
  }

  it('a symlink swapped in after submission, a FIFO, /dev/zero, an absolute path: refused at once; the next run completes', async () => {
    const runId = await enqueueRun(stack.runs, { dataset: 'sample.json', params: { cache: false } });
    // After the API's checks, before any worker opens it: the dataset becomes a link to a secret file.
    fs.rmSync(path.join(data, 'sample.json'));
    fs.symlinkSync('/etc/passwd', path.join(data, 'sample.json'));
    const hostile = await Promise.all(
      ['pipe.json', 'zero.json', '/etc/passwd', '../../etc/passwd'].map(handMadeRun),
    );

    const workers = await spawnWorkers(stack.config, stack.queues, stack.config.redisUrl, 2, 'warn');
    try {
      const swapped = await waitForRun(stack.runs, runId, 30_000);
      assert.equal(swapped.state, 'failed');
      assert.equal(swapped.stages[0]!.attemptsMade, 1, 'refused on the first attempt');
      assert.match(swapped.error!.message, /outside the data root/);
      assert.doesNotMatch(
        swapped.error!.message,
        /root:|nologin|\/bin\/(ba)?sh/,
        'no file contents in the message',
      );
      assert.ok(!fs.existsSync(path.join(stack.config.storageDir, 'runs', runId, 'tickets.csv')));

      for (const [i, id] of hostile.entries()) {
        const job = await waitForFailure(id);
        assert.equal(await job.getState(), 'failed', `hostile dataset ${i}`);
        assert.equal(job.attemptsMade, 1, `hostile dataset ${i} failed on its first attempt`);
        assert.match(job.failedReason, /not a regular file|outside the data root|FIFO|character device/);
        assert.doesNotMatch(job.failedReason, /root:|nologin/);
      }

      // Nothing wedged: the workers take the next run at once.
      fs.rmSync(path.join(data, 'sample.json'));
      fs.copyFileSync(SAMPLE_DATASET, path.join(data, 'sample.json'));
      const next = await waitForRun(
        stack.runs,
        await enqueueRun(stack.runs, { dataset: 'sample.json' }),
        30_000,
      );
      assert.equal(next.state, 'completed', JSON.stringify(next.error));
    } finally {
      await workers.stop();
    }
  });
});
