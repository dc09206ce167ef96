import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { PipelineParams } from '../../shared/core/config/pipeline-params';
import { argmaxRows, fitNmf } from '../../shared/core/numeric/nmf';
import { fitTfidfVectorizer } from '../../shared/core/numeric/vectorizer';
import { runDir } from '../../shared/core/storage';
import { FileStore } from '../../shared/core/store/file-store';
import { BlockMapper, MapOptions, localBlockMapper } from '../../shared/pipeline/stages/blocks/block-mapper';
import { BlockTaskDef } from '../../shared/pipeline/stages/blocks/block-task';
import { ARTIFACTS, StageContext } from '../../shared/pipeline/stages/context';
import {
  FeatureExtractionOptions,
  runFeatureExtraction,
  TopicsFile,
} from '../../shared/pipeline/stages/feature-extraction/feature-extraction';
import { runTextProcessing } from '../../shared/pipeline/stages/text-processing';
import { DEV_DATASET, SAMPLE_DATASET, hasSharedData, stageContext, testConfig } from '../helpers/env';
import { readCsvFile } from '../helpers/read-csv-file';
import { TERM_HANDOFF_DIR } from '../../shared/pipeline/stages/feature-extraction/term-handoff';

const config = testConfig();
after(() => fs.rmSync(config.storageDir, { recursive: true, force: true }));

function ctxFor(runId: string, params: Partial<PipelineParams> = {}): StageContext {
  const ctx = stageContext(config, runId);
  return { ...ctx, params: { ...ctx.params, ...params } };
}

const artifact = (ctx: StageContext, name: string) => path.join(runDir(config.storageDir, ctx.runId), name);

/** The share of equal labels. */
function agreement(a: Int32Array, b: Int32Array): number {
  assert.equal(a.length, b.length);
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return same / a.length;
}

interface Run {
  topics: TopicsFile;
  labels: Int32Array;
  bytes: Map<string, Buffer>;
}

/** A run of its own with a copy of `ticketsCsv` (without its index: the stage writes one). */
function freshRun(ticketsCsv: string, runId: string, params: Partial<PipelineParams>): StageContext {
  const ctx = ctxFor(runId, params);
  fs.mkdirSync(runDir(config.storageDir, runId), { recursive: true });
  fs.copyFileSync(ticketsCsv, artifact(ctx, ARTIFACTS.tickets));
  return ctx;
}

/** Stage 2 on a copy of `ticketsCsv`, in a run of its own. */
async function stage2(
  ticketsCsv: string,
  runId: string,
  params: Partial<PipelineParams>,
  opts?: FeatureExtractionOptions,
): Promise<Run> {
  const ctx = freshRun(ticketsCsv, runId, params);
  await runFeatureExtraction(ctx, opts);
  return readRun(ctx);
}

async function readRun(ctx: StageContext): Promise<Run> {
  const topics = JSON.parse(fs.readFileSync(artifact(ctx, ARTIFACTS.topics), 'utf8')) as TopicsFile;
  const ids = new Map(topics.topics.map((t) => [t.name, t.id]));
  const labels: number[] = [];
  await readCsvFile(artifact(ctx, ARTIFACTS.ticketsTopics), ['relevant_topic'], (row) =>
    labels.push(ids.get(row.relevant_topic!)!),
  );
  const dir = runDir(config.storageDir, ctx.runId);
  const bytes = new Map(
    fs
      .readdirSync(dir, { recursive: true })
      .map(String)
      .filter((f) => fs.statSync(path.join(dir, f)).isFile())
      .map((f) => [f, fs.readFileSync(path.join(dir, f))]),
  );
  return { topics, labels: Int32Array.from(labels), bytes };
}

/** The labels of the single-process fitNmf on the processed text of `ticketsCsv`. */
async function fitNmfLabels(ticketsCsv: string, params: PipelineParams) {
  const processed: string[] = [];
  await readCsvFile(ticketsCsv, ['processed_text'], (row) => processed.push(row.processed_text!));
  const X = fitTfidfVectorizer(processed, { minDf: params.minDf, maxDf: params.maxDf }).matrix;
  const nmf = fitNmf(X, {
    nComponents: params.topics,
    tol: params.nmfTol,
    maxIter: params.nmfMaxIter,
    randomState: params.nmfSeed,
  });
  return { labels: argmaxRows(nmf.W, X.rows, params.topics), nmf, cols: X.cols };
}

/** NMF's iterations as map rounds over the blocks, whatever the corpus size. */
const overBlocks: FeatureExtractionOptions = { singleTaskNmfRows: 0 };

