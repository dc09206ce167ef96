import fs from 'node:fs';
import { CpuTracker, CpuUse, cpuSecondsOf } from './process-cpu';
import { PROCESS_ROLES, ProcessRole } from './process-roles';

export interface ProcessPeak {
  pid: number;
  role: ProcessRole;
  /** the script it runs (its last two path parts), or what it is */
  name: string;
  peakRssMb: number;
}

/**
 * A worker with the processes it started (its sandboxes): the largest sum of their resident memory (VmRSS)
 * at one walk of the tree, about once a second. Per-process peaks do not add up to this (they need not
 * fall at one moment); it is what a machine or container that runs the worker must hold.
 */
export interface WorkerTreePeak {
  pid: number;
  peakRssMb: number;
  /** the processes in its tree at that moment, itself included */
  processes: number;
}

/** A worker's tree's resident memory at one walk (ProcessSampler.workerTreesNow). */
export interface WorkerTreeNow {
  pid: number;
  rssMb: number;
  processes: number;
}

/** Per role: how many processes were seen and the largest peak among them (0 MB when none). */
export type MemoryByRole = Record<ProcessRole, { processes: number; peakRssMb: number }>;

/** Ticks between two walks of the process tree (ProcessSampler.sample). */
const FULL_SCAN_EVERY = 10;

/**
 * Peak resident memory (VmHWM) and CPU seconds (process-cpu.ts) seen per process, for a set of root pids
 * and all their descendants, from start() to stop(). `roleOf` names the processes the caller started
 * (workers, servers); a child of BullMQ's own classes/main.js is a sandbox and a process called
 * redis-server is Redis; anything else is `other`.
 */
export class ProcessSampler {
  private readonly peaks = new Map<number, { kb: number; name: string; role: ProcessRole }>();
  private readonly workerTrees = new Map<number, { kb: number; processes: number }>();
  /** the workers' trees as the last walk found them */
  private lastTrees = new Map<number, { kb: number; processes: number }>();
  private readonly cpu = new CpuTracker();
  private timer: NodeJS.Timeout | null = null;
  /** the tree as the last full scan found it, with each process's role */
  private tree: { pid: number; role: ProcessRole }[] = [];
  private ticks = 0;

  constructor(
    private readonly roots: () => number[],
    private readonly roleOf: (pid: number) => ProcessRole | undefined = () => undefined,
  ) {}

