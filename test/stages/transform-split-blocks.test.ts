import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { PipelineParams } from '../../shared/core/config/pipeline-params';
import { encodeCsr } from '../../shared/core/io/csr-file';
import { writeCsrFromParts } from '../../shared/core/io/csr-concat';
import { CsrMatrix } from '../../shared/core/numeric/csr';
import { Rng } from '../../shared/core/numeric/random';
import { openStore } from '../../shared/core/store/open-store';
import { runDir } from '../../shared/core/storage';
import { csvRow } from '../../shared/core/io/csv';
import { ARTIFACTS, StageContext, TICKETS_TOPICS_COLUMNS } from '../../shared/pipeline/stages/context';
import { TopicsFile } from '../../shared/pipeline/stages/feature-extraction/feature-extraction';
import { BlockMapper, MapOptions, localBlockMapper } from '../../shared/pipeline/stages/blocks/block-mapper';
import { BlockTaskContext, BlockTaskDef } from '../../shared/pipeline/stages/blocks/block-task';
import { runFeatureExtraction } from '../../shared/pipeline/stages/feature-extraction/feature-extraction';
import { runTextProcessing } from '../../shared/pipeline/stages/text-processing';
import { LabelsFile, runTransformSplit } from '../../shared/pipeline/stages/transform-split/transform-split';
import { SAMPLE_DATASET, stageContext, tempDir, testConfig } from '../helpers/env';
import { runTransformSplitReference } from '../helpers/transform-split-reference';
import { TicketflowConfig } from '../../shared/core/config/config';
import { TERM_HANDOFF_DIR } from '../../shared/pipeline/stages/feature-extraction/term-handoff';

const OUTPUTS = [ARTIFACTS.features, ARTIFACTS.matrix, ARTIFACTS.split, ARTIFACTS.labels];

/** The sample's products in four classes, credit cards unmapped (as test/search/category-search). */
const LABEL_MAP: Record<string, string> = {
  'Credit reporting, credit repair services, or other personal consumer reports': 'credit_reporting',
  'Debt collection': 'debt',
  'Checking or savings account': 'bank',
  Mortgage: 'loan',
  'Student loan': 'loan',
  'Payday loan, title loan, or personal loan': 'loan',
};

/** Label modes, each with what its labels.json must show for the comparison to cover its path. */
const MODES: { name: string; params: Partial<PipelineParams>; check: (l: LabelsFile) => void }[] = [
  { name: 'topics', params: {}, check: (l) => assert.equal(l.source, 'topics') },
  {
    name: 'category-merged',
    // Credit cards go to "other"; the smallest mapped class falls under minClassSize and joins it.
    params: { labels: 'category', labelMap: LABEL_MAP, minClassSize: 160, cvFolds: 3 },
    check: (l) => {
      assert.ok(l.merged.length > 0, `a class was merged: ${JSON.stringify(l)}`);
      assert.ok(l.unmapped > 0 && l.dropped === 0);
    },
  },
  {
    name: 'category-dropped',
    params: {
      labels: 'category',
      labelField: 'category',
      labelMap: LABEL_MAP,
      unmappedLabel: 'drop',
      minClassSize: 20,
      searchNgrams: [1, 2],
      cvFolds: 3,
    },
    check: (l) => assert.ok(l.dropped > 0, `tickets were dropped: ${JSON.stringify(l)}`),
  },
];

/**
 * A run `runId` holding run `from`'s stage-2 output (tickets_topics.csv without its index, topics.json)
 * and nothing stage 2 handed on, with these parameters.
 */
function runWithStage2Of(
  config: TicketflowConfig,
  from: string,
  runId: string,
  params: Partial<PipelineParams>,
): StageContext {
  const dir = runDir(config.storageDir, runId);
  fs.mkdirSync(dir, { recursive: true });
  for (const name of [ARTIFACTS.ticketsTopics, ARTIFACTS.topics])
    fs.copyFileSync(path.join(runDir(config.storageDir, from), name), path.join(dir, name));
  const ctx = stageContext(config, runId);
  return { ...ctx, params: { ...ctx.params, ...params } };
}

