import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { resolveConfig } from '../../shared/core/config/config';
import { readCsv } from '../../shared/core/io/read-csv';
import { runKey, runPrefix } from '../../shared/core/storage';
import { openStore } from '../../shared/core/store/open-store';
import { ARTIFACTS } from '../../shared/pipeline/stages/context';
import { FeatureExtractionResult } from '../../shared/pipeline/stages/feature-extraction/feature-extraction';
import { TransformSplitResult } from '../../shared/pipeline/stages/transform-split/transform-split';
import { createConnection } from '../../shared/runtime/flow/connection';
import { closeRunsContext, openRunsContext } from '../../shared/runtime/runs/context';
import { RunRecord } from '../../shared/runtime/runs/record';
import { runTimeline } from '../../shared/runtime/runs/timeline';
import { spawnWorkers } from '../../producers/cli/self-contained';
import { comparableBytes } from '../../test/runs/artifacts';
import { BenchRunResult, stageJobs } from './bench-report';
import { nmi, purity } from './cluster-agreement';
import { ProcessSampler, resetPeaks } from './process-memory';
import { ProcessRole } from './process-roles';
import { CpuUse, cpuBetween } from './process-cpu';
import { MemoryCounters, memoryBetween, memoryCounters } from './machine-memory';
import { startS3Server } from './s3-server-process';
import { waitForFinal } from './wait-final';
import { BenchApi, startBenchApi } from './bench-api';

/**
 * How often, at least, the bench reads the run's record while it waits. It reads it as soon as a worker
 * writes it (waitForFinal), so the wall time it reports ends when it saw the final record, a Redis
 * message and a file read after the worker wrote it; this only bounds a wait for a missed message.
 */
const WALL_POLL_MS = 250;

export interface BenchRunOptions {
  /** the dataset as given (reported), and the file the run reads (the scaled copy with --scale) */
  source: string;
  dataset: string;
  scale: number;
  workers: number;
  params: Record<string, unknown>;
  repeat: number;
  /** seconds the workers stay idle after the runs before their memory is read (idleTrees); 0: none */
  idleSeconds: number;
  /** how long the bench waits for each run to end before it stops it as failed */
  timeoutMs: number;
  /**
   * Measure a run on workers that have already served one: first the same run with `cache: false`,
   * timed apart (`warmUpSeconds`), then the measured one, also with `cache: false`.
   */
  warm: boolean;
  storage: 'file' | 's3';
  /** this run's own folder: its storage (and S3 server's objects) and nothing else */
  dir: string;
  /** this run's queue prefix: distinct per run, so runs on the same Redis share no job */
  queuePrefix: string;
  redisUrl: string;
  /** raw product → product group, which the topics are scored against (null: no such map) */
  productGroups: Map<string, string> | null;
  /** rejects when the bench is interrupted: the run stops waiting and cleans up */
  interrupted: Promise<never>;
}

/**
 * One measured run: a fresh worker pool of `workers` processes and fresh storage in `dir`, on the given
 * Redis; the bench's own process tree sampled for peak RSS throughout (its earlier peaks reset first).
 * Throws when the run does not complete.
 */
