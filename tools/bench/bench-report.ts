import path from 'node:path';
import { MemoryByRole, ProcessPeak, WorkerTreeNow, WorkerTreePeak } from './process-memory';
import { PROCESS_ROLES, ProcessRole } from './process-roles';
import { MemoryUse, formatMemoryUse } from './machine-memory';

/** What one bench run measured (`--out` writes it as JSON; with --compare-workers, one per worker count). */
export interface BenchRunResult {
  dataset: string;
  scale: number;
  workers: number;
  storage: string;
  s3ServerCpuSeconds: number | null;
  /** model.json without the run id it names, as runs are compared (test/runs/artifacts.ts) */
  modelSha256: string;
  tickets: number;
  records: number;
  dropped: Record<string, number>;
  chunks: number;
  wallSeconds: number;
  /** per stage, its whole span (child jobs included), in flow order */
  stages: Record<string, number>;
  /** per stage, its own job plus its child jobs */
  jobs: Record<string, number>;
  /** per stage that fans out, its child jobs' attempts BullMQ still kept and their summed running seconds */
  childBusy?: Record<string, { jobs: number; seconds: number }>;
  stage1TicketsPerSecond: number;
  peakRssMb: number;
  memoryByRole: MemoryByRole;
  processes: ProcessPeak[];
  /** per worker, its tree's largest resident memory at one moment, largest first */
  workerTrees: WorkerTreePeak[];
  /** with --idle S: per worker, its tree's resident memory after S seconds without a job (null: not asked) */
  idleTrees: WorkerTreeNow[] | null;
  /** CPU seconds the run used (process-cpu.ts): its processes', by role and per stage, and the machine's */
  cpu: RunCpu;
  /** what the whole machine's memory did over the run's wall time (machine-memory.ts; null: no /proc) */
  machineMemory: MemoryUse | null;
  vocabulary: { topicModel: number; classifier: number };
  topics: { name: string; size: number }[];
  topicAgreement: { purity: number; nmi: number; labelled: number } | null;
  metrics: {
    train: { accuracy: number; f1: number; rocAuc: number | null };
    test: { accuracy: number; f1: number; macroF1: number; rocAuc: number | null };
  };
  search: unknown;
  searchPhaseSeconds: number | null;
  /** where the run's artifacts are: null once removed (the bench keeps only the last run's, with --keep) */
  artifactsDir: string | null;
  repeats: { wallSeconds: number; cached: string[] }[];
  /** with --warm: the wall seconds of the unmeasured first run on the fresh workers */
  warmUpSeconds: number | null;
}

export interface RunCpu {
  /** the processes the bench sampled (workers, sandboxes, API, bench, Redis) over the run's wall time */
  seconds: number;
  byRole: Partial<Record<ProcessRole, number>>;
  /** per stage, over its span */
  stages: Record<string, number>;
  /** every process on the machine over the run's wall time, the run's included (null without /proc/stat) */
  machineSeconds: number | null;
  /** what the hypervisor took from this machine's cores meanwhile (/proc/stat's steal) */
  stealSeconds: number | null;
  /** the machine's cores (os.availableParallelism) */
  cores: number;
}

/** Per-process lines printed at most: the largest peaks. */
export const PROCESS_LINES = 12;

/**
 * Jobs per stage: the stage's own job plus the child jobs it fanned out to (a run record's `chunks.total`
 * for any stage that has it; a stage without is one job).
 */
export function stageJobs(
  stages: readonly { stage: string; chunks?: { total: number } }[],
): Record<string, number> {
  return Object.fromEntries(stages.map((s) => [s.stage, 1 + (s.chunks?.total ?? 0)]));
}

/** `base / t` (how many times faster `t` is), or null when either is not a positive time. */
export function speedUp(base: number | undefined, t: number | undefined): number | null {
  return base !== undefined && t !== undefined && base > 0 && t > 0 ? base / t : null;
}