/** The bytes of the run's OUTPUTS. */
function outputsOf(config: TicketflowConfig, ctx: StageContext): Buffer[] {
  return OUTPUTS.map((name) => fs.readFileSync(path.join(runDir(config.storageDir, ctx.runId), name)));
}

/** A block mapper running every task in this process, telling `onMapped` each task's name and outputs. */
function watchedMapper(
  ctx: StageContext,
  onMapped: (task: string, outputs: readonly unknown[]) => void,
): BlockMapper {
  const local = localBlockMapper(ctx);
  return {
    async map<I, O>(task: BlockTaskDef<I, O>, inputs: readonly I[], o?: MapOptions<O>): Promise<O[]> {
      const out = await local.map(task, inputs, o);
      onMapped(task.name, out);
      return out;
    },
  };
}

describe('transform-split over blocks writes the bytes one process computed', () => {
  const config = testConfig();
  const source = stageContext(config, 'source');
  let tickets = 0;
  before(async () => {
    tickets = (await runTextProcessing(source, SAMPLE_DATASET)).rows;
    await runFeatureExtraction(source);
  });
  after(() => fs.rmSync(config.storageDir, { recursive: true, force: true }));

  const runWith = (runId: string, params: Partial<PipelineParams>) =>
    runWithStage2Of(config, source.runId, runId, params);
  const outputs = (ctx: StageContext) => outputsOf(config, ctx);

  for (const mode of MODES) {
    // Blocks of one ticket for topic labels; of two for category labels (in-process, a task costs ~7 ms,
    // and a block of one is 1,140 of them a round), enough for blocks with no training row.
    const smallest = mode.params.labels === 'category' ? 2 : 1;
    it(`${mode.name}: features.json, features.bin, split.json, labels.json for blockSize ${smallest}, 7, 300 and all`, async () => {
      const reference = runWith(`${mode.name}-reference`, mode.params);
      const expected = await runTransformSplitReference(reference);
      const want = outputs(reference);
      mode.check(JSON.parse(want[3]!.toString('utf8')) as LabelsFile);
      assert.ok(tickets > 1000);
      for (const blockSize of [smallest, 7, 300, tickets, 20000]) {
        const ctx = runWith(`${mode.name}-${blockSize}`, { ...mode.params, blockSize });
        let fitted: number[] = [];
        const blocks = watchedMapper(ctx, (task, out) => {
          if (task === 'ts.document-frequencies') fitted = out.map((r) => (r as { docs: number }).docs);
        });
        const result = await runTransformSplit({ ...ctx, blocks });
        if (mode.params.labels === 'category' && blockSize === smallest)
          assert.ok(fitted.includes(0), `${mode.name}: some block holds no training row`);
        assert.deepEqual({ ...result, seconds: 0 }, { ...expected, seconds: 0 });
        const got = outputs(ctx);
        OUTPUTS.forEach((name, i) =>
          assert.ok(got[i]!.equals(want[i]!), `${mode.name}, blockSize ${blockSize}: ${name} differs`),
        );
        assert.deepEqual(
          fs.readdirSync(runDir(config.storageDir, ctx.runId)).filter((f) => f.startsWith('blocks')),
          [],
          'the block files are removed, folder and all',
        );
      }
    });
  }

  it('a retry reuses the blocks a failed try completed, also part of a round: runs only the rest, same bytes', async () => {
    for (const mode of MODES.slice(0, 2)) {
      const params = { ...mode.params, blockSize: 100 };
      /** A mapper counting the tasks it runs; at map call `failAt` it runs half the inputs, then fails. */
      const counting = (ctx: StageContext, failAt = Infinity) => {
        const local = localBlockMapper(ctx);
        const counts = { calls: 0, ran: 0 };
        const blocks: BlockMapper = {
          async map<I, O>(task: BlockTaskDef<I, O>, inputs: readonly I[], o?: MapOptions<O>): Promise<O[]> {
            const counted = { ...task, run: (c: BlockTaskContext, i: I) => (counts.ran++, task.run(c, i)) };
            if (counts.calls++ !== failAt) return local.map(counted, inputs, o);
            await local.map(counted, inputs.slice(0, Math.ceil(inputs.length / 2)));
            throw new Error('injected: the stage fails here');
          },
        };
        return { blocks, counts };
      };
      const clean = runWith(`${mode.name}-reuse-clean`, params);
      const whole = counting(clean);
      await runTransformSplit({ ...clean, blocks: whole.blocks });
      for (let failAt = 0; failAt < whole.counts.calls; failAt++) {
        const failed = runWith(`${mode.name}-reuse-${failAt}`, params);
        const first = counting(failed, failAt);
        await assert.rejects(runTransformSplit({ ...failed, blocks: first.blocks }), /injected/);
        const retry = counting({ ...failed, generation: 2 });
        await runTransformSplit({ ...failed, generation: 2, blocks: retry.blocks });
        const what = `${mode.name}, failed at map ${failAt + 1} of ${whole.counts.calls}`;
        assert.ok(first.counts.ran > 0, what);
        assert.equal(retry.counts.ran, whole.counts.ran - first.counts.ran, `${what}: tasks run again`);
        const want = outputs(clean);
        outputs(failed).forEach((got, i) =>
          assert.ok(got.equals(want[i]!), `${what}: ${OUTPUTS[i]} differs`),
        );
        assert.deepEqual(
          fs.readdirSync(runDir(config.storageDir, failed.runId)).filter((f) => f.startsWith('blocks')),
          [],
          `${what}: no try leaves its folder`,
        );
      }
    }
  });
});

