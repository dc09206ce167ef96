/**
 * npm run bench -- [--data FILE] [--workers N] [--scale F] [--chunk-size N] [--topics K] [--out FILE] [--repeat N]
 *                  [--storage file|s3]
 *
 * Runs the real flow — a private Redis, N worker processes, artifacts in a folder or in an S3 server on
 * 127.0.0.1 — on a dataset and
 * prints seconds per stage, wall time, stage-1 throughput, peak RSS per process, vocabulary and topic
 * sizes, metrics, and how topics line up with the real product groups (purity, NMI).
 */
import fs from 'node:fs';
import type { Readable } from 'node:stream';
import os from 'node:os';
import path from 'node:path';
import { readLabelMapFile } from '../../shared/core/config/label-map';
import { searchTable } from '../../producers/cli/report';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT, resolveConfig } from '../../shared/core/config/config';
import { createConnection } from '../../shared/runtime/flow/connection';
import { enqueueRun } from '../../test/helpers/enqueue-run';
import { closeRunsContext, openRunsContext } from '../../shared/runtime/runs/context';
import { RunRecord } from '../../shared/runtime/runs/record';
import { readCsv } from '../../shared/core/io/read-csv';
import { ensureRedis } from '../../shared/runtime/redis/local-redis';
import { createHash } from 'node:crypto';
import { runKey, runPrefix } from '../../shared/core/storage';
import { openStore } from '../../shared/core/store/open-store';
import { ARTIFACTS } from '../../shared/pipeline/stages/context';
import { startS3Server } from './s3-server-process';
import { comparableBytes } from '../../test/runs/artifacts';
import { spawnWorkers } from '../../producers/cli/self-contained';
import { waitForRun } from '../../test/helpers/stack';
import { PeakRssSampler } from './process-memory';
import { nmi, purity } from './cluster-agreement';
import { scaleDataset } from './scale-dataset';
import { classifyBench } from './classify-bench';
import { FeatureExtractionResult } from '../../shared/pipeline/stages/feature-extraction/feature-extraction';
import { TransformSplitResult } from '../../shared/pipeline/stages/transform-split/transform-split';

const DEV = path.resolve(PROJECT_ROOT, '..', 'shared', 'data', 'complaints-dev.json');
const LABELS = path.resolve(PROJECT_ROOT, '..', 'shared', 'data', 'product-labels.tsv');

const HELP = `Usage: npm run bench -- [--data FILE] [--workers N] [--scale F] [--chunk-size N] [--topics K]
                        [--labels L] [--label-map FILE] [--params JSON] [--out FILE] [--repeat N]
  --data FILE      dataset (default ../shared/data/complaints-dev.json, else the bundled sample)
  --workers N      worker processes (default 2)
  --scale F        repeat the data F times with distinct ids (default 1)
  --chunk-size N   tickets per text-processing chunk (default from config: 2000)
  --topics K       NMF topics (default 3)
  --labels L       "topics" (default) or "category": learn the tickets' products, with --label-map
  --label-map FILE raw product → class TSV for --labels category (default ../shared/data/product-labels.tsv)
  --params JSON    other pipeline parameters, e.g. '{"searchC": [3, 10]}'
  --out FILE       also write the results as JSON
  --classify       instead: train on the dataset, promote the model, then time online POST /classify
                   (--rate N per second, default 200, for --duration S, default 30) and batch classification
  --repeat N       then submit the same run N more times on the warm workers (stage-cache hits) and time each
  --storage S      "file" (default): artifacts in a folder; "s3": in an S3 server (s3rver, a process of
                   its own) on 127.0.0.1, nothing shared on disk with the workers
`;

async function productGroups(): Promise<Map<string, string> | null> {
  if (!fs.existsSync(LABELS)) return null;
  const map = new Map<string, string>();
  for (const line of fs.readFileSync(LABELS, 'utf8').split('\n').slice(1)) {
    const [raw, group] = line.split('\t');
    if (raw && group) map.set(raw, group);
  }
  return map;
}

