import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseWorkerCounts, wholeNumber } from '../../tools/bench/bench-options';
import {
  ComparedRun,
  comparison,
  cpuBound,
  formatComparison,
  formatCpu,
  formatRounds,
  median,
  roundsSummary,
  stageJobs,
} from '../../tools/bench/bench-report';
import { memoryByRole } from '../../tools/bench/process-memory';

describe('bench options', () => {
  it('reads --compare-workers as the worker counts in the order given', () => {
    assert.deepEqual(parseWorkerCounts('1,2'), [1, 2]);
    assert.deepEqual(parseWorkerCounts(' 3, 1 ,2'), [3, 1, 2]);
    assert.deepEqual(parseWorkerCounts('1,1'), [1, 1]);
  });

  it('refuses counts that are not whole numbers ≥ 1, naming the flag and each bad entry', () => {
    assert.throws(() => parseWorkerCounts('0,x'), /--compare-workers .*got "0,x".*"0", "x"/);
    assert.throws(() => parseWorkerCounts('1,1.5'), /--compare-workers .*"1\.5"/);
    assert.throws(() => parseWorkerCounts('1,,2'), /--compare-workers .*an empty entry/);
    assert.throws(() => parseWorkerCounts('-1,2'), /--compare-workers .*"-1"/);
    assert.throws(() => parseWorkerCounts('2'), /--compare-workers needs at least two worker counts/);
  });

  it('reads a whole-number flag, naming the flag when the value is not one', () => {
    assert.equal(wholeNumber('--scale', '10', 1), 10);
    assert.equal(wholeNumber('--repeat', '0', 0), 0);
    assert.throws(() => wholeNumber('--scale', '1.5', 1), /--scale must be a whole number ≥ 1, got "1\.5"/);
    assert.throws(() => wholeNumber('--workers', '0', 1), /--workers must be a whole number ≥ 1, got "0"/);
    assert.throws(() => wholeNumber('--scale', '1e3', 1), /--scale/);
    assert.throws(() => wholeNumber('--scale', '', 1), /--scale/);
  });
});

