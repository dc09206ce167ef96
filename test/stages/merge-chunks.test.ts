import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { planChunks } from '../../shared/core/dataset/plan-chunks';
import { withDataset } from '../../shared/core/dataset/open-dataset';
import { ReadStats, TicketRange } from '../../shared/core/dataset/read-tickets';
import { sniffFormat } from '../../shared/core/dataset/formats/index';
import { concatIndexedParts, rowIndexKey } from '../../shared/core/io/row-index';
import { csvRow } from '../../shared/core/io/csv';
import { chunkOutputKey } from '../../shared/pipeline/stages/text-processing/chunk-files';
import { ARTIFACTS, StageContext, TICKETS_COLUMNS, artifactKey } from '../../shared/pipeline/stages/context';
import {
  firstChunks,
  mergeChunks,
  processChunk,
  runTextProcessing,
} from '../../shared/pipeline/stages/text-processing';
import { SAMPLE_DATASET, stageContext, testConfig } from '../helpers/env';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The sample's chunks of 7 records processed in this process; their counts by chunk. */
async function processAll(ctx: StageContext): Promise<ReadStats[]> {
  return withDataset(SAMPLE_DATASET, async (file) => {
    const plan = await planChunks(file, 7);
    const stats: ReadStats[] = [];
    for (const [chunk, range] of plan.chunks.entries())
      stats.push((await processChunk(ctx, { chunk, file, format: plan.format, range })).stats);
    return stats;
  });
}

describe("stage 1's merge, as the chunks complete", () => {
  const config = testConfig();
  after(() => fs.rmSync(config.storageDir, { recursive: true, force: true }));

  it('appends each chunk once it is ready, in chunk order: the bytes of a merge after them all', async () => {
    const base = stageContext(config, 'merge-whole');
    const whole = { ...base, params: { ...base.params, chunkSize: 7 } };
    const result = await runTextProcessing(whole, SAMPLE_DATASET);
    const expected = await whole.store.get(artifactKey(whole, ARTIFACTS.tickets));
    const expectedIndex = await whole.store.get(rowIndexKey(artifactKey(whole, ARTIFACTS.tickets)));

    // The merge begins while the plan is still scanning, as stage 1's job does: chunk c is known once the
    // scan hands it over (onChunk), and the merge learns there is no chunk c once the plan has ended.
    // Each chunk's output appears only when the merge asks for it, after a wait (the chunk still
    // running): a merge that appended a chunk before it was ready would find no file.
    const ctx = stageContext(config, 'merge-streamed');
    const asked: number[] = [];
    let askedBeforePlanEnded = 0;
    const merged = await withDataset(SAMPLE_DATASET, async (file) => {
      const found: TicketRange[] = [];
      let ended: number | undefined;
      let wake = () => undefined as void;
      const changed = () => new Promise<void>((resolve) => (wake = resolve));
      const whenKnown = async (c: number): Promise<TicketRange | null> => {
        for (;;) {
          if (c < found.length) return found[c]!;
          if (ended !== undefined) return null;
          await changed();
        }
      };
      const planned = planChunks(file, 7, {
        highWaterMark: 4096,
        onChunk: ({ range, index }) => {
          assert.equal(index, found.length, 'chunks handed over in order, each once');
          found.push(range);
          wake();
        },
      }).then((plan) => {
        ended = plan.chunks.length;
        wake();
        return plan;
      });
      const format = await sniffFormat(file);
      const result = await mergeChunks(ctx, async (chunk) => {
        const range = await whenKnown(chunk);
        if (range === null) return null;
        asked.push(chunk);
        if (ended === undefined) askedBeforePlanEnded++;
        await sleep(5);
        return (await processChunk(ctx, { chunk, file, format, range })).stats;
      });
      assert.deepEqual((await planned).chunks, found, 'the plan holds the chunks handed over');
      return result;
    });
    assert.ok(asked.length >= 4, `the sample makes ${asked.length} chunks of 7`);
    assert.ok(askedBeforePlanEnded > 0, 'the merge began before the plan ended');
    assert.deepEqual(
      asked,
      asked.map((_, c) => c),
      'asked for each chunk once, in order',
    );
    assert.equal(merged.chunks, asked.length);
    assert.deepEqual(merged.stats, result.stats);
    assert.deepEqual(await ctx.store.get(artifactKey(ctx, ARTIFACTS.tickets)), expected);
    // and those of a plain concatenation of the chunks' files under the header
    const plain = artifactKey(ctx, 'plain.csv');
    const parts = asked.map((c) => chunkOutputKey(ctx, c));
    await concatIndexedParts(ctx.store, parts, plain, csvRow(TICKETS_COLUMNS));
    assert.deepEqual(await ctx.store.get(plain), expected);
    assert.deepEqual(await ctx.store.get(rowIndexKey(plain)), expectedIndex);
    assert.deepEqual(await ctx.store.get(rowIndexKey(artifactKey(ctx, ARTIFACTS.tickets))), expectedIndex);
  });

  it('a chunk that fails fails the merge with its own error, and puts nothing in place', async () => {
    const ctx = stageContext(config, 'merge-failed');
    const stats = await processAll(ctx);
    const chunkFailed = new Error('text-chunks job 2 failed: record 15, field "x"');
    await assert.rejects(
      mergeChunks(
        ctx,
        firstChunks(stats.length, async (c) => {
          if (c === 2) throw chunkFailed;
          return stats[c]!;
        }),
      ),
      (err) => err === chunkFailed,
    );
    const key = artifactKey(ctx, ARTIFACTS.tickets);
    assert.equal(await ctx.store.stat(key), undefined, 'no tickets.csv');
    assert.equal(await ctx.store.stat(rowIndexKey(key)), undefined, 'no index');
    // Temporary names included (the store's listing hides them): only the chunks' folder is there.
    const left = fs.readdirSync(path.join(config.storageDir, 'runs', ctx.runId));
    assert.deepEqual(left, [ARTIFACTS.chunksDir], `left in the run's folder: ${left.join(', ')}`);
  });
});