describe('feature extraction over blocks, on the sample (1,140 tickets)', () => {
  let tickets = '';
  let reference: Awaited<ReturnType<typeof fitNmfLabels>>;
  let oneBlock: Run;
  before(async () => {
    const ctx = ctxFor('sample');
    await runTextProcessing(ctx, SAMPLE_DATASET);
    tickets = artifact(ctx, ARTIFACTS.tickets);
    reference = await fitNmfLabels(tickets, ctx.params);
    oneBlock = await stage2(tickets, 'one-block', { blockSize: 20000 }, overBlocks);
  });

  it("NMF in one task (a small corpus): fitNmf's labels and error, the same bytes for any block size", async () => {
    const whole = await stage2(tickets, 'whole-1', { blockSize: 20000 });
    const wholeBlocks = await stage2(tickets, 'whole-4', { blockSize: 300 });
    assert.equal(agreement(whole.labels, reference.labels), 1);
    assert.equal(whole.topics.nmf.reconstructionError, reference.nmf.reconstructionError);
    for (const name of ['topics.json', 'tickets_topics.csv', 'tickets_topics.csv.idx'])
      assert.ok(whole.bytes.get(name)!.equals(wholeBlocks.bytes.get(name)!), `${name} depends on blockSize`);
  });

  it("iterations over one block: fitNmf's labels, vocabulary, iterations and reconstruction error", () => {
    assert.ok(agreement(oneBlock.labels, reference.labels) >= 0.999);
    assert.equal(oneBlock.topics.vocabularySize, reference.cols);
    assert.equal(oneBlock.topics.nmf.iterations, reference.nmf.nIter);
    assert.equal(oneBlock.topics.nmf.reconstructionError, reference.nmf.reconstructionError);
  });

  it("iterations over blocks of 300 (4): the same vocabulary and top words, labels agree with one block's", async () => {
    const four = await stage2(tickets, 'four-blocks', { blockSize: 300 }, overBlocks);
    assert.equal(four.topics.vocabularySize, oneBlock.topics.vocabularySize);
    assert.deepEqual(
      four.topics.topics.map((t) => t.topWords),
      oneBlock.topics.topics.map((t) => t.topWords),
    );
    const a = agreement(four.labels, oneBlock.labels);
    assert.ok(a >= 0.99, `agreement ${a}`);
    assert.ok(
      Math.abs(four.topics.nmf.reconstructionError - oneBlock.topics.nmf.reconstructionError) <=
        1e-9 * oneBlock.topics.nmf.reconstructionError,
    );
  });

  it('the same bytes when run again; only topics.json, tickets_topics.csv, its index and the term counts for stage 3 are added', async () => {
    const first = await stage2(tickets, 'twice', { blockSize: 300 }, overBlocks);
    const ctx = ctxFor('twice', { blockSize: 300 });
    await runFeatureExtraction(ctx, overBlocks);
    const second = await readRun(ctx);
    const handedOn = [...first.bytes.keys()].filter((f) => f.startsWith(TERM_HANDOFF_DIR)).sort();
    assert.deepEqual(
      [...first.bytes.keys()].filter((f) => !handedOn.includes(f)).sort(),
      ['tickets.csv', 'tickets.csv.idx', 'tickets_topics.csv', 'tickets_topics.csv.idx', 'topics.json'],
      'no intermediate files are left behind',
    );
    const blocks = Math.ceil(first.labels.length / 300);
    assert.equal(handedOn.length, 1 + 3 * blocks, handedOn.join(' '));
    assert.ok(handedOn.includes(`${TERM_HANDOFF_DIR}manifest.json`));
    for (const [name, bytes] of first.bytes)
      assert.ok(bytes.equals(second.bytes.get(name)!), `${name} changed on the second run`);
  });

  it('an earlier attempt that completes while a later one runs removes only its own files: same bytes', async () => {
    const runId = 'two-attempts';
    // The run's second generation (a retry from this stage): its attempts 1 and 2.
    const first: StageContext = { ...ctxFor(runId, { blockSize: 300 }), generation: 2 };
    const later: StageContext = { ...first, attempt: 2 };
    fs.mkdirSync(runDir(config.storageDir, runId), { recursive: true });
    fs.copyFileSync(tickets, artifact(first, ARTIFACTS.tickets));
    // What the last attempt of the failed first generation left: the retry does not read it.
    fs.mkdirSync(artifact(first, 'blocks-feature-extraction-a4'));
    fs.writeFileSync(artifact(first, 'blocks-feature-extraction-a4/idf.bin'), 'stale');
    // Attempt 2 maps its first round, then attempt 1 (cut off from its job, running on) completes.
    const local = localBlockMapper(later);
    let rounds = 0;
    const blocks: BlockMapper = {
      async map<I, O>(task: BlockTaskDef<I, O>, inputs: readonly I[], opts?: MapOptions<O>): Promise<O[]> {
        const out = await local.map(task, inputs, opts);
        if (++rounds === 1) await runFeatureExtraction(first, overBlocks);
        return out;
      },
    };
    await runFeatureExtraction({ ...later, blocks }, overBlocks);
    const both = await readRun(later);
    const alone = await stage2(tickets, 'two-attempts-reference', { blockSize: 300 }, overBlocks);
    for (const name of ['topics.json', 'tickets_topics.csv', 'tickets_topics.csv.idx'])
      assert.ok(both.bytes.get(name)!.equals(alone.bytes.get(name)!), `${name} differs`);
    assert.deepEqual(
      [...both.bytes.keys()].filter((f) => f.startsWith('blocks')),
      [],
      'no attempt leaves block files, nor does a failed generation',
    );
  });

  it('a retry goes on where the failed try stopped (blocks, SVD rounds, NMF iterations): runs only the rest, same bytes', async () => {
    const params = { blockSize: 300 };
    const opts = { ...overBlocks, singleTaskInitRows: 0 };
    /** A mapper counting the tasks it runs (reused ones are not run), failing at map call `failAt`. */
    const counting = (ctx: StageContext, failAt = Infinity) => {
      const local = localBlockMapper(ctx);
      const counts = { calls: 0, ran: 0 };
      const blocks: BlockMapper = {
        async map<I, O>(task: BlockTaskDef<I, O>, inputs: readonly I[], o?: MapOptions<O>): Promise<O[]> {
          if (counts.calls++ === failAt) throw new Error('injected: the stage fails here');
          return local.map({ ...task, run: (c, i) => (counts.ran++, task.run(c, i)) }, inputs, o);
        },
      };
      return { blocks, counts };
    };
    const fresh = (runId: string) => freshRun(tickets, runId, params);
    const clean = fresh('resume-clean');
    const whole = counting(clean);
    await runFeatureExtraction({ ...clean, blocks: whole.blocks }, opts);
    const reference = await readRun(clean);
    // 28 map calls: document frequencies, TF-IDF, 9 SVD rounds, the projection, 14 NMF iterations, topics,
    // the rows of tickets_topics.csv.
    assert.equal(whole.counts.calls, 28);
    for (const [failAt, where] of [
      [6, 'in the SVD, its basis 4 blocks along'],
      [12, 'at the first NMF iteration'],
      [18, 'among the NMF iterations'],
      [26, 'at the topics, NMF done'],
      [27, 'at the rows of tickets_topics.csv, topics done'],
    ] as const) {
      const failed = fresh(`resume-${failAt}`);
      const first = counting(failed, failAt);
      await assert.rejects(runFeatureExtraction({ ...failed, blocks: first.blocks }, opts), /injected/);
      // The run's retry: generation 2 of the stage.
      const retry = counting({ ...failed, generation: 2 });
      await runFeatureExtraction({ ...failed, generation: 2, blocks: retry.blocks }, opts);
      assert.equal(
        retry.counts.ran,
        whole.counts.ran - first.counts.ran,
        `failed ${where}: only the tasks the failed try had not run ran`,
      );
      const after = await readRun({ ...failed, generation: 2 });
      for (const name of ['topics.json', 'tickets_topics.csv', 'tickets_topics.csv.idx'])
        assert.ok(
          after.bytes.get(name)!.equals(reference.bytes.get(name)!),
          `failed ${where}: ${name} differs`,
        );
      assert.deepEqual(
        [...after.bytes.keys()].filter((f) => f.startsWith('blocks') || f.startsWith('.')),
        [],
        'neither try leaves its folder or an upload',
      );
    }
    // A retry running other code (a deploy between the tries) reuses nothing of the failed try, and the
    // same code reuses all it can.
    for (const [retryCode, reuses] of [
      ['build-b', false],
      ['build-a', true],
    ] as const) {
      const failed = { ...fresh(`resume-code-${retryCode}`), code: 'build-a' };
      const first = counting(failed, 20);
      await assert.rejects(runFeatureExtraction({ ...failed, blocks: first.blocks }, opts), /injected/);
      const retryCtx = { ...failed, generation: 2, code: retryCode };
      const retry = counting(retryCtx);
      await runFeatureExtraction({ ...retryCtx, blocks: retry.blocks }, opts);
      assert.equal(
        retry.counts.ran,
        reuses ? whole.counts.ran - first.counts.ran : whole.counts.ran,
        `retry with ${retryCode} after build-a`,
      );
      const after = await readRun(retryCtx);
      for (const name of ['topics.json', 'tickets_topics.csv', 'tickets_topics.csv.idx'])
        assert.ok(after.bytes.get(name)!.equals(reference.bytes.get(name)!), `${retryCode}: ${name} differs`);
    }
  });

  it("NMF started from the block-wise SVD (4 blocks): fitNmf's labels and iterations, in any number of jobs a round", async () => {
    const run = await stage2(
      tickets,
      'block-svd',
      { blockSize: 300 },
      { ...overBlocks, singleTaskInitRows: 0 },
    );
    const a = agreement(run.labels, reference.labels);
    assert.ok(a >= 0.999, `agreement ${a}`);
    assert.equal(run.topics.nmf.iterations, reference.nmf.nIter);
    // The same rounds with the blocks in runs (1, 1 and 2 blocks a job, then 4 in one): the same bytes.
    for (const maxJobsPerRound of [3, 1]) {
      const grouped = await stage2(
        tickets,
        `block-svd-${maxJobsPerRound}-jobs`,
        { blockSize: 300 },
        { ...overBlocks, singleTaskInitRows: 0, maxJobsPerRound },
      );
      for (const name of ['topics.json', 'tickets_topics.csv'])
        assert.ok(
          grouped.bytes.get(name)!.equals(run.bytes.get(name)!),
          `${name} differs with ${maxJobsPerRound} job(s) a round`,
        );
    }
  });

  it("a Krylov basis that restarts every 3 rounds: fitNmf's labels; a retry failing in its second basis goes on with the same bytes", async () => {
    const opts = { ...overBlocks, singleTaskInitRows: 0, svdBasisRounds: 3 };
    /** A mapper that counts the SVD's rounds and fails at map call `failAt`, listing the SVD's files then. */
    const mapper = (ctx: StageContext, failAt = Infinity) => {
      const local = localBlockMapper(ctx);
      const seen = { calls: 0, svdRounds: 0, svdFiles: [] as string[] };
      const blocks: BlockMapper = {
        async map<I, O>(task: BlockTaskDef<I, O>, inputs: readonly I[], o?: MapOptions<O>): Promise<O[]> {
          if (seen.calls++ === failAt) {
            const dir = path.join(runDir(config.storageDir, ctx.runId), 'blocks-feature-extraction', 'svd');
            seen.svdFiles = fs
              .readdirSync(dir, { recursive: true })
              .map(String)
              .filter((f) => f.endsWith('.bin'))
              .sort();
            throw new Error('injected: the stage fails here');
          }
          if (task.name === 'fe.svd-step') seen.svdRounds++;
          return local.map(task, inputs, o);
        },
      };
      return { blocks, seen };
    };
    const fresh = (runId: string) => freshRun(tickets, runId, { blockSize: 300 });
    const clean = fresh('svd-restarts');
    const whole = mapper(clean);
    await runFeatureExtraction({ ...clean, blocks: whole.blocks }, opts);
    const reference2 = await readRun(clean);
    assert.ok(whole.seen.svdRounds > 6, `the SVD took ${whole.seen.svdRounds} rounds: more than two bases`);
    const a = agreement(reference2.labels, reference.labels);
    assert.ok(a >= 0.999, `agreement ${a}`);
    assert.equal(reference2.topics.nmf.iterations, reference.nmf.nIter);
    // Map call 6 is the SVD's fifth round (document frequencies and TF-IDF are calls 0 and 1): the second
    // of the second basis, whose first block and product the retry needs, and nothing of the first basis.
    const failed = fresh('svd-restarts-retry');
    const first = mapper(failed, 6);
    await assert.rejects(runFeatureExtraction({ ...failed, blocks: first.blocks }, opts), /injected/);
    assert.deepEqual(first.seen.svdFiles, ['4/xtxz.bin', '4/z.bin', '5/z.bin']);
    const retry = mapper({ ...failed, generation: 2 });
    await runFeatureExtraction({ ...failed, generation: 2, blocks: retry.blocks }, opts);
    assert.equal(
      retry.seen.svdRounds,
      whole.seen.svdRounds - 4,
      'the retry runs the SVD from its fifth round',
    );
    const after = await readRun({ ...failed, generation: 2 });
    for (const name of ['topics.json', 'tickets_topics.csv', 'tickets_topics.csv.idx'])
      assert.ok(after.bytes.get(name)!.equals(reference2.bytes.get(name)!), `${name} differs`);
  });

  it('tickets_topics.csv written in place by its blocks: the bytes of appending them in one process', async () => {
    const placed = await stage2(tickets, 'in-place', { blockSize: 300 }, overBlocks);
    // The same store without writes in place, as on S3: the stage appends the blocks' rows itself.
    const ctx = ctxFor('appended', { blockSize: 300 });
    const store = new FileStore(config.storageDir);
    Object.defineProperty(store, 'placed', { value: undefined });
    fs.mkdirSync(runDir(config.storageDir, ctx.runId), { recursive: true });
    fs.copyFileSync(tickets, artifact(ctx, ARTIFACTS.tickets));
    await runFeatureExtraction({ ...ctx, store }, overBlocks);
    const appended = await readRun(ctx);
    for (const name of ['topics.json', 'tickets_topics.csv', 'tickets_topics.csv.idx'])
      assert.ok(placed.bytes.get(name)!.equals(appended.bytes.get(name)!), `${name} differs`);
  });

  it('a block that fails writing its rows fails the stage and leaves no tickets_topics.csv, whole or part', async () => {
    const ctx = ctxFor('rows-fail', { blockSize: 300 });
    const local = localBlockMapper(ctx);
    const failing: BlockMapper = {
      map: <I, O>(task: BlockTaskDef<I, O>, inputs: readonly I[], o?: MapOptions<O>) =>
        local.map(
          {
            ...task,
            run: (c, input) =>
              task.name === 'fe.topic-rows' && (input as { block: { index: number } }).block.index === 2
                ? Promise.reject(new Error('injected: block 2 cannot write'))
                : task.run(c, input),
          },
          inputs,
          o,
        ),
    };
    fs.mkdirSync(runDir(config.storageDir, ctx.runId), { recursive: true });
    fs.copyFileSync(tickets, artifact(ctx, ARTIFACTS.tickets));
    await assert.rejects(runFeatureExtraction({ ...ctx, blocks: failing }, overBlocks), /injected: block 2/);
    const left = fs.readdirSync(runDir(config.storageDir, ctx.runId));
    assert.deepEqual(
      left.filter((f) => f.includes('tickets_topics')),
      [],
      'neither the file, its index nor an upload',
    );
  });

  it('a cancelled run stops between rounds and puts neither topics.json nor tickets_topics.csv in place', async () => {
    const controller = new AbortController();
    const ctx: StageContext = {
      ...ctxFor('cancelled', { blockSize: 300 }),
      signal: controller.signal,
      // At 30 % the TF-IDF rows are written and NMF has not started.
      progress: (percent) => {
        if (percent === 30) controller.abort();
      },
    };
    fs.mkdirSync(runDir(config.storageDir, ctx.runId), { recursive: true });
    fs.copyFileSync(tickets, artifact(ctx, ARTIFACTS.tickets));
    await assert.rejects(runFeatureExtraction(ctx, overBlocks), (err: Error) => err.name === 'AbortError');
    assert.equal(fs.existsSync(artifact(ctx, ARTIFACTS.topics)), false);
    assert.equal(fs.existsSync(artifact(ctx, ARTIFACTS.ticketsTopics)), false);
  });
});