  start(intervalMs = 100): void {
    this.sample(true);
    this.timer = setInterval(() => this.sample(this.ticks++ % FULL_SCAN_EVERY === 0), intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.sample(true);
  }

  /** Largest peak in MB, the per-process peaks (largest first), their summary per role, the workers' trees. */
  result(): {
    peakRssMb: number;
    processes: ProcessPeak[];
    byRole: MemoryByRole;
    workerTrees: WorkerTreePeak[];
  } {
    const processes = [...this.peaks.entries()]
      .map(([pid, p]) => ({ pid, role: p.role, name: p.name, peakRssMb: mb(p.kb) }))
      .sort((a, b) => b.peakRssMb - a.peakRssMb);
    const workerTrees = [...this.workerTrees.entries()]
      .map(([pid, t]) => ({ pid, peakRssMb: mb(t.kb), processes: t.processes }))
      .sort((a, b) => b.peakRssMb - a.peakRssMb);
    return {
      peakRssMb: processes[0]?.peakRssMb ?? 0,
      processes,
      byRole: memoryByRole(processes),
      workerTrees,
    };
  }

  /** Per worker, its tree's resident memory now (a walk of the tree), largest first. */
  workerTreesNow(): WorkerTreeNow[] {
    this.walk();
    return [...this.lastTrees.entries()]
      .map(([pid, t]) => ({ pid, rssMb: mb(t.kb), processes: t.processes }))
      .sort((a, b) => b.rssMb - a.rssMb);
  }

  /** CPU seconds used between start() and the last sample, with the samples themselves. */
  cpuUse(): CpuUse {
    return this.cpu.result();
  }

  /**
   * A full sample walks the process tree (every process's /proc/<pid>/stat, to find the children) and
   * reads each one's peak; the others read only the CPU of the processes the last walk found. VmHWM is a
   * high-water mark, so reading it less often loses nothing while the process lives; a walk every tick
   * cost the bench ~0.1 of a core, on the cores the run is measured on.
   */
  private sample(full: boolean): void {
    if (full) this.walk();
    for (const { pid, role } of this.tree) {
      const cpu = cpuSecondsOf(pid);
      if (cpu !== null) this.cpu.observe(pid, role, cpu);
    }
    this.cpu.mark();
  }

  private walk(): void {
    this.tree = [];
    const children = childrenByParent();
    // Per worker, its tree's resident memory at this walk: each process counts toward the nearest worker
    // at or above it.
    const trees = new Map<number, { kb: number; processes: number }>();
    const stack: { pid: number; parent: number | null; worker: number | null }[] = this.roots().map(
      (pid) => ({ pid, parent: null, worker: null }),
    );
    while (stack.length > 0) {
      const { pid, parent, worker: above } = stack.pop()!;
      let worker = above;
      const status = readStatus(pid);
      if (status) {
        const prev = this.peaks.get(pid);
        const role = this.roleOf(pid) ?? status.role;
        // BullMQ forks every sandbox from its own classes/main.js: which queue it serves is not visible
        // from outside, the worker that forked it is.
        const name = role === 'sandbox' && parent !== null ? `BullMQ child of worker ${parent}` : status.name;
        if (!prev || status.hwmKb > prev.kb) this.peaks.set(pid, { kb: status.hwmKb, name, role });
        this.tree.push({ pid, role });
        if (role === 'worker') worker = pid;
        if (worker !== null) {
          const t = trees.get(worker) ?? { kb: 0, processes: 0 };
          t.kb += status.rssKb;
          t.processes++;
          trees.set(worker, t);
        }
      }
      stack.push(...(children.get(pid) ?? []).map((child) => ({ pid: child, parent: pid, worker })));
    }
    this.lastTrees = trees;
    for (const [pid, t] of trees) {
      const prev = this.workerTrees.get(pid);
      if (!prev || t.kb > prev.kb) this.workerTrees.set(pid, t);
    }
  }
}

/** kB as MB, to one decimal. */
function mb(kb: number): number {
  return Math.round(kb / 102.4) / 10;
}

/** Per role, the count of processes and the largest peak. */
export function memoryByRole(processes: readonly Pick<ProcessPeak, 'role' | 'peakRssMb'>[]): MemoryByRole {
  const byRole = Object.fromEntries(
    PROCESS_ROLES.map((r) => [r, { processes: 0, peakRssMb: 0 }]),
  ) as MemoryByRole;
  for (const p of processes) {
    const r = byRole[p.role];
    r.processes++;
    r.peakRssMb = Math.max(r.peakRssMb, p.peakRssMb);
  }
  return byRole;
}

/**
 * Reset the peak (VmHWM) of `roots` and their descendants to their present size (Linux's clear_refs "5"),
 * so that processes that outlive one measured run — the bench itself, a shared Redis — report the next
 * run's peak, not an earlier one's. Returns the pids it could not reset (e.g. no permission).
 */
export function resetPeaks(roots: readonly number[]): number[] {
  const children = childrenByParent();
  const stack = [...roots];
  const failed: number[] = [];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    try {
      fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
    } catch {
      failed.push(pid);
    }
    stack.push(...(children.get(pid) ?? []));
  }
  return failed;
}

function readStatus(pid: number): { hwmKb: number; rssKb: number; name: string; role: ProcessRole } | null {
  try {
    const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const hwm = /VmHWM:\s+(\d+) kB/.exec(text);
    const rss = /VmRSS:\s+(\d+) kB/.exec(text);
    const comm = /^Name:\s+(.*)$/m.exec(text)?.[1] ?? '';
    const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    const script =
      cmd
        .slice(1)
        .map((a) => a.split('/').slice(-2).join('/'))
        .join(' ') ||
      cmd[0] ||
      String(pid);
    const role: ProcessRole = script.endsWith('classes/main.js')
      ? 'sandbox'
      : comm === 'redis-server'
        ? 'redis-server'
        : 'other';
    const name = role === 'redis-server' ? cmd.slice(0, 5).join(' ') || comm : script;
    return hwm ? { hwmKb: Number(hwm[1]), rssKb: Number(rss?.[1] ?? 0), name, role } : null;
  } catch {
    return null;
  }
}

function childrenByParent(): Map<number, number[]> {
  const map = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = map.get(ppid) ?? [];
      list.push(Number(entry));
      map.set(ppid, list);
    } catch {
      /* the process ended */
    }
  }
  return map;
}

/** A process's resident memory now in MB, from /proc (null where there is none or the process ended). */
export function residentMb(pid: number): number | null {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? null : Number(kb) / 1024;
  } catch {
    return null;
  }
}