const rounded = (x: number | null) => (x === null ? null : Math.round(x * 1000) / 1000);
const workersLabel = (n: number) => `${n} worker${n === 1 ? '' : 's'}`;
const times = (x: number | null) => (x === null ? '—' : `${x.toFixed(2)}×`);

export type ComparedRun = Pick<
  BenchRunResult,
  | 'workers'
  | 'wallSeconds'
  | 'stages'
  | 'jobs'
  | 'peakRssMb'
  | 'memoryByRole'
  | 'workerTrees'
  | 'modelSha256'
  | 'metrics'
  | 'cpu'
  | 'machineMemory'
>;

/** The comparison's numbers: each count's speed-up over the first, whole flow and per stage. */
export function comparison(runs: readonly ComparedRun[]): {
  workerCounts: number[];
  wallSpeedups: { from: number; to: number; speedUp: number | null }[];
  stageSpeedups: { from: number; to: number; stages: Record<string, number | null> }[];
  modelBytesIdentical: boolean;
} {
  const [first, ...rest] = runs;
  if (!first) throw new Error('no runs to compare');
  return {
    workerCounts: runs.map((r) => r.workers),
    wallSpeedups: rest.map((r) => ({
      from: first.workers,
      to: r.workers,
      speedUp: rounded(speedUp(first.wallSeconds, r.wallSeconds)),
    })),
    stageSpeedups: rest.map((r) => ({
      from: first.workers,
      to: r.workers,
      stages: Object.fromEntries(
        Object.keys(first.stages).map((s) => [s, rounded(speedUp(first.stages[s], r.stages[s]))]),
      ),
    })),
    modelBytesIdentical: runs.every((r) => r.modelSha256 === first.modelSha256),
  };
}

/** The median of `xs` (the mean of the middle two for an even count); null for none. */
export function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Per count after the first, over rounds of the same comparison: each round's speed-up and their median. */
export interface RoundsSpeedup {
  from: number;
  to: number;
  /** per round, the whole flow's speed-up (null where a time was not positive) */
  speedUps: (number | null)[];
  /** per round, the most its CPU seconds allowed on the machine's cores (cpuBound) */
  bounds: (number | null)[];
  median: number | null;
}

/**
 * `--rounds R`: the same comparison run R times in turn (1, 2, 1, 2, … workers). One pair on a shared VM
 * gave anywhere from 1.18× to 1.64× within an hour; the median of interleaved rounds holds better.
 */
export function roundsSummary(rounds: readonly (readonly ComparedRun[])[]): RoundsSpeedup[] {
  const [first] = rounds;
  if (!first || first.length < 2) throw new Error('no rounds of two or more runs to summarise');
  // Each round's speed-ups as its own comparison reports them.
  const compared = rounds.map((round) => comparison(round));
  return first.slice(1).map((r, j) => {
    const speedUps = compared.map((c) => c.wallSpeedups[j]?.speedUp ?? null);
    const bounds = rounds.map((round) => {
      const base = round[0];
      const other = round[j + 1];
      return base && other ? rounded(cpuBound(base.wallSeconds, other.cpu.seconds, other.cpu.cores)) : null;
    });
    return {
      from: first[0]!.workers,
      to: r.workers,
      speedUps,
      bounds,
      median: rounded(median(speedUps.filter((x): x is number => x !== null))),
    };
  });
}

