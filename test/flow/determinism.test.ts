import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { enqueueRun } from '../helpers/enqueue-run';
import { runDir } from '../../shared/core/storage';
import { SAMPLE_DATASET } from '../helpers/env';
import { Stack, startStack, waitForRun } from '../helpers/stack';
import { comparableBytes } from '../runs/artifacts';

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
): Promise<{ files: Map<string, Buffer>; chunks: number }> {
  const stack: Stack = await startStack({ workers });
  try {
    const runId = await enqueueRun(stack.runs, {
      dataset: SAMPLE_DATASET,
      params: { chunkSize },
    });
    const status = await waitForRun(stack.runs, runId);
    assert.equal(status.state, 'completed', JSON.stringify(status.error));
    const dir = runDir(stack.config.storageDir, runId);
    // Each run has its own id, which model.json records: compared without it (comparableBytes).
    const files = new Map(ARTIFACTS.map((a) => [a, comparableBytes(a, fs.readFileSync(path.join(dir, a)))]));
    return { files, chunks: (status.stages[0]!.result as { chunks: number }).chunks };
  } finally {
    await stack.close();
  }
}

describe('a run gives the same bytes whatever the chunk size and number of workers', () => {
  const results: { label: string; files: Map<string, Buffer>; chunks: number }[] = [];
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
});