async function topicAgreement(
  csv: Readable,
  name: string,
): Promise<{ purity: number; nmi: number; labelled: number } | null> {
  const groups = await productGroups();
  if (!groups) return null;
  const topics: string[] = [];
  const classes: string[] = [];
  await readCsv(csv, name, ['category', 'relevant_topic'], (row) => {
    const product = row.category!.split(' + ')[0]!;
    const group = groups.get(product);
    if (group) {
      topics.push(row.relevant_topic!);
      classes.push(group);
    }
  });
  if (topics.length === 0) return null;
  return { purity: purity(topics, classes), nmi: nmi(topics, classes), labelled: topics.length };
}

/**
 * Wall seconds of the model search: from the training job's start to the start of its refit job (the
 * training stage's seconds minus the refit's own); null without both.
 */
function searchPhaseSeconds(run: RunRecord): number | null {
  const t = run.stages.find((s) => s.stage === 'training');
  if (!t || t.seconds === null || typeof t.refitSeconds !== 'number') return null;
  return round(t.seconds - t.refitSeconds);
}

async function main(): Promise<void> {
  if (process.argv.includes('--classify')) return classifyBench(process.argv.slice(2));
  const { values } = parseArgs({
    options: {
      data: { type: 'string' },
      workers: { type: 'string', default: '2' },
      scale: { type: 'string', default: '1' },
      'chunk-size': { type: 'string' },
      topics: { type: 'string' },
      labels: { type: 'string' },
      'label-map': { type: 'string' },
      params: { type: 'string' },
      out: { type: 'string' },
      repeat: { type: 'string', default: '0' },
      storage: { type: 'string', default: 'file' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return;
  }
  const workers = Number(values.workers);
  const scale = Number(values.scale);
  if (!Number.isInteger(workers) || workers < 1) throw new Error('--workers must be a whole number ≥ 1');
  if (!Number.isInteger(scale) || scale < 1) throw new Error('--scale must be a whole number ≥ 1');
  const repeat = values.repeat === '' ? 1 : Number(values.repeat);
  if (!Number.isInteger(repeat) || repeat < 0) throw new Error('--repeat must be a whole number ≥ 0');
  if (values.storage !== 'file' && values.storage !== 's3')
    throw new Error(`--storage must be "file" or "s3", got "${values.storage}"`);
  const source = path.resolve(
    values.data ??
      (fs.existsSync(DEV) ? DEV : path.join(PROJECT_ROOT, 'shared', 'sample', 'complaints-sample.json')),
  );
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'ticketflow-bench-'));
  let dataset = source;
  if (scale > 1) {
    dataset = path.join(scratch, `scaled-x${scale}.jsonl`);
    const n = await scaleDataset(source, scale, dataset);
    process.stderr.write(`bench: wrote ${n} tickets (${scale}× ${path.basename(source)}) to ${dataset}\n`);
  }
  const s3 = values.storage === 's3' ? await startS3Server(path.join(scratch, 's3')) : null;
  const config = resolveConfig({
    ...process.env,
    ...s3?.env('bench'),
    TICKETFLOW_STORAGE_DIR: path.join(scratch, 'storage'),
    TICKETFLOW_QUEUE_PREFIX: `bench-${process.pid}`,
    // Workers read datasets only inside their data root: the dataset's own folder.
    TICKETFLOW_DATA_DIR: path.dirname(dataset),
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:1', // never reuse a running deployment's workers
  });
  const redis = await ensureRedis({ url: config.redisUrl, dir: config.redisDir, mode: 'private' });
  const connection = createConnection(redis.url);
  const runs = openRunsContext({ ...config, redisUrl: redis.url }, connection);
  const pool = await spawnWorkers(config, runs.queues, redis.url, workers, 'warn', s3?.env('bench'));
  const sampler = new PeakRssSampler(() => pool.pids);
  let status: RunRecord;
  const repeats: { wallSeconds: number; cached: string[] }[] = [];
  const params: Record<string, unknown> = {};
  if (values['chunk-size']) params.chunkSize = Number(values['chunk-size']);
  if (values.topics) params.topics = Number(values.topics);
  if (values.params) Object.assign(params, JSON.parse(values.params) as Record<string, unknown>);
  if (values.labels) params.labels = values.labels;
  if (params.labels === 'category' && params.labelMap === undefined) {
    const map = values['label-map'] ?? path.join(path.dirname(DEV), 'product-labels.tsv');
    params.labelMap = await readLabelMapFile(map);
  }
  const t0 = performance.now();
  let runId: string;
  try {
    sampler.start();
    runId = await enqueueRun(runs, { dataset, params });
    status = await waitForRun(runs, runId, 3_600_000);
    // --repeat N: the same run again on the now warm workers; every stage is a stage-cache hit.
    for (let i = 0; i < repeat; i++) {
      const r0 = performance.now();
      const again = await waitForRun(runs, await enqueueRun(runs, { dataset, params }), 3_600_000);
      repeats.push({
        wallSeconds: round((performance.now() - r0) / 1000),
        cached: again.stages.filter((s) => s.cached).map((s) => s.stage),
      });
      if (again.state !== 'completed') throw new Error(`repeated run ${again.id} ${again.state}`);
    }
  } finally {
    sampler.stop();
    await pool.stop();
    await closeRunsContext(runs);
    connection.disconnect();
    await redis.stop();
  }
  const wallSeconds = (performance.now() - t0 - repeats.reduce((a, r) => a + r.wallSeconds * 1000, 0)) / 1000;
  if (status.state !== 'completed') {
    await s3?.close();
    throw new Error(`run failed in ${status.error?.stage}: ${status.error?.message}`);
  }
  const s3CpuSeconds = s3?.cpuSeconds() ?? null;
  // The artifacts the report reads, through the store (the same bytes on either backend).
  const store = openStore(config.storage);
  const artifactsDir = store.locate(runPrefix(runId));
  let agreement: Awaited<ReturnType<typeof topicAgreement>>;
  let model: Buffer;
  try {
    const topicsKey = runKey(runId, ARTIFACTS.ticketsTopics);
    agreement = await topicAgreement(await store.openRead(topicsKey), store.locate(topicsKey));
    model = await store.get(runKey(runId, ARTIFACTS.model));
  } finally {
    await store.close();
    await s3?.close();
  }
  const stages = Object.fromEntries(status.stages.map((s) => [s.stage, s.seconds ?? 0]));
  const text = status.stages[0]!.result as {
    rows: number;
    chunks: number;
    stats: { read: number; kept: number; dropped: Record<string, number> };
  };
  const fe = status.stages[1]!.result as FeatureExtractionResult;
  const ts = status.stages[2]!.result as TransformSplitResult;
  const memory = sampler.result();
  const m = status.metrics!;
  const result = {
    dataset: source,
    scale,
    workers,
    storage: config.storage.kind === 'file' ? config.storage.root : `s3 (s3rver on ${s3!.endpoint})`,
    s3ServerCpuSeconds: s3CpuSeconds,
    // model.json without the run id it names, as runs are compared (test/runs/artifacts.ts).
    modelSha256: createHash('sha256').update(comparableBytes(ARTIFACTS.model, model)).digest('hex'),
    tickets: text.rows,
    records: text.stats.read,
    dropped: text.stats.dropped,
    chunks: text.chunks,
    wallSeconds: round(wallSeconds),
    stages,
    stage1TicketsPerSecond: Math.round(text.rows / (stages['text-processing'] || 1)),
    peakRssMb: memory.peakRssMb,
    processes: memory.processes,
    vocabulary: { topicModel: fe.vocabularySize, classifier: ts.vocabularySize },
    topics: fe.topics,
    topicAgreement: agreement,
    metrics: {
      train: { accuracy: m.train.accuracy, f1: m.train.f1, rocAuc: m.train.rocAuc },
      test: { accuracy: m.test.accuracy, f1: m.test.f1, macroF1: m.test.macroF1, rocAuc: m.test.rocAuc },
    },
    search: m.search,
    searchPhaseSeconds: searchPhaseSeconds(status),
    artifactsDir,
    repeats,
    machine: {
      cpus: os.availableParallelism(),
      memoryGb: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
      platform: `${os.type()} ${os.release()}`,
    },
  };
  process.stdout.write(formatTable(result) + '\n');
  if (m.search) {
    process.stdout.write(
      `labels ${String(params.labels ?? 'topics')}: test accuracy ${m.test.accuracy.toFixed(4)}, macro-F1 ${m.test.macroF1.toFixed(4)}\n` +
        searchTable(m.search).join('\n') +
        `\nsearch phase (training job start → refit start): ${result.searchPhaseSeconds?.toFixed(2)} s wall\n`,
    );
  }
  for (const [i, r] of repeats.entries()) {
    process.stdout.write(
      `repeat ${i + 1}: ${r.wallSeconds.toFixed(3)} s wall, cached: ${r.cached.join(', ') || 'none'}\n`,
    );
  }
  if (values.out) fs.writeFileSync(values.out, JSON.stringify(result, null, 2) + '\n');
}

const round = (x: number) => Math.round(x * 1000) / 1000;

function formatTable(r: {
  dataset: string;
  scale: number;
  workers: number;
  storage: string;
  s3ServerCpuSeconds: number | null;
  modelSha256: string;
  tickets: number;
  records: number;
  chunks: number;
  wallSeconds: number;
  stages: Record<string, number>;
  stage1TicketsPerSecond: number;
  peakRssMb: number;
  processes: { pid: number; name: string; peakRssMb: number }[];
  vocabulary: { topicModel: number; classifier: number };
  topics: { name: string; size: number }[];
  topicAgreement: { purity: number; nmi: number; labelled: number } | null;
  metrics: {
    train: { accuracy: number; f1: number; rocAuc: number | null };
    test: { accuracy: number; f1: number; rocAuc: number | null };
  };
  artifactsDir: string;
}): string {
  const l: string[] = [];
  l.push(
    `dataset ${path.basename(r.dataset)} ×${r.scale}: ${r.records} records, ${r.tickets} tickets, ${r.chunks} chunks, ${r.workers} worker process(es)`,
  );
  l.push('', '| stage | seconds |', '|---|---:|');
  for (const [k, v] of Object.entries(r.stages)) l.push(`| ${k} | ${v.toFixed(2)} |`);
  l.push(`| **wall total** | **${r.wallSeconds.toFixed(2)}** |`);
  l.push('', `stage 1: ${r.stage1TicketsPerSecond} tickets/s; peak RSS (largest process): ${r.peakRssMb} MB`);
  for (const p of r.processes.slice(0, 8))
    l.push(`  ${String(p.peakRssMb).padStart(7)} MB  pid ${p.pid} ${p.name}`);
  l.push(`vocabulary: topic model ${r.vocabulary.topicModel}, classifier ${r.vocabulary.classifier}`);
  l.push(`topics: ${r.topics.map((t) => `${t.name} ${t.size}`).join(' / ')}`);
  if (r.topicAgreement)
    l.push(
      `topics vs product groups (${r.topicAgreement.labelled} tickets): purity ${r.topicAgreement.purity.toFixed(3)}, NMI ${r.topicAgreement.nmi.toFixed(3)}`,
    );
  const f = (x: number | null) => (x === null ? 'n/a' : x.toFixed(4));
  l.push('', '| metric | train | test |', '|---|---:|---:|');
  l.push(`| accuracy | ${f(r.metrics.train.accuracy)} | ${f(r.metrics.test.accuracy)} |`);
  l.push(`| weighted F1 | ${f(r.metrics.train.f1)} | ${f(r.metrics.test.f1)} |`);
  l.push(`| ROC-AUC (ovr, weighted) | ${f(r.metrics.train.rocAuc)} | ${f(r.metrics.test.rocAuc)} |`);
  l.push('', `artifacts: ${r.artifactsDir}; model.json sha256 (without its run id) ${r.modelSha256}`);
  if (r.s3ServerCpuSeconds !== null)
    l.push(`the S3 server used ${r.s3ServerCpuSeconds.toFixed(2)} s of CPU (on this machine's cores)`);
  return l.join('\n');
}

main().catch((err: Error) => {
  process.stderr.write(`bench: ${err.message}\n`);
  process.exit(1);
});
