import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { enqueueRun } from '../helpers/enqueue-run';
import { runDir } from '../../shared/core/storage';
import { SAMPLE_DATASET, tempDir } from '../helpers/env';
import { Stack, startStack, waitForRun } from '../helpers/stack';
import { comparableBytes } from '../runs/artifacts';
import { scaleDataset } from '../../tools/bench/scale-dataset';
import { stageJobId } from '../../shared/runtime/flow/job-types';
import { SINGLE_TASK_INIT_ROWS } from '../../shared/pipeline/stages/feature-extraction/fit-nmf-blocks';
import { TERM_HANDOFF_DIR } from '../../shared/pipeline/stages/feature-extraction/term-handoff';

const ARTIFACTS = [
  'tickets.csv',
  'tickets_topics.csv',
  'topics.json',
  'features.json',
  'features.bin',
  'split.json',
  'model.json',
  'metrics.json',
  'test_predictions.json',
];

async function runWith(
  workers: number,
  chunkSize: number,
  opts: { blockSize?: number; data?: { dir: string; dataset: string } } = {},
): Promise<{ files: Map<string, Buffer>; chunks: number; blockJobs: number; nmfLog: string }> {
  const { blockSize, data } = opts;
  const stack: Stack = await startStack({
    workers,
    ...(data ? { env: { TICKETFLOW_DATA_DIR: data.dir } } : {}),
  });
  try {
    const runId = await enqueueRun(stack.runs, {
      dataset: data?.dataset ?? SAMPLE_DATASET,
      params: { chunkSize, ...(blockSize !== undefined ? { blockSize } : {}) },
    });
    const status = await waitForRun(stack.runs, runId, 300_000);
    assert.equal(status.state, 'completed', JSON.stringify(status.error));
    const dir = runDir(stack.config.storageDir, runId);
    // Each run has its own id, which model.json records: compared without it (comparableBytes).
    const files = new Map(ARTIFACTS.map((a) => [a, comparableBytes(a, fs.readFileSync(path.join(dir, a)))]));
    const blockJobs = status.stages
      .filter((s) => s.stage === 'feature-extraction' || s.stage === 'transform-split')
      .reduce((n, s) => n + (s.chunks?.total ?? 0), 0);
    // How stage 2 fitted NMF: its job log's summary line.
    const { logs } = await stack.queues['feature-extraction'].getJobLogs(
      stageJobId(runId, 'feature-extraction'),
    );
    const nmfLog = logs.find((l) => l.includes('NMF k=')) ?? '';
    // Stage 3 took its terms and topics from stage 2 (term-handoff.ts), and removed them.
    const split = await stack.queues['transform-split'].getJobLogs(stageJobId(runId, 'transform-split'));
    assert.ok(
      split.logs.some((l) => l.includes('their terms and topics as feature extraction counted them')),
      split.logs.join('\n'),
    );
    assert.equal(fs.existsSync(path.join(dir, TERM_HANDOFF_DIR)), false, 'the handed-on files are removed');
    return { files, chunks: (status.stages[0]!.result as { chunks: number }).chunks, blockJobs, nmfLog };
  } finally {
    await stack.close();
  }
}

describe('a run gives the same bytes whatever the chunk size and number of workers', () => {
  const results: { label: string; files: Map<string, Buffer>; chunks: number; blockJobs: number }[] = [];
  after(() => results.splice(0));

  it('1 worker with one big chunk, 3 workers with small chunks, 3 workers with medium chunks', async () => {
    results.push({ label: '1 worker, chunk 5000', ...(await runWith(1, 5000)) });
    results.push({ label: '3 workers, chunk 97', ...(await runWith(3, 97)) });
    results.push({ label: '3 workers, chunk 400', ...(await runWith(3, 400)) });
    assert.equal(results[0]!.chunks, 1);
    assert.ok(results[1]!.chunks >= 10, 'the small chunk size really fans out');
    const [base, ...others] = results;
    for (const other of others) {
      for (const name of ARTIFACTS) {
        assert.ok(
          base!.files.get(name)!.equals(other.files.get(name)!),
          `${name}: "${base!.label}" and "${other.label}" differ`,
        );
      }
    }
  });

  it('and whatever the number of workers that run the block jobs of stages 2 and 3 (blocks of 200 tickets)', async () => {
    const one = await runWith(1, 400, { blockSize: 200 });
    const three = await runWith(3, 400, { blockSize: 200 });
    // 1,140 tickets in 6 blocks: every round of both stages is 6 jobs.
    assert.ok(one.blockJobs >= 6 * 5, `the stages fan out (${one.blockJobs} block jobs)`);
    for (const name of ARTIFACTS) {
      assert.ok(one.files.get(name)!.equals(three.files.get(name)!), `${name}: 1 and 3 workers differ`);
      // NMF of a small corpus runs in one task, so the block size changes no byte but the model's
      // lineage, which records it.
      if (name !== 'model.json' && results[0])
        assert.ok(
          one.files.get(name)!.equals(results[0].files.get(name)!),
          `${name}: blocks of 200 and 20,000 differ`,
        );
    }
  });

  it('and at a size where NMF and its start run over blocks (the sample 180 times), 1 and 3 workers', async (t) => {
    // Over SINGLE_TASK_INIT_ROWS tickets both NMF's iterations and its start (a block Krylov SVD) are
    // rounds of block jobs, sized to the workers there are: the paths a large corpus takes.
    const dir = tempDir('determinism-data');
    try {
      const tickets = await scaleDataset(SAMPLE_DATASET, 180, path.join(dir, 'sample-x180.jsonl'));
      assert.ok(tickets > SINGLE_TASK_INIT_ROWS, `${tickets} tickets`);
      const data = { dir, dataset: path.join(dir, 'sample-x180.jsonl') };
      const one = await runWith(1, 2000, { data });
      const three = await runWith(3, 2000, { data });
      t.diagnostic(`1 worker: ${one.nmfLog}`);
      t.diagnostic(`3 workers: ${three.nmfLog}`);
      for (const run of [one, three]) {
        assert.match(run.nmfLog, /over \d+ block\(s\)/, 'NMF ran over blocks');
        assert.match(run.nmfLog, /start from \d+ rounds of a block-wise SVD/, "NMF's start ran over blocks");
      }
      assert.notEqual(one.blockJobs, three.blockJobs, 'the rounds were sized to the workers');
      for (const name of ARTIFACTS)
        assert.ok(one.files.get(name)!.equals(three.files.get(name)!), `${name}: 1 and 3 workers differ`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