describe('bench report', () => {
  it("counts a stage's own job plus the child jobs of any stage that fanned out", () => {
    const jobs = stageJobs([
      { stage: 'text-processing', chunks: { total: 8 } },
      { stage: 'feature-extraction', chunks: { total: 4 } },
      { stage: 'transform-split' },
      { stage: 'training', chunks: { total: 4 } },
    ]);
    assert.deepEqual(jobs, {
      'text-processing': 9,
      'feature-extraction': 5,
      'transform-split': 1,
      training: 5,
    });
  });

  const role = (processes: number, peakRssMb: number) => ({ processes, peakRssMb });
  const run = (
    workers: number,
    wallSeconds: number,
    stage1: number,
    sha = 'a'.repeat(64),
    cpuSeconds = 1.2 * wallSeconds,
  ): ComparedRun => ({
    workers,
    wallSeconds,
    stages: { 'text-processing': stage1, training: 0 },
    jobs: { 'text-processing': 9, training: 5 },
    peakRssMb: 300,
    memoryByRole: {
      worker: role(workers, 120),
      sandbox: role(5 * workers, 300),
      api: role(1, 110),
      bench: role(1, 140),
      's3 server': role(0, 0),
      'redis-server': role(1, 14),
      other: role(0, 0),
    },
    workerTrees: Array.from({ length: workers }, (_, i) => ({
      pid: 100 + i,
      peakRssMb: 900 - i,
      processes: 6,
    })),
    modelSha256: sha,
    metrics: {
      train: { accuracy: 0.98, f1: 0.98, rocAuc: 1 },
      test: { accuracy: 0.963, f1: 0.96, macroF1: 0.95, rocAuc: 1 },
    },
    cpu: {
      seconds: cpuSeconds,
      byRole: { sandbox: cpuSeconds - 1, worker: 1 },
      stages: { 'text-processing': 0.9 * cpuSeconds, training: 0.1 * cpuSeconds },
      machineSeconds: cpuSeconds + 0.5,
      stealSeconds: 0,
      cores: 2,
    },
    machineMemory: { pageCacheWrittenMb: 100 * workers, allocatedMb: 400 * workers, faults: 1000 * workers },
  });

  it('gives each count its speed-up over the first, whole flow and per stage', () => {
    const c = comparison([run(1, 20, 8), run(2, 12.5, 4), run(3, 10, 2)]);
    assert.deepEqual(c.workerCounts, [1, 2, 3]);
    assert.deepEqual(
      c.wallSpeedups.map((u) => [u.from, u.to, u.speedUp]),
      [
        [1, 2, 1.6],
        [1, 3, 2],
      ],
    );
    // A stage that took no time (a cache hit) has no speed-up.
    assert.deepEqual(c.stageSpeedups[0]!.stages, { 'text-processing': 2, training: null });
    assert.equal(c.modelBytesIdentical, true);
  });

  it('says whether model.json has the same bytes for every worker count', () => {
    const differ = [run(1, 20, 8), run(2, 12.5, 4, 'b'.repeat(64))];
    assert.equal(comparison(differ).modelBytesIdentical, false);
    assert.match(
      formatComparison(differ),
      /model bytes identical across worker counts: NO \(1 worker a{16}, 2 workers b{16}\)/,
    );
    assert.match(
      formatComparison([run(1, 20, 8), run(2, 12.5, 4)]),
      /model bytes identical across worker counts: yes/,
    );
  });

  it('prints seconds and jobs side by side, the speed-ups, and memory for the roles seen', () => {
    const text = formatComparison([run(1, 20, 8), run(2, 12.5, 4)]);
    assert.match(text, /^\| stage \| 1 worker: s \| jobs \| 2 workers: s \| jobs \| 1 → 2 \|$/m);
    assert.match(text, /^\| text-processing \| 8\.00 \| 9 \| 4\.00 \| 9 \| 2\.00× \|$/m);
    assert.match(text, /^\| training \| 0\.00 \| 5 \| 0\.00 \| 5 \| — \|$/m);
    assert.match(
      text,
      /^\| \*\*whole flow\*\* \| \*\*20\.00\*\* \| 14 \| \*\*12\.50\*\* \| 14 \| \*\*1\.60×\*\* \|$/m,
    );
    assert.match(text, /^ {2}1 → 2 workers: 1\.60×$/m);
    assert.match(text, /^\| sandbox \| 300\.0 \(5\) \| 300\.0 \(10\) \|$/m);
    assert.match(text, /^\| a worker with its sandboxes, at one moment \| 900\.0 \(6\) \| 900\.0 \(6\) \|$/m);
    assert.match(text, /^\| api \| 110\.0 \(1\) \| 110\.0 \(1\) \|$/m);
    assert.doesNotMatch(text, /s3 server/);
  });

  it("prints each run's CPU seconds per stage and the speed-up they allow on the machine's cores", () => {
    // 1 worker: 20 s wall, 24 CPU s (1.20 cores); 2 workers: 26 CPU s on 2 cores need ≥ 13 s: ≤ 1.54×.
    const text = formatComparison([run(1, 20, 8, 'a'.repeat(64), 24), run(2, 14, 4, 'a'.repeat(64), 26)]);
    assert.match(text, /^\| CPU, s \| 1 worker \| 2 workers \|$/m);
    assert.match(text, /^\| text-processing \| 21\.60 \| 23\.40 \|$/m);
    assert.match(text, /^\| \*\*whole flow\*\* \| \*\*24\.00\*\* \| \*\*26\.00\*\* \|$/m);
    assert.match(text, /^\| cores busy \(of 2\) \| 1\.20 \| 1\.86 \|$/m);
    assert.match(
      text,
      /^ {2}1 → 2 workers: 26\.00 CPU s on 2 cores take ≥ 13\.00 s: at most 1\.54× \(measured 1\.43×\)$/m,
    );
    assert.match(
      text,
      /outside the runs' processes meanwhile: 1 worker 0\.50 s, steal 0\.00 s; 2 workers 0\.50 s/,
    );
    // What each run asked of the machine's memory, one line per run.
    assert.match(
      text,
      /^ {2}2 workers: the machine's memory meanwhile: 200 MB written to the page cache, 800 MB of pages allocated, 2000 page faults$/m,
    );
    assert.match(
      formatComparison([run(1, 20, 8), { ...run(2, 14, 4), machineMemory: null }]),
      /^ {2}2 workers: the machine's memory meanwhile: not measured \(no \/proc\/vmstat\)$/m,
    );
    assert.equal(cpuBound(20, 26, 2)?.toFixed(4), (20 / 13).toFixed(4));
    assert.equal(cpuBound(20, 0, 2), null);
  });

  it('sums up rounds of the same comparison: each round, and the median speed-up over them', () => {
    assert.equal(median([]), null);
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    // Three rounds of 1 and 2 workers: 1.25×, 1.6×, 2× (2 workers' CPU seconds 24 on 2 cores: ≥ 12 s).
    const rounds = [
      [run(1, 20, 8), run(2, 16, 4, 'a'.repeat(64), 24)],
      [run(1, 24, 8), run(2, 15, 4, 'a'.repeat(64), 24)],
      [run(1, 30, 8), run(2, 15, 4, 'a'.repeat(64), 24)],
    ];
    const [u] = roundsSummary(rounds);
    assert.deepEqual(u, { from: 1, to: 2, speedUps: [1.25, 1.6, 2], bounds: [1.667, 2, 2.5], median: 1.6 });
    const text = formatRounds(rounds);
    assert.match(
      text,
      /^\| round \| 1 worker: s \| 2 workers: s \| 1 → 2 \| 1 → 2 allowed by the CPU seconds \|$/m,
    );
    assert.match(text, /^\| 2 \| 24\.00 \| 15\.00 \| 1\.60× \| 2\.00× \|$/m);
    assert.match(
      text,
      /^median speed-up, whole flow, 1 → 2 workers: 1\.60× over 3 rounds \(1\.25×, 1\.60×, 2\.00×\)$/m,
    );
    assert.match(text, /^model bytes identical across all 6 runs: yes$/m);
    const differ = [rounds[0]!, [run(1, 20, 8), run(2, 16, 4, 'b'.repeat(64))]];
    assert.match(formatRounds(differ), /^model bytes identical across all 4 runs: NO$/m);
    assert.throws(() => roundsSummary([[run(1, 20, 8)]]), /no rounds of two or more runs/);
  });

  it("prints one run's CPU seconds by role and what else the machine did meanwhile", () => {
    const r = run(2, 10, 4, 'a'.repeat(64), 15);
    assert.equal(
      formatCpu(r),
      "CPU: 15.00 s in the run's processes (worker 1.00, sandbox 14.00), 1.50 of 2 cores busy on average; the whole machine 15.50 s (0.50 s outside the run's processes), steal 0.00 s",
    );
    assert.match(formatCpu({ ...r, cpu: { ...r.cpu, machineSeconds: null } }), /on average$/);
  });

  it('sums processes and takes the largest peak per role', () => {
    const m = memoryByRole([
      { role: 'sandbox', peakRssMb: 150 },
      { role: 'worker', peakRssMb: 120 },
      { role: 'sandbox', peakRssMb: 310.5 },
    ]);
    assert.deepEqual(m.sandbox, { processes: 2, peakRssMb: 310.5 });
    assert.deepEqual(m.worker, { processes: 1, peakRssMb: 120 });
    assert.deepEqual(m['redis-server'], { processes: 0, peakRssMb: 0 });
  });
});