describe('transform-split over blocks, on hand-written rows', () => {
  const config = testConfig();
  after(() => fs.rmSync(config.storageDir, { recursive: true, force: true }));

  /** A run whose stage 2 wrote these [processed text, topic] rows, topics A and B. */
  function run(runId: string, rows: readonly [string, string][], blockSize: number): StageContext {
    const dir = runDir(config.storageDir, runId);
    fs.mkdirSync(dir, { recursive: true });
    const file: Pick<TopicsFile, 'topics'> = {
      topics: ['A', 'B'].map((name, id) => ({ id, name, size: 0, topWords: [] })),
    };
    fs.writeFileSync(path.join(dir, ARTIFACTS.topics), JSON.stringify(file));
    const lines = rows.map(([text, t], i) => csvRow([`Narrative ${i}.`, 'Checking account', text, t]));
    fs.writeFileSync(
      path.join(dir, ARTIFACTS.ticketsTopics),
      csvRow(TICKETS_TOPICS_COLUMNS) + lines.join(''),
    );
    const ctx = stageContext(config, runId);
    return { ...ctx, params: { ...ctx.params, blockSize } };
  }

  it('a topic topics.json does not list fails naming its first row, whichever block it is in', async () => {
    const topics = ['A', 'B', 'A', 'B', 'A', 'B', 'A', 'Z', 'Y', 'Z'];
    const rows = topics.map((t, i): [string, string] => [`word${i}`, t]);
    const message =
      /tickets_topics\.csv: row 7 has topic "Z", which topics\.json does not list: rerun feature extraction/;
    await assert.rejects(runTransformSplitReference(run('unlisted-reference', rows, 1)), message);
    for (const blockSize of [1, 3, 7, 20])
      await assert.rejects(runTransformSplit(run(`unlisted-${blockSize}`, rows, blockSize)), message);
  });

  it('terms past U+FFFF sort by code point, as sklearn sorts them', async () => {
    // "𝒜" (U+1D49C, two UTF-16 units from U+D835) sorts after "ﬁ" (U+FB01) by code point, before by unit.
    const words = ['𝒜𝒜 bank', 'ﬁﬁ loan', 'card 𝒜b', 'ﬁx fee', 'zz 𝒜𝒜', 'aa', 'ﬁﬁ 𝒜𝒜', ''];
    const rows = Array.from({ length: 24 }, (_, i): [string, string] => [
      words[i % words.length]!,
      i % 2 === 0 ? 'A' : 'B',
    ]);
    const reference = run('order-reference', rows, 1);
    await runTransformSplitReference(reference);
    const want = OUTPUTS.map((n) =>
      fs.readFileSync(path.join(runDir(config.storageDir, reference.runId), n)),
    );
    const vocabulary = (JSON.parse(want[0]!.toString('utf8')) as { vocabulary: string[] }).vocabulary;
    assert.ok(vocabulary.indexOf('ﬁﬁ') < vocabulary.indexOf('𝒜𝒜'), vocabulary.join(' '));
    for (const blockSize of [1, 5, 24]) {
      const ctx = run(`order-${blockSize}`, rows, blockSize);
      await runTransformSplit(ctx);
      OUTPUTS.forEach((name, i) =>
        assert.ok(
          fs.readFileSync(path.join(runDir(config.storageDir, ctx.runId), name)).equals(want[i]!),
          `blockSize ${blockSize}: ${name} differs`,
        ),
      );
    }
  });
});

