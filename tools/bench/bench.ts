/**
 * npm run bench -- [--data FILE] [--workers N | --compare-workers 1,2 [--rounds R]] [--scale F] [--chunk-size N]
 *                  [--topics K] [--out FILE] [--repeat N] [--warm] [--storage file|s3] [--keep]
 *                  [--timeout-min M]
 *
 * Runs the real flow — a private Redis, N worker processes, artifacts in a folder or in an S3 server on
 * 127.0.0.1 — on a dataset and prints seconds and jobs per stage, wall time, stage-1 throughput, peak RSS
 * per process and role, vocabulary and topic sizes, metrics, and how topics line up with the real product
 * groups (purity, NMI). With --compare-workers, one such run per worker count, side by side, with the
 * speed-ups and whether the model bytes agree.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readLabelMapFile } from '../../shared/core/config/label-map';
import { searchTable } from '../../producers/cli/report';
import { PROJECT_ROOT, resolveConfig } from '../../shared/core/config/config';
import { ensureRedis } from '../../shared/runtime/redis/local-redis';
import { MetricsFile } from '../../shared/pipeline/stages/training/training';
import { parseWorkerCounts, wholeNumber } from './bench-options';
import {
  BenchRunResult,
  comparison,
  formatComparison,
  formatMemory,
  formatRounds,
  formatRun,
  roundsSummary,
} from './bench-report';
import { benchRun, readProductGroups } from './bench-run';
import { scaleDataset } from './scale-dataset';
import { classifyBench } from './classify-bench';
import { formatMachineSpeed, measureMachineSpeed } from './machine-speed';
import { formatNewMemory, measureNewMemory } from './machine-memory';

const DEV = path.resolve(PROJECT_ROOT, '..', 'shared', 'data', 'complaints-dev.json');
const LABELS = path.resolve(PROJECT_ROOT, '..', 'shared', 'data', 'product-labels.tsv');

const HELP = `Usage: npm run bench -- [--data FILE] [--workers N | --compare-workers N,M,… [--rounds R]] [--scale F]
                        [--chunk-size N] [--topics K] [--labels L] [--label-map FILE] [--params JSON]
                        [--out FILE] [--repeat N] [--warm] [--storage file|s3] [--keep]
                        [--timeout-min M] [--idle S]
  --data FILE      dataset (default ../shared/data/complaints-dev.json, else the bundled sample)
  --workers N      worker processes (default 2)
  --compare-workers N,M,…
                   instead of --workers: one run per worker count, in turn, on the same (scaled) dataset,
                   each with a fresh worker pool and fresh storage; prints seconds and jobs per stage side
                   by side, each count's speed-up over the first, peak RSS per process role, and whether
                   model.json's bytes are the same for every count
  --rounds R       with --compare-workers: run the counts R times in turn (1, 2, 1, 2, …; default 1) and
                   print each round's wall times and speed-ups and the median speed-up: on a shared VM one
                   pair's speed-up moves a lot from one pair to the next
  --scale F        repeat the data F times with distinct ids (default 1; 10 writes ~250 MB to the scratch
                   folder, removed at the end)
  --chunk-size N   tickets per text-processing chunk (default from config: 2000)
  --topics K       NMF topics (default 3)
  --labels L       "topics" (default) or "category": learn the tickets' products, with --label-map
  --label-map FILE raw product → class TSV for --labels category (default ../shared/data/product-labels.tsv)
  --params JSON    other pipeline parameters, e.g. '{"searchC": [3, 10]}'
  --out FILE       also write the results as JSON (with --compare-workers: every run and the comparison)
  --classify       instead: train on the dataset, promote the model, then time online POST /classify
                   (--rate N per second, default 200, for --duration S, default 30) and batch classification
  --warm           measure a run on workers that have already run one: each worker pool first runs the
                   same run unmeasured (its time printed apart), then the measured one; both with
                   "cache": false, so every stage computes (as do --repeat's runs then)
  --repeat N       then submit the same run N more times on the warm workers (stage-cache hits) and time each
  --idle S         after the run (and its repeats), leave the workers idle S seconds, then report each
                   worker's resident memory with its sandboxes: what a worker holds between runs
  --timeout-min M  stop a run still going after M minutes, as failed (default 360: category labels'
                   default grid at 100× the dev data takes over an hour on 2 workers)
  --storage S      "file" (default): artifacts in a folder; "s3": in an S3 server (s3rver, a process of
                   its own) on 127.0.0.1, nothing shared on disk with the workers
  --keep           keep the last run's artifacts (printed at the end); without it the bench removes
                   everything it wrote (scaled dataset, storage, Redis files)

Runs are submitted over HTTP to the API, started as its own process behind a token, as users submit
theirs; the wall time runs from that POST /runs until the bench sees the run final. Jobs per stage: the
stage's job and the child jobs it fanned out to. Peak RSS: VmHWM of every process in the bench's process
tree, by role: worker, sandbox (a worker's BullMQ child process), api, bench (it reads the run's record
while it waits), s3 server, redis-server.
`;

async function main(): Promise<void> {
  if (process.argv.includes('--classify')) return classifyBench(process.argv.slice(2));
  const { values } = parseArgs({
    options: {
      data: { type: 'string' },
      workers: { type: 'string' },
      'compare-workers': { type: 'string' },
      rounds: { type: 'string', default: '1' },
      scale: { type: 'string', default: '1' },
      'chunk-size': { type: 'string' },
      topics: { type: 'string' },
      labels: { type: 'string' },
      'label-map': { type: 'string' },
      params: { type: 'string' },
      out: { type: 'string' },
      repeat: { type: 'string', default: '0' },
      'timeout-min': { type: 'string', default: '360' },
      idle: { type: 'string', default: '0' },
      warm: { type: 'boolean' },
      storage: { type: 'string', default: 'file' },
      keep: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return;
  }
  if (values.workers !== undefined && values['compare-workers'] !== undefined)
    throw new Error('give --workers N or --compare-workers N,M,…, not both');
  const compare = values['compare-workers'] !== undefined;
  const counts = compare
    ? parseWorkerCounts(values['compare-workers']!)
    : [wholeNumber('--workers', values.workers ?? '2', 1)];
  const scale = wholeNumber('--scale', values.scale, 1);
  const rounds = wholeNumber('--rounds', values.rounds, 1);
  if (rounds > 1 && !compare) throw new Error('--rounds R needs --compare-workers N,M,…');
  // The worker counts in the order they run: every round runs them all, in turn.
  const sequence = Array.from({ length: rounds }, () => counts).flat();
  const repeat = values.repeat === '' ? 1 : wholeNumber('--repeat', values.repeat, 0);
  const timeoutMs = wholeNumber('--timeout-min', values['timeout-min'], 1) * 60_000;
  const idleSeconds = wholeNumber('--idle', values.idle, 0);
  const storage = values.storage;
  if (storage !== 'file' && storage !== 's3')
    throw new Error(`--storage must be "file" or "s3", got "${values.storage}"`);
  const params: Record<string, unknown> = {};
  if (values['chunk-size']) params.chunkSize = wholeNumber('--chunk-size', values['chunk-size'], 1);
  if (values.topics) params.topics = wholeNumber('--topics', values.topics, 1);
  if (values.params) {
    try {
      Object.assign(params, JSON.parse(values.params) as Record<string, unknown>);
    } catch (err) {
      throw new Error(`--params must be a JSON object: ${(err as Error).message}`);
    }
  }
  if (values.labels) params.labels = values.labels;
  if (params.labels === 'category' && params.labelMap === undefined) {
    const map = values['label-map'] ?? path.join(path.dirname(DEV), 'product-labels.tsv');
    params.labelMap = await readLabelMapFile(map);
  }
  const source = path.resolve(
    values.data ??
      (fs.existsSync(DEV) ? DEV : path.join(PROJECT_ROOT, 'shared', 'sample', 'complaints-sample.json')),
  );

  const interrupted = new Promise<never>((_, reject) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const)
      process.once(signal, () =>
        reject(new Error(`interrupted (${signal}): stopped the workers, removed scratch`)),
      );
    // A reader that goes away (`| head`) ends the bench the same way, not with the workers left running.
    for (const stream of [process.stdout, process.stderr])
      stream.on('error', (err) =>
        reject(new Error(`interrupted (${err.message}): stopped the workers, removed scratch`)),
      );
  });
  interrupted.catch(() => undefined);

  const speedBefore = measureMachineSpeed();
  const newMemoryBefore = measureNewMemory();
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'ticketflow-bench-'));
  const results: BenchRunResult[] = [];
  let kept: string | null = null;
  try {
    let dataset = source;
    if (scale > 1) {
      dataset = path.join(scratch, 'data', `scaled-x${scale}.jsonl`);
      fs.mkdirSync(path.dirname(dataset));
      const n = await Promise.race([scaleDataset(source, scale, dataset), interrupted]);
      process.stderr.write(`bench: wrote ${n} tickets (${scale}× ${path.basename(source)}) to ${dataset}\n`);
    }
    const base = resolveConfig({
      ...process.env,
      TICKETFLOW_REDIS_DIR: path.join(scratch, 'redis'),
      REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:1', // never reuse a running deployment's workers
    });
    const redis = await ensureRedis({ url: base.redisUrl, dir: base.redisDir, mode: 'private' });
    try {
      const productGroups = readProductGroups(LABELS);
      for (const [i, workers] of sequence.entries()) {
        const last = i === sequence.length - 1;
        const dir = path.join(scratch, `run-${i + 1}-${workers}w`);
        if (compare)
          process.stderr.write(`bench: run ${i + 1} of ${sequence.length}: ${workers} worker(s)\n`);
        try {
          results.push(
            await benchRun({
              source,
              dataset,
              scale,
              workers,
              params,
              repeat,
              timeoutMs,
              idleSeconds,
              warm: values.warm === true,
              storage,
              dir,
              queuePrefix: `bench-${process.pid}-${i + 1}`,
              redisUrl: redis.url,
              productGroups,
              interrupted,
            }),
          );
        } finally {
          // Only the last run's artifacts are kept (--keep): a scale-10 run's storage is hundreds of MB.
          if (values.keep && last) kept = dir;
          else {
            fs.rmSync(dir, { recursive: true, force: true });
            if (results[i]) results[i]!.artifactsDir = null;
          }
        }
      }
    } finally {
      await redis.stop();
    }
  } finally {
    for (const entry of fs.readdirSync(scratch))
      if (kept === null || path.join(scratch, entry) !== kept)
        fs.rmSync(path.join(scratch, entry), { recursive: true, force: true });
    if (kept === null) fs.rmSync(scratch, { recursive: true, force: true });
    else if (results.length < sequence.length)
      process.stderr.write(
        `bench: the failed run's storage is kept in ${kept} (remove ${scratch} when done)\n`,
      );
  }

  const speedAfter = measureMachineSpeed();
  const newMemoryAfter = measureNewMemory();
  const machine = {
    cpus: os.availableParallelism(),
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.type()} ${os.release()}`,
    speedMs: { before: speedBefore, after: speedAfter },
    newMemoryMs: { before: newMemoryBefore, after: newMemoryAfter },
  };
  const lastRun = results[results.length - 1]!;
  // Each round's runs, one per worker count in the order given.
  const byRound = Array.from({ length: rounds }, (_, r) =>
    results.slice(r * counts.length, (r + 1) * counts.length),
  );
  if (compare) {
    const r0 = results[0]!;
    process.stdout.write(
      `dataset ${path.basename(source)} ×${scale}: ${r0.records} records, ${r0.tickets} tickets, ${r0.chunks} chunks; ` +
        `one run per worker count (${counts.join(', ')})${rounds > 1 ? `, ${rounds} rounds in turn` : ''}, each with fresh workers and storage\n`,
    );
    for (const [r, round] of byRound.entries())
      process.stdout.write(
        `\n${rounds > 1 ? `round ${r + 1} of ${rounds}:\n\n` : ''}${formatComparison(round)}\n`,
      );
    for (const r of byRound[rounds - 1]!)
      process.stdout.write(`\nprocesses, ${r.workers} worker(s):\n${formatMemory(r).join('\n')}\n`);
    if (rounds > 1) process.stdout.write(`\n${formatRounds(byRound)}\n`);
  } else {
    process.stdout.write(formatRun(lastRun) + '\n');
    printSearch(lastRun, params);
  }
  for (const r of results)
    if (r.warmUpSeconds !== null)
      process.stdout.write(
        `warm-up run${compare ? ` (${r.workers} worker(s))` : ''}, before the measured one on the same fresh workers: ${r.warmUpSeconds.toFixed(3)} s wall\n`,
      );
  for (const r of results)
    if (r.idleTrees !== null)
      process.stdout.write(
        `after ${idleSeconds} s idle${compare ? ` (${r.workers} worker(s))` : ''}, a worker with its sandboxes holds: ${r.idleTrees.map((t) => `${t.rssMb.toFixed(1)} MB (worker ${t.pid}, ${t.processes} processes)`).join(', ')}\n`,
      );
  for (const r of results)
    for (const [i, rep] of r.repeats.entries())
      process.stdout.write(
        `repeat ${i + 1}${compare ? ` (${r.workers} worker(s))` : ''}: ${rep.wallSeconds.toFixed(3)} s wall, cached: ${rep.cached.join(', ') || 'none'}\n`,
      );
  process.stdout.write(`${formatMachineSpeed(speedBefore, speedAfter)}\n`);
  process.stdout.write(`${formatNewMemory(newMemoryBefore, newMemoryAfter)}\n`);
  process.stdout.write(
    kept
      ? `artifacts of the last run kept: ${lastRun.artifactsDir} (remove ${scratch} when done)\n`
      : `scratch folder ${scratch} removed (--keep keeps the last run's artifacts)\n`,
  );
  if (values.out) {
    const json = compare
      ? {
          ...comparison(byRound[0]!),
          ...(rounds > 1
            ? { rounds: byRound.map((round) => comparison(round)), roundsSpeedups: roundsSummary(byRound) }
            : {}),
          runs: results,
          machine,
        }
      : { ...lastRun, machine };
    fs.writeFileSync(values.out, JSON.stringify(json, null, 2) + '\n');
  }
}

function printSearch(r: BenchRunResult, params: Record<string, unknown>): void {
  const search = r.search as MetricsFile['search'];
  if (!search) return;
  process.stdout.write(
    `labels ${String(params.labels ?? 'topics')}: test accuracy ${r.metrics.test.accuracy.toFixed(4)}, macro-F1 ${r.metrics.test.macroF1.toFixed(4)}\n` +
      searchTable(search).join('\n') +
      `\nsearch phase (training job start → refit start): ${r.searchPhaseSeconds?.toFixed(2)} s wall\n`,
  );
}

main().catch((err: Error) => {
  process.stderr.write(`bench: ${err.message}\n`);
  process.exit(1);
});