/** The rounds' table: each round's wall times and speed-ups, then the median speed-up per count. */
export function formatRounds(rounds: readonly (readonly ComparedRun[])[]): string {
  const summary = roundsSummary(rounds);
  const counts = rounds[0]!.map((r) => r.workers);
  const l: string[] = [
    `rounds: the same comparison ${rounds.length} times in turn, each run with fresh workers and storage`,
    '',
    `| round | ${counts.map((w) => `${workersLabel(w)}: s`).join(' | ')} | ${summary.map((u) => `${u.from} → ${u.to}`).join(' | ')} | ${summary.map((u) => `${u.from} → ${u.to} allowed by the CPU seconds`).join(' | ')} |`,
    `|---|${counts.map(() => '---:|').join('')}${summary.map(() => '---:|').join('')}${summary.map(() => '---:|').join('')}`,
  ];
  for (const [i, round] of rounds.entries())
    l.push(
      `| ${i + 1} | ${round.map((r) => r.wallSeconds.toFixed(2)).join(' | ')} | ${summary.map((u) => times(u.speedUps[i] ?? null)).join(' | ')} | ${summary.map((u) => times(u.bounds[i] ?? null)).join(' | ')} |`,
    );
  l.push('');
  for (const u of summary)
    l.push(
      `median speed-up, whole flow, ${u.from} → ${workersLabel(u.to)}: ${times(u.median)} over ${rounds.length} rounds (${u.speedUps.map((x) => times(x)).join(', ')})`,
    );
  const all = rounds.flat();
  l.push(
    all.every((r) => r.modelSha256 === all[0]!.modelSha256)
      ? `model bytes identical across all ${all.length} runs: yes`
      : `model bytes identical across all ${all.length} runs: NO`,
  );
  return l.join('\n');
}

/** The side-by-side table of a --compare-workers bench: seconds and jobs per stage, speed-ups, memory. */
export function formatComparison(runs: readonly ComparedRun[]): string {
  const c = comparison(runs);
  const [first, ...rest] = runs;
  const l: string[] = [];
  const stages = [...new Set(runs.flatMap((r) => Object.keys(r.stages)))];
  l.push(
    `| stage | ${runs.map((r) => `${workersLabel(r.workers)}: s | jobs`).join(' | ')} | ${rest.map((r) => `${first!.workers} → ${r.workers}`).join(' | ')} |`,
    `|---|${runs.map(() => '---:|---:|').join('')}${rest.map(() => '---:|').join('')}`,
  );
  for (const s of stages) {
    const cells = runs.map((r) => `${r.stages[s]?.toFixed(2) ?? '—'} | ${r.jobs[s] ?? '—'}`);
    const ups = c.stageSpeedups.map((u) => times(u.stages[s] ?? null));
    l.push(`| ${s} | ${cells.join(' | ')} | ${ups.join(' | ')} |`);
  }
  l.push(
    `| **whole flow** | ${runs.map((r) => `**${r.wallSeconds.toFixed(2)}** | ${Object.values(r.jobs).reduce((a, b) => a + b, 0)}`).join(' | ')} | ${c.wallSpeedups.map((u) => `**${times(u.speedUp)}**`).join(' | ')} |`,
  );
  l.push('', 'speed-up, whole flow (wall):');
  for (const u of c.wallSpeedups) l.push(`  ${u.from} → ${workersLabel(u.to)}: ${times(u.speedUp)}`);

  // The work each run was, and the most its CPU seconds allow on these cores against the first run's wall.
  l.push('', `| CPU, s | ${runs.map((r) => workersLabel(r.workers)).join(' | ')} |`);
  l.push(`|---|${runs.map(() => '---:|').join('')}`);
  for (const s of stages)
    l.push(`| ${s} | ${runs.map((r) => r.cpu.stages[s]?.toFixed(2) ?? '—').join(' | ')} |`);
  l.push(`| **whole flow** | ${runs.map((r) => `**${r.cpu.seconds.toFixed(2)}**`).join(' | ')} |`);
  l.push(
    `| cores busy (of ${first!.cpu.cores}) | ${runs.map((r) => coresBusy(r.cpu.seconds, r.wallSeconds)).join(' | ')} |`,
  );
  l.push('', "speed-up the CPU seconds allow (each run's work spread over every core, nothing waiting):");
  for (const r of rest) {
    const bound = cpuBound(first!.wallSeconds, r.cpu.seconds, r.cpu.cores);
    l.push(
      `  ${first!.workers} → ${workersLabel(r.workers)}: ${r.cpu.seconds.toFixed(2)} CPU s on ${r.cpu.cores} cores take ≥ ${(r.cpu.seconds / r.cpu.cores).toFixed(2)} s: at most ${times(rounded(bound))} (measured ${times(rounded(speedUp(first!.wallSeconds, r.wallSeconds)))})`,
    );
  }
  const outside = runs.filter((r) => r.cpu.machineSeconds !== null);
  if (outside.length > 0)
    l.push(
      `  outside the runs' processes meanwhile: ${outside.map((r) => `${workersLabel(r.workers)} ${Math.max(0, r.cpu.machineSeconds! - r.cpu.seconds).toFixed(2)} s, steal ${r.cpu.stealSeconds?.toFixed(2) ?? '—'} s`).join('; ')}`,
    );

  for (const r of runs) l.push(`  ${workersLabel(r.workers)}: ${formatMemoryUse(r.machineMemory)}`);

  const roles = PROCESS_ROLES.filter((role) => runs.some((r) => r.memoryByRole[role].processes > 0));
  l.push('', `| peak RSS, MB (processes) | ${runs.map((r) => workersLabel(r.workers)).join(' | ')} |`);
  l.push(`|---|${runs.map(() => '---:|').join('')}`);
  l.push(`| **largest process** | ${runs.map((r) => `**${r.peakRssMb.toFixed(1)}**`).join(' | ')} |`);
  for (const role of roles)
    l.push(
      `| ${role} | ${runs
        .map((r) => r.memoryByRole[role])
        .map((m) => (m.processes === 0 ? '—' : `${m.peakRssMb.toFixed(1)} (${m.processes})`))
        .join(' | ')} |`,
    );
  l.push(
    `| a worker with its sandboxes, at one moment | ${runs.map((r) => (r.workerTrees[0] ? `${r.workerTrees[0].peakRssMb.toFixed(1)} (${r.workerTrees[0].processes})` : '—')).join(' | ')} |`,
  );

  const f = (x: number | null) => (x === null ? 'n/a' : x.toFixed(4));
  l.push('', `| test split | ${runs.map((r) => workersLabel(r.workers)).join(' | ')} |`);
  l.push(`|---|${runs.map(() => '---:|').join('')}`);
  l.push(`| accuracy | ${runs.map((r) => f(r.metrics.test.accuracy)).join(' | ')} |`);
  l.push(`| weighted F1 | ${runs.map((r) => f(r.metrics.test.f1)).join(' | ')} |`);

  l.push(
    '',
    c.modelBytesIdentical
      ? `model bytes identical across worker counts: yes (model.json sha256 without its run id and code version: ${first!.modelSha256})`
      : `model bytes identical across worker counts: NO (${runs.map((r) => `${workersLabel(r.workers)} ${r.modelSha256.slice(0, 16)}`).join(', ')})`,
  );
  return l.join('\n');
}