describe(
  'feature extraction over blocks, on the dev data',
  { skip: !hasSharedData && `no ${DEV_DATASET}` },
  () => {
    let tickets = '';
    let reference: Awaited<ReturnType<typeof fitNmfLabels>>;
    before(async () => {
      const ctx = ctxFor('dev');
      await runTextProcessing(ctx, DEV_DATASET);
      tickets = artifact(ctx, ARTIFACTS.tickets);
      reference = await fitNmfLabels(tickets, ctx.params);
    });

    it("the default (NMF in one task, 15,930 tickets): fitNmf's labels", async () => {
      const run = await stage2(tickets, 'dev-default', {});
      assert.equal(agreement(run.labels, reference.labels), 1);
    });

    it("iterations over blocks of 4000: labels agree with the single-process fitNmf's (≥ 0.99)", async () => {
      const run = await stage2(tickets, 'dev-blocks', { blockSize: 4000 }, overBlocks);
      const a = agreement(run.labels, reference.labels);
      assert.ok(a >= 0.99, `agreement ${a}`);
    });

    it("blocks of 4000, NMF started from the block-wise SVD: labels agree with fitNmf's (≥ 0.99)", async () => {
      const run = await stage2(
        tickets,
        'dev-block-svd',
        { blockSize: 4000 },
        { ...overBlocks, singleTaskInitRows: 0 },
      );
      const a = agreement(run.labels, reference.labels);
      assert.ok(a >= 0.99, `agreement ${a}`);
    });
  },
);