describe('transform-split with the term counts and topics stage 2 handed on', () => {
  const config = testConfig();
  after(() => fs.rmSync(config.storageDir, { recursive: true, force: true }));

  /** A run through stage 2 with these parameters. */
  async function throughStage2(runId: string, params: Partial<PipelineParams>): Promise<StageContext> {
    const base = stageContext(config, runId);
    const ctx = { ...base, params: { ...base.params, ...params } };
    await runTextProcessing(ctx, SAMPLE_DATASET);
    await runFeatureExtraction(ctx);
    return ctx;
  }

  const withoutHandoff = (ctx: StageContext, runId: string, params: Partial<PipelineParams>) =>
    runWithStage2Of(config, ctx.runId, runId, params);

  /** A block mapper running every task in this process, recording their names. */
  function recording(ctx: StageContext): { blocks: BlockMapper; ran: Set<string> } {
    const ran = new Set<string>();
    return { ran, blocks: watchedMapper(ctx, (task) => ran.add(task)) };
  }

  const outputs = (ctx: StageContext) => outputsOf(config, ctx);
  const handoffDir = (ctx: StageContext) => path.join(runDir(config.storageDir, ctx.runId), TERM_HANDOFF_DIR);

  it('skips reading the tickets again and writes the bytes reading them gives; the files go when it ends', async () => {
    for (const blockSize of [100, 20000]) {
      const ctx = await throughStage2(`handoff-${blockSize}`, { blockSize });
      assert.ok(
        fs.existsSync(path.join(handoffDir(ctx), 'manifest.json')),
        `blockSize ${blockSize}: handed on`,
      );
      const plain = withoutHandoff(ctx, `plain-${blockSize}`, { blockSize });
      const used = recording(ctx);
      const read = recording(plain);
      const a = await runTransformSplit({ ...ctx, blocks: used.blocks });
      const b = await runTransformSplit({ ...plain, blocks: read.blocks });
      assert.deepEqual([...used.ran], ['ts.count-rows'], `blockSize ${blockSize}: no first round`);
      assert.deepEqual([...read.ran], ['ts.block-terms', 'ts.count-rows']);
      assert.deepEqual({ ...a, seconds: 0 }, { ...b, seconds: 0 });
      const want = outputs(plain);
      outputs(ctx).forEach((got, i) =>
        assert.ok(got.equals(want[i]!), `blockSize ${blockSize}: ${OUTPUTS[i]} differs`),
      );
      assert.equal(fs.existsSync(handoffDir(ctx)), false, 'the handed-on files are removed');
      // Run again, nothing handed on now: the same bytes.
      await runTransformSplit(ctx);
      outputs(ctx).forEach((got, i) => assert.ok(got.equals(want[i]!), `rerun: ${OUTPUTS[i]} differs`));
    }
  });

  it('is not used for other blocks than stage 3 plans, nor with category labels; removed either way', async () => {
    const ctx = await throughStage2('handoff-other-blocks', { blockSize: 100 });
    const other = { ...ctx, params: { ...ctx.params, blockSize: 300 } };
    const plain = withoutHandoff(ctx, 'plain-other-blocks', { blockSize: 300 });
    const used = recording(other);
    await runTransformSplit({ ...other, blocks: used.blocks });
    await runTransformSplit(plain);
    assert.ok(used.ran.has('ts.block-terms'), 'the tickets are read');
    const want = outputs(plain);
    outputs(ctx).forEach((got, i) => assert.ok(got.equals(want[i]!), `${OUTPUTS[i]} differs`));
    assert.equal(fs.existsSync(handoffDir(ctx)), false, 'the unused files are removed too');

    const category = await throughStage2('handoff-category', MODES[1]!.params);
    assert.ok(fs.existsSync(handoffDir(category)), 'stage 2 hands on whatever the labels');
    const counted = recording(category);
    await runTransformSplit({ ...category, blocks: counted.blocks });
    assert.ok(counted.ran.has('ts.block-terms'), 'category labels: the narratives are read');
    assert.equal(fs.existsSync(handoffDir(category)), false, 'category labels: the unused files are removed');
  });

  it("a handed-on topic out of topics.json's range fails naming the file and row", async () => {
    const ctx = await throughStage2('handoff-bad-topic', { blockSize: 500 });
    const file = path.join(handoffDir(ctx), 'topics-00001.bin');
    const labels = new Int32Array(new Uint8Array(fs.readFileSync(file)).buffer);
    labels[3] = 99;
    fs.writeFileSync(file, new Uint8Array(labels.buffer));
    await assert.rejects(
      runTransformSplit(ctx),
      /term-counts\/topics-00001\.bin: row 503 has topic 99, topics\.json lists \d+: rerun feature extraction/,
    );
  });
});