/** `cpu` seconds over `wall` seconds, as cores kept busy on average ('—' without both). */
function coresBusy(cpu: number | undefined, wall: number | undefined): string {
  return cpu !== undefined && wall !== undefined && wall > 0 ? (cpu / wall).toFixed(2) : '—';
}

/** One line: the run's CPU seconds by role, and what else the machine did meanwhile. */
export function formatCpu(r: Pick<BenchRunResult, 'cpu' | 'wallSeconds'>): string {
  const { cpu } = r;
  const roles = PROCESS_ROLES.filter((role) => (cpu.byRole[role] ?? 0) > 0)
    .map((role) => `${role} ${cpu.byRole[role]!.toFixed(2)}`)
    .join(', ');
  const machine =
    cpu.machineSeconds === null
      ? ''
      : `; the whole machine ${cpu.machineSeconds.toFixed(2)} s (${Math.max(0, cpu.machineSeconds - cpu.seconds).toFixed(2)} s outside the run's processes), steal ${cpu.stealSeconds?.toFixed(2) ?? '—'} s`;
  return `CPU: ${cpu.seconds.toFixed(2)} s in the run's processes (${roles || 'none seen'}), ${coresBusy(cpu.seconds, r.wallSeconds)} of ${cpu.cores} cores busy on average${machine}`;
}

