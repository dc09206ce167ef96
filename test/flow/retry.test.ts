import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { enqueueRun } from '../helpers/enqueue-run';
import { SAMPLE_DATASET } from '../helpers/env';
import { Stack, startStack, waitForRun } from '../helpers/stack';
import { waitFor } from '../helpers/processes';
import fs from 'node:fs';
import { DEFAULT_PIPELINE_PARAMS } from '../../shared/core/config/pipeline-params';
import {
  BlockJobData,
  ChunkJobData,
  ClassificationChunkJobData,
  SearchJobData,
} from '../../shared/runtime/flow/job-types';
import { classificationCodeIdentity, stageCodeIdentity } from '../../shared/runtime/runs/code-identity';
import { runDir } from '../../shared/core/storage';

describe('retries', () => {
  let stack: Stack;
  before(async () => {
    // The fault drill makes the first attempt of these stages fail with an ordinary (transient) error.
    stack = await startStack({
      workers: 1,
      workerEnv: { TICKETFLOW_FAIL_ONCE: 'feature-extraction,text-chunks' },
    });
  });
  after(async () => stack.close());

  it('a stage and a chunk that fail once transiently complete on attempt 2 and the run completes', async () => {
    const runId = await enqueueRun(stack.runs, {
      dataset: SAMPLE_DATASET,
      params: { chunkSize: 400 },
    });
    const started = Date.now();
    const status = await waitForRun(stack.runs, runId);
    assert.equal(status.state, 'completed', JSON.stringify(status.error));
    const byStage = Object.fromEntries(status.stages.map((s) => [s.stage, s]));
    assert.equal(byStage['feature-extraction']!.attemptsMade, 2);
    assert.equal(byStage['transform-split']!.attemptsMade, 1);
    assert.equal(byStage['training']!.attemptsMade, 1);
    const chunkJobs = await stack.queues['text-chunks'].getJobs(['completed']);
    const retried = chunkJobs.filter((j) => j.data.runId === runId && j.attemptsMade === 2);
    assert.equal(retried.length, 1, 'exactly one chunk was retried, alone');
    assert.ok(chunkJobs.filter((j) => j.data.runId === runId && j.attemptsMade === 1).length >= 1);
    assert.ok(Date.now() - started >= 2 * 2000, 'two retries each waited the 2 s backoff');
  });

  it("refuses a block task of a try that runs another build's code, naming both, and writes nothing", async () => {
    const other = 'f'.repeat(64);
    const data: BlockJobData = {
      runId: '20261205-000000-0123456789ab',
      generation: 1,
      stage: 'feature-extraction',
      attempt: 1,
      task: 'fe.df',
      input: { block: 0 },
      code: other,
      tags: [],
      params: { ...DEFAULT_PIPELINE_PARAMS },
      artifacts: '',
    };
    const job = await stack.queues['feature-blocks'].add('fe.df', data, { attempts: 1 });
    await waitFor(
      'the job to fail',
      async () => ((await job.getState()) === 'failed' ? true : undefined),
      30_000,
      50,
    );
    const failed = (await stack.queues['feature-blocks'].getJob(job.id!))!;
    const ours = stageCodeIdentity('feature-extraction');
    assert.match(
      failed.failedReason,
      new RegExp(`code ${other.slice(0, 12)}, this worker runs ${ours.slice(0, 12)}`),
    );
    assert.equal(fs.existsSync(runDir(stack.config.storageDir, data.runId)), false, 'nothing was written');
  });

  /** Adds a child job carrying another build's code; resolves with its failure reason once it failed. */
  async function refusedReason(
    queue: 'text-chunks' | 'training-search' | 'classification-chunks',
    data: object,
  ): Promise<string> {
    const job = await stack.queues[queue].add(queue, data, { attempts: 1 });
    await waitFor(
      'the job to fail',
      async () => ((await job.getState()) === 'failed' ? true : undefined),
      30_000,
      50,
    );
    return (await stack.queues[queue].getJob(job.id!))!.failedReason;
  }

  it("refuses a chunk, a search or a classification chunk job added by another build's parent, naming both builds, and writes nothing", async () => {
    const other = 'e'.repeat(64);
    const runId = '20261205-000000-0123456789ac';
    const common = {
      runId,
      generation: 1,
      code: other,
      tags: [],
      params: { ...DEFAULT_PIPELINE_PARAMS },
      artifacts: '',
    };
    const chunk: ChunkJobData = {
      ...common,
      stage: 'text-processing',
      chunk: 0,
      dataset: 'sample.json',
      format: 'json',
      range: { start: 0, end: 10, firstRecord: 0 },
      datasetCheck: { sha256: '0'.repeat(64), bytes: 10 } as ChunkJobData['datasetCheck'],
    };
    assert.match(
      await refusedReason('text-chunks', chunk),
      new RegExp(
        `chunk 0 belongs to a try of text-processing code ${other.slice(0, 12)}, this worker runs ${stageCodeIdentity('text-processing').slice(0, 12)}`,
      ),
    );
    const search: SearchJobData = {
      ...common,
      stage: 'training',
      child: 0,
      kind: 'cv',
      candidate: 0,
      fold: 0,
      datasetSha256: '0'.repeat(64),
      codeVersion: 'test',
    };
    assert.match(
      await refusedReason('training-search', search),
      new RegExp(
        `belongs to a try of training code ${other.slice(0, 12)}, this worker runs ${stageCodeIdentity('training').slice(0, 12)}`,
      ),
    );
    const classification: ClassificationChunkJobData = {
      runId,
      classificationId: runId,
      chunk: 0,
      dataset: 'sample.json',
      format: 'json',
      range: { start: 0, end: 10, firstRecord: 0 },
      model: runId,
      threshold: 0,
      code: other,
      artifacts: '',
    };
    assert.match(
      await refusedReason('classification-chunks', classification),
      new RegExp(
        `classification chunk 0 belongs to a try of classification code ${other.slice(0, 12)}, this worker runs ${classificationCodeIdentity().slice(0, 12)}`,
      ),
    );
    assert.equal(fs.existsSync(runDir(stack.config.storageDir, runId)), false, 'nothing was written');
  });
});
