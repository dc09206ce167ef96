import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Job } from 'bullmq';
import { enqueueRun } from '../helpers/enqueue-run';
import { StageJobData, chunkJobId, stageJobId } from '../../shared/runtime/flow/job-types';
import { spawnWorkers } from '../../producers/cli/self-contained';
import { SAMPLE_DATASET, tempDir } from '../helpers/env';
import { Stack, startStack, waitForRun } from '../helpers/stack';

/** The sample's hits `times` over, with distinct ids: ~1.5 MB each time. */
function repeatedHits(times: number): string {
  const hits = JSON.parse(fs.readFileSync(SAMPLE_DATASET, 'utf8')) as { _id: string }[];
  const all = [];
  for (let k = 0; k < times; k++) for (const h of hits) all.push({ ...h, _id: `${h._id}-${k}` });
  return JSON.stringify(all);
}

describe("stage 1's split adds chunk jobs as it finds them", { timeout: 180_000 }, () => {
  let stack: Stack;
  let data: string;
  before(async () => {
    data = tempDir('split-data');
    stack = await startStack({ env: { TICKETFLOW_DATA_DIR: data } });
  });
  after(async () => {
    await stack.close();
    fs.rmSync(data, { recursive: true, force: true });
  });

  const stageJob = async (runId: string) =>
    (await stack.queues['text-processing'].getJob(
      stageJobId(runId, 'text-processing', 1),
    )) as Job<StageJobData>;

  /** A run of `dataset` in chunks of 500 records, on one worker process, to its end. */
  const runToEnd = async (dataset: string) => {
    const runId = await enqueueRun(stack.runs, { dataset, params: { chunkSize: 500, cache: false } });
    const workers = await spawnWorkers(stack.config, stack.queues, stack.config.redisUrl, 1, 'warn');
    try {
      return { runId, record: await waitForRun(stack.runs, runId, 120_000) };
    } finally {
      await workers.stop();
    }
  };

  it('the first chunk is added before the scan of a 24 MB file has ended; the run completes', async () => {
    fs.writeFileSync(path.join(data, 'big.json'), repeatedHits(16));
    const { runId, record } = await runToEnd('big.json');
    assert.equal(record.state, 'completed', JSON.stringify(record.error));
    const { startedAt, splitSeconds, chunks } = (await stageJob(runId)).data;
    assert.ok(startedAt !== undefined && splitSeconds !== undefined && chunks !== undefined);
    const { stats } = record.stages[0]!.result as { stats: { read: number } };
    assert.equal(chunks, Math.ceil(stats.read / 500), 'one chunk per 500 records');
    assert.equal(record.stages[0]!.chunks?.total, chunks);
    const splitEnded = startedAt + splitSeconds * 1000;
    const first = await stack.queues['text-chunks'].getJob(chunkJobId(runId, 0));
    assert.ok(first, 'chunk 0 is kept');
    process.stdout.write(
      `# split ${splitSeconds} s; chunk 0 added ${first.timestamp - startedAt} ms after the split began, ` +
        `started ${(first.processedOn ?? NaN) - startedAt} ms after\n`,
    );
    assert.ok(
      first.timestamp < splitEnded,
      `chunk 0 added at +${first.timestamp - startedAt} ms, the split ended at +${splitEnded - startedAt} ms`,
    );
  });

  it('a file found truncated at its end fails the stage on its first attempt, with no chunk left waiting', async () => {
    const text = repeatedHits(16);
    fs.writeFileSync(path.join(data, 'cut.json'), text.slice(0, -200));
    const { runId, record } = await runToEnd('cut.json');
    assert.equal(record.state, 'failed');
    assert.equal(record.stages[0]!.attemptsMade, 1, 'failed on its first attempt');
    assert.match(record.error!.message, /cut\.json/);
    assert.match(record.error!.message, /truncated/);
    // The split had added chunks before it reached the end (their count is raised before they are added).
    const { chunks } = (await stageJob(runId)).data;
    assert.ok((chunks ?? 0) > 0, `chunks added before the split failed: ${chunks}`);
    const left = (await stack.queues['text-chunks'].getJobs(['waiting', 'delayed', 'prioritized'])).filter(
      (j) => (j.data as { runId: string }).runId === runId,
    );
    assert.deepEqual(
      left.map((j) => j.id),
      [],
      'chunks not started when the split failed are removed',
    );
    assert.ok(!fs.existsSync(path.join(stack.config.storageDir, 'runs', runId, 'tickets.csv')));
  });
});