/**
 * The most a run of `work` CPU seconds could gain over `baseWall` seconds on `cores` cores: its work
 * spread over every core, nothing waiting (null without a positive time).
 */
export function cpuBound(baseWall: number, work: number, cores: number): number | null {
  return speedUp(baseWall, work / cores);
}

/** Per role, its processes and largest peak; each worker's tree at its largest; then the largest processes one a line. */
export function formatMemory(
  r: Pick<BenchRunResult, 'peakRssMb' | 'memoryByRole' | 'processes' | 'workerTrees'>,
): string[] {
  const l: string[] = [];
  const roles = PROCESS_ROLES.filter((role) => r.memoryByRole[role].processes > 0).map((role) => {
    const m = r.memoryByRole[role];
    return `${role} ${m.peakRssMb.toFixed(1)} MB (${m.processes} process${m.processes === 1 ? '' : 'es'})`;
  });
  l.push(`peak RSS (largest process): ${r.peakRssMb} MB; per role, the largest: ${roles.join(', ')}`);
  if (r.workerTrees.length > 0)
    l.push(
      `a worker with its sandboxes, the most resident memory at one moment (sampled each second): ${r.workerTrees.map((t) => `${t.peakRssMb.toFixed(1)} MB (worker ${t.pid}, ${t.processes} processes)`).join(', ')}`,
    );
  const shown = r.processes.slice(0, PROCESS_LINES);
  for (const p of shown)
    l.push(
      `  ${p.peakRssMb.toFixed(1).padStart(7)} MB  pid ${String(p.pid).padEnd(7)} ${p.role.padEnd(14)} ${p.name}`,
    );
  if (r.processes.length > shown.length)
    l.push(`  … ${r.processes.length - shown.length} more process(es), smaller (all in --out's JSON)`);
  return l;
}

/** One run's report: seconds and jobs per stage, memory, vocabulary, topics, metrics, artifacts. */
export function formatRun(r: BenchRunResult): string {
  const l: string[] = [];
  l.push(
    `dataset ${path.basename(r.dataset)} ×${r.scale}: ${r.records} records, ${r.tickets} tickets, ${r.chunks} chunks, ${workersLabel(r.workers)}`,
  );
  // Child jobs' running seconds against the stage's span × workers: how busy the workers were.
  // CPU seconds of the run's processes over the stage's span: how many cores the stage kept busy.
  l.push(
    '',
    '| stage | seconds | jobs | child jobs running, s | workers busy | CPU, s | cores busy |',
    '|---|---:|---:|---:|---:|---:|---:|',
  );
  for (const [k, v] of Object.entries(r.stages)) {
    const b = r.childBusy?.[k];
    const busy = b && v > 0 ? `${Math.round((100 * b.seconds) / (v * r.workers))} %` : '—';
    const cpu = r.cpu.stages[k];
    l.push(
      `| ${k} | ${v.toFixed(2)} | ${r.jobs[k] ?? '—'} | ${b ? b.seconds.toFixed(2) : '—'} | ${busy} | ${cpu === undefined ? '—' : cpu.toFixed(2)} | ${coresBusy(cpu, v)} |`,
    );
  }
  l.push(
    `| **wall total** | **${r.wallSeconds.toFixed(2)}** | ${Object.values(r.jobs).reduce((a, b) => a + b, 0)} | | | **${r.cpu.seconds.toFixed(2)}** | ${coresBusy(r.cpu.seconds, r.wallSeconds)} |`,
  );
  l.push('', `stage 1: ${r.stage1TicketsPerSecond} tickets/s`);
  l.push(formatCpu(r));
  l.push(formatMemoryUse(r.machineMemory));
  l.push(...formatMemory(r));
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
  l.push('', `model.json sha256 (without its run id and code version) ${r.modelSha256}`);
  if (r.s3ServerCpuSeconds !== null)
    l.push(`the S3 server used ${r.s3ServerCpuSeconds.toFixed(2)} s of CPU (on this machine's cores)`);
  return l.join('\n');
}