export async function benchRun(o: BenchRunOptions): Promise<BenchRunResult> {
  const s3 = o.storage === 's3' ? await startS3Server(path.join(o.dir, 's3')) : null;
  try {
    const config = resolveConfig({
      ...process.env,
      ...s3?.env('bench'),
      TICKETFLOW_STORAGE_DIR: path.join(o.dir, 'storage'),
      TICKETFLOW_QUEUE_PREFIX: o.queuePrefix,
      // Workers read datasets only inside their data root: the dataset's own folder.
      TICKETFLOW_DATA_DIR: path.dirname(o.dataset),
      REDIS_URL: o.redisUrl,
    });
    const connection = createConnection(o.redisUrl);
    const runs = openRunsContext(config, connection);
    let status: RunRecord;
    const repeats: BenchRunResult['repeats'] = [];
    let idleTrees: BenchRunResult['idleTrees'] = null;
    let sampler: ProcessSampler;
    let t0: number;
    /** when the bench saw the measured run final: its wall time ends there, not after the tear-down */
    let seenFinal: number;
    /** the same two instants as Date.now() times, the clock of the CPU samples and the run's record */
    let window: { from: number; to: number };
    /** the machine's memory counters at the same two instants */
    let counters: { from: MemoryCounters | null; to: MemoryCounters | null };
    let warmUpSeconds: number | null = null;
    let busy: Record<string, { jobs: number; seconds: number }> = {};
    try {
      // The bench and a Redis it started outlive each run: their peaks so far belong to earlier work (and
      // the bench's heap to the previous run's report, until collected).
      collectGarbage();
      resetPeaks([process.pid]);
      const pool = await spawnWorkers(config, runs.queues, o.redisUrl, o.workers, 'warn', s3?.env('bench'));
      // Runs go through the API, as users submit theirs: its hashing of the dataset, its Redis writes and
      // its memory are the run's too.
      let api: BenchApi;
      try {
        api = await startBenchApi(
          { redisUrl: o.redisUrl, storageDir: config.storageDir, queuePrefix: o.queuePrefix },
          { ...s3?.env('bench'), TICKETFLOW_DATA_DIR: config.dataDir },
        );
      } catch (err) {
        await pool.stop();
        throw err;
      }
      const roles = new Map<number, ProcessRole>([
        [process.pid, 'bench'],
        [api.pid, 'api'],
      ]);
      for (const pid of pool.pids) roles.set(pid, 'worker');
      if (s3) roles.set(s3.pid, 's3 server');
      sampler = new ProcessSampler(
        () => [process.pid],
        (pid) => roles.get(pid),
      );
      const params = o.warm ? { ...o.params, cache: false } : o.params;
      // A run of the dataset and parameters (the measured one, a warm-up's, a repeat), submitted through the
      // API and waited for to its end (or the bench's interruption).
      const submitAndWait = () =>
        untilInterrupted(
          api
            .submit(path.basename(o.dataset), params)
            .then((id) =>
              waitForFinal(runs, id, o.timeoutMs, WALL_POLL_MS, (line) =>
                process.stderr.write(`bench: ${line}\n`),
              ),
            ),
          o.interrupted,
        );
      try {
        if (o.warm) {
          // Every sandbox has run its code once (loaded, compiled hot) — as on workers that serve run after
          // run; its memory peaks are not the measured run's.
          const w0 = performance.now();
          const warmUp = await submitAndWait();
          if (warmUp.state !== 'completed') throw new Error(`warm-up run ${warmUp.id} ${warmUp.state}`);
          warmUpSeconds = round((performance.now() - w0) / 1000);
          collectGarbage();
          resetPeaks([process.pid, ...pool.pids]);
        }
        sampler.start();
        t0 = performance.now();
        const from = Date.now();
        const countersFrom = memoryCounters();
        status = await submitAndWait();
        seenFinal = performance.now();
        window = { from, to: Date.now() };
        counters = { from: countersFrom, to: memoryCounters() };
        // --repeat N: the same run again on the now warm workers; every stage is a stage-cache hit (with
        // --warm, whose runs skip the cache, every stage computes).
        for (let i = 0; i < o.repeat && status.state === 'completed'; i++) {
          const r0 = performance.now();
          const again = await submitAndWait();
          repeats.push({
            wallSeconds: round((performance.now() - r0) / 1000),
            cached: again.stages.filter((s) => s.cached).map((s) => s.stage),
          });
          if (again.state !== 'completed') throw new Error(`repeated run ${again.id} ${again.state}`);
        }
        busy = await childBusySeconds(runs, status);
        if (o.idleSeconds > 0) {
          await untilInterrupted(new Promise((r) => setTimeout(r, o.idleSeconds * 1000)), o.interrupted);
          idleTrees = sampler.workerTreesNow();
        }
      } finally {
        sampler.stop();
        await api.stop();
        await pool.stop();
      }
    } finally {
      await closeRunsContext(runs);
      connection.disconnect();
    }
    const wallSeconds = (seenFinal - t0) / 1000;
    if (status.state !== 'completed')
      throw new Error(
        `run ${status.id} with ${o.workers} worker(s) ${status.state}` +
          (status.error ? ` in ${status.error.stage}: ${status.error.message}` : ''),
      );
    const s3CpuSeconds = s3?.cpuSeconds() ?? null;
    // The artifacts the report reads, through the store (the same bytes on either backend).
    const store = openStore(config.storage);
    let agreement: Awaited<ReturnType<typeof topicAgreement>>;
    let model: Buffer;
    let artifactsDir: string;
    try {
      artifactsDir = store.locate(runPrefix(status.id));
      const topicsKey = runKey(status.id, ARTIFACTS.ticketsTopics);
      agreement = o.productGroups
        ? await topicAgreement(await store.openRead(topicsKey), store.locate(topicsKey), o.productGroups)
        : null;
      model = await store.get(runKey(status.id, ARTIFACTS.model));
    } finally {
      await store.close();
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
    const cpu = runCpu(sampler.cpuUse(), window, status);
    const m = status.metrics!;
    return {
      dataset: o.source,
      scale: o.scale,
      workers: o.workers,
      storage: config.storage.kind === 'file' ? config.storage.root : `s3 (s3rver on ${s3!.endpoint})`,
      s3ServerCpuSeconds: s3CpuSeconds,
      modelSha256: createHash('sha256').update(comparableBytes(ARTIFACTS.model, model)).digest('hex'),
      tickets: text.rows,
      records: text.stats.read,
      dropped: text.stats.dropped,
      chunks: text.chunks,
      wallSeconds: round(wallSeconds),
      stages,
      jobs: stageJobs(status.stages),
      childBusy: busy,
      stage1TicketsPerSecond: Math.round(text.rows / (stages['text-processing'] || 1)),
      peakRssMb: memory.peakRssMb,
      memoryByRole: memory.byRole,
      cpu,
      machineMemory: memoryBetween(counters.from, counters.to),
      processes: memory.processes,
      workerTrees: memory.workerTrees,
      idleTrees,
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
      warmUpSeconds,
    };
  } finally {
    await s3?.close();
  }
}

/**
 * The measured run's CPU seconds (from its submission to the bench seeing it final): of the processes
 * the bench sampled (workers, their sandboxes, the API, the bench, Redis), in all, by role and per stage
 * (over each stage's span in the run's record), and of the whole machine.
 */
function runCpu(use: CpuUse, window: { from: number; to: number }, record: RunRecord): BenchRunResult['cpu'] {
  const stages: Record<string, number> = {};
  for (const s of record.stages) {
    if (s.startedAt === null || s.finishedAt === null) continue;
    stages[s.stage] = round(cpuBetween(use.points, Date.parse(s.startedAt), Date.parse(s.finishedAt)));
  }
  const byRole = Object.fromEntries(
    Object.keys(use.byRole).map((r) => [
      r,
      round(cpuBetween(use.points, window.from, window.to, { role: r as ProcessRole })),
    ]),
  );
  return {
    seconds: round(cpuBetween(use.points, window.from, window.to)),
    byRole,
    stages,
    machineSeconds:
      use.machineSeconds === null ? null : round(cpuBetween(use.points, window.from, window.to, 'machine')),
    stealSeconds:
      use.stealSeconds === null ? null : round(cpuBetween(use.points, window.from, window.to, 'steal')),
    cores: os.availableParallelism(),
  };
}

/**
 * Per stage, its child jobs' attempts (those BullMQ still keeps: TICKETFLOW_JOB_RETENTION_COUNT) and the
 * seconds they spent running, summed: set against the stage's wall time × workers, what is left is
 * waiting — job round trips, the stage job's own work between rounds, idle workers.
 */
async function childBusySeconds(
  runs: Parameters<typeof runTimeline>[0],
  record: RunRecord,
): Promise<Record<string, { jobs: number; seconds: number }>> {
  const out: Record<string, { jobs: number; seconds: number }> = {};
  const timeline = await runTimeline(runs, record);
  if (process.env.BENCH_TIMELINE) fs.writeFileSync(process.env.BENCH_TIMELINE, JSON.stringify(timeline));
  for (const e of timeline) {
    if (e.queue === e.stage || e.finishedAt === null) continue;
    const s = (out[e.stage] ??= { jobs: 0, seconds: 0 });
    s.jobs++;
    s.seconds += (Date.parse(e.finishedAt) - Date.parse(e.startedAt)) / 1000;
  }
  for (const s of Object.values(out)) s.seconds = round(s.seconds);
  return out;
}

/**
 * A full garbage collection of this process, which Node runs on its own only under pressure: without it the
 * bench's peak for a run would start from the garbage of the one before.
 */
function collectGarbage(): void {
  v8.setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
}

/** `work`, unless `interrupted` rejects first; a rejection of `work` after that is nobody's concern. */
function untilInterrupted<T>(work: Promise<T>, interrupted: Promise<never>): Promise<T> {
  work.catch(() => undefined);
  return Promise.race([work, interrupted]);
}

/** Raw product → product group, from a TSV with a header line (null when there is no such file). */
export function readProductGroups(file: string): Map<string, string> | null {
  if (!fs.existsSync(file)) return null;
  const map = new Map<string, string>();
  for (const line of fs.readFileSync(file, 'utf8').split('\n').slice(1)) {
    const [raw, group] = line.split('\t');
    if (raw && group) map.set(raw, group);
  }
  return map;
}

async function topicAgreement(
  csv: Readable,
  name: string,
  groups: Map<string, string>,
): Promise<{ purity: number; nmi: number; labelled: number } | null> {
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

export const round = (x: number) => Math.round(x * 1000) / 1000;