describe('features matrix file from parts', () => {
  const dir = tempDir('csr-concat');
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  function randomMatrix(rng: Rng, rows: number, cols: number): { m: CsrMatrix; labels: Int32Array } {
    const indptr = new Int32Array(rows + 1);
    const indices: number[] = [];
    const data: number[] = [];
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        if (rng.nextFloat() < 0.3) {
          indices.push(c);
          data.push(1 + rng.nextInt(5));
        }
      }
      indptr[r + 1] = indices.length;
    }
    const labels = Int32Array.from({ length: rows }, () => rng.nextInt(4) - 1);
    return {
      m: { rows, cols, indptr, indices: Int32Array.from(indices), data: Float64Array.from(data) },
      labels,
    };
  }

  const slice = (m: CsrMatrix, labels: Int32Array, a: number, b: number) => {
    const p0 = m.indptr[a]!;
    const p1 = m.indptr[b]!;
    return {
      m: {
        rows: b - a,
        cols: m.cols,
        indptr: m.indptr.slice(a, b + 1).map((p) => p - p0),
        indices: m.indices.slice(p0, p1),
        data: m.data.slice(p0, p1),
      },
      labels: labels.slice(a, b),
    };
  };

  it('is encodeCsr of the whole matrix, for parts of odd sizes, empty rows and parts without non-zeros', async () => {
    const store = openStore({ kind: 'file', root: dir });
    const rng = new Rng(7);
    for (const [rows, cols, cuts] of [
      [1, 3, [1]],
      [10, 5, [3, 4, 9, 10]],
      [50, 1, [1, 2, 3, 25, 49, 50]],
      [300, 40, [7, 150, 151, 300]],
    ] as const) {
      const { m, labels } = randomMatrix(rng, rows, cols);
      // Rows without non-zeros, so some parts have none.
      const parts = [];
      let from = 0;
      for (const [i, to] of cuts.entries()) {
        const part = slice(m, labels, from, to);
        const key = `parts/${rows}-${i}.bin`;
        await store.put(key, encodeCsr(part.m, part.labels));
        parts.push({ key, rows: part.m.rows, nnz: part.m.indptr[part.m.rows]! });
        from = to;
      }
      const written = await writeCsrFromParts(store, `whole-${rows}.bin`, cols, parts);
      assert.deepEqual(written, { rows, nnz: m.indptr[rows]! });
      assert.ok((await store.get(`whole-${rows}.bin`)).equals(encodeCsr(m, labels)), `${rows} rows`);
    }
    await store.close();
  });

  it('fails naming a part shorter than its rows and non-zeros say, and writes nothing', async () => {
    const store = openStore({ kind: 'file', root: dir });
    const { m, labels } = randomMatrix(new Rng(3), 20, 6);
    await store.put('short.bin', encodeCsr(m, labels).subarray(0, 100));
    await assert.rejects(
      writeCsrFromParts(store, 'never.bin', 6, [{ key: 'short.bin', rows: 20, nnz: m.indptr[20]! }]),
      /short\.bin: expected \d+ bytes at offset \d+ for 20 rows/,
    );
    assert.equal(await store.stat('never.bin'), undefined);
    await store.close();
  });
});
