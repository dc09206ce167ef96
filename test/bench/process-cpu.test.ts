import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { CpuPoint, CpuTracker, cpuBetween, cpuSecondsOf } from '../../tools/bench/process-cpu';
import { ProcessSampler } from '../../tools/bench/process-memory';
import { formatMachineSpeed, measureMachineSpeed } from '../../tools/bench/machine-speed';

const point = (t: number, tree: number, sandbox = tree): CpuPoint => ({
  t,
  tree,
  roles: { sandbox },
  machine: 2 * tree,
  steal: 0,
});

describe('bench CPU accounting', () => {
  it('reads the CPU used between two instants off the samples, interpolating between them', () => {
    const points = [point(1000, 0), point(1100, 0.2), point(1300, 0.2), point(1400, 0.5)];
    assert.equal(cpuBetween(points, 1000, 1400), 0.5);
    assert.ok(Math.abs(cpuBetween(points, 1050, 1350) - (0.35 - 0.1)) < 1e-12);
    assert.ok(Math.abs(cpuBetween(points, 1050, 1350, 'machine') - 2 * (0.35 - 0.1)) < 1e-12);
    assert.ok(Math.abs(cpuBetween(points, 1350, 9999, { role: 'sandbox' }) - 0.15) < 1e-12);
    // Outside the samples' span, clamped: nothing before the first, nothing after the last.
    assert.equal(cpuBetween(points, 0, 1000), 0);
    assert.equal(cpuBetween(points, 1400, 5000), 0);
    assert.equal(cpuBetween(points, 0, 5000, { role: 'worker' }), 0);
    assert.equal(cpuBetween([], 0, 5000), 0);
  });

  it("counts a process from its first sample's value, one born later from zero", () => {
    const cpu = new CpuTracker();
    cpu.observe(10, 'worker', 3.5); // ran before the window: its 3.5 s are not the window's
    cpu.mark(1000);
    cpu.observe(10, 'worker', 4.0);
    cpu.observe(11, 'sandbox', 0.7); // born during the window
    cpu.mark(1100);
    const use = cpu.result();
    assert.ok(Math.abs(use.seconds - 1.2) < 1e-12);
    assert.ok(Math.abs(use.byRole.worker! - 0.5) < 1e-12);
    assert.ok(Math.abs(use.byRole.sandbox! - 0.7) < 1e-12);
    assert.deepEqual(
      use.points.map((p) => [p.t, Math.round(p.tree * 10) / 10]),
      [
        [1000, 0],
        [1100, 1.2],
      ],
    );
  });

  it('measures the CPU seconds of a busy child process through /proc', { timeout: 20_000 }, async (t) => {
    if (!fs.existsSync('/proc/self/stat')) return t.skip('no /proc on this machine: CPU is read from /proc');
    // A child that spins for 0.6 s of wall time, then waits to be stopped.
    const child = spawn(
      process.execPath,
      ['-e', 'const end = Date.now() + 600; while (Date.now() < end); setInterval(() => {}, 1000);'],
      { stdio: 'ignore' },
    );
    try {
      const sampler = new ProcessSampler(
        () => [child.pid!],
        () => 'sandbox',
      );
      sampler.start(50);
      await new Promise((r) => setTimeout(r, 1500));
      sampler.stop();
      const use = sampler.cpuUse();
      // The spin is ~0.6 CPU s; Node's own start-up adds a little; sampled from its first 50 ms or so.
      assert.ok(use.seconds >= 0.3 && use.seconds <= 1.5, `CPU seconds ${use.seconds}`);
      assert.equal(use.byRole.sandbox, use.seconds);
      assert.ok(use.points.length >= 10);
      const now = cpuSecondsOf(child.pid!);
      assert.ok(now !== null && now >= use.seconds - 1e-9);
    } finally {
      child.kill('SIGKILL');
    }
    assert.equal(cpuSecondsOf(2 ** 30), null);
  });

  it("sums a worker's resident memory with its children's at one moment", { timeout: 30_000 }, async (t) => {
    if (!fs.existsSync('/proc/self/status'))
      return t.skip('no /proc on this machine: memory is read from /proc');
    // A "worker" whose child touches 150 MB and holds it; both wait to be stopped.
    const hold = `const b = Buffer.alloc(150 * 1048576, 1); setInterval(() => b[0]++, 1000);`;
    const worker = spawn(
      process.execPath,
      [
        '-e',
        `const c = require('node:child_process').spawn(process.execPath, ['-e', ${JSON.stringify(hold)}], { stdio: 'ignore' });
         process.on('SIGTERM', () => { c.kill('SIGKILL'); process.exit(0); });
         setInterval(() => {}, 1000);`,
      ],
      { stdio: 'ignore' },
    );
    try {
      const sampler = new ProcessSampler(
        () => [worker.pid!],
        (pid) => (pid === worker.pid ? 'worker' : undefined),
      );
      sampler.start(50);
      await new Promise((r) => setTimeout(r, 2500));
      sampler.stop();
      const { workerTrees, processes } = sampler.result();
      assert.equal(workerTrees.length, 1);
      assert.equal(workerTrees[0]!.pid, worker.pid);
      assert.equal(workerTrees[0]!.processes, 2);
      const child = processes.find((p) => p.pid !== worker.pid)!;
      const own = processes.find((p) => p.pid === worker.pid)!;
      assert.ok(child.peakRssMb >= 150, `child ${child.peakRssMb} MB`);
      // The two at one moment: at least the child's 150 MB plus the worker's own, at most both peaks.
      assert.ok(workerTrees[0]!.peakRssMb >= 150 + own.peakRssMb / 2, JSON.stringify(workerTrees));
      assert.ok(
        workerTrees[0]!.peakRssMb <= child.peakRssMb + own.peakRssMb + 0.1,
        JSON.stringify(workerTrees),
      );
      // And now, as --idle reads it: the child still holds its 150 MB.
      const now = sampler.workerTreesNow();
      assert.equal(now.length, 1);
      assert.equal(now[0]!.pid, worker.pid);
      assert.equal(now[0]!.processes, 2);
      assert.ok(now[0]!.rssMb >= 150, JSON.stringify(now));
    } finally {
      if (worker.exitCode === null && worker.signalCode === null) {
        const exited = new Promise((r) => worker.once('exit', r));
        worker.kill('SIGTERM');
        await exited;
      }
    }
  });

  it("times the machine's fixed workload and warns when its speed moved during the bench", () => {
    const speed = measureMachineSpeed(2);
    assert.equal(speed.tries.length, 2);
    assert.equal(speed.ms, Math.min(...speed.tries));
    assert.ok(speed.ms > 0);
    const steady = formatMachineSpeed(
      { ms: 300, tries: [300, 310, 320] },
      { ms: 320, tries: [320, 330, 340] },
    );
    assert.match(steady, /best of 3; lower is faster\): 300 ms before the runs, 320 ms after$/);
    assert.doesNotMatch(steady, /WARNING/);
    const moved = formatMachineSpeed({ ms: 300, tries: [300] }, { ms: 450, tries: [450] });
    assert.match(moved, /WARNING the machine's speed changed by 50 % during the bench/);
  });
});
