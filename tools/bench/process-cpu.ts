import fs from 'node:fs';
import type { ProcessRole } from './process-roles';

/**
 * CPU time as the bench measures it: per process from /proc/<pid>/stat, for the machine from /proc/stat.
 * Wall time on a shared 2-core VM swings with what else the host runs; CPU seconds say how much work a
 * run was, whatever the wall time, and the machine's own busy time says whether anything outside the run
 * competed for the cores while it ran.
 */

/** Linux's USER_HZ, the unit of /proc's CPU times. */
export const CLOCK_TICKS = 100;

/** CPU seconds `pid` has used (user + system), or null when it is gone or there is no /proc. */
export function cpuSecondsOf(pid: number): number | null {
  try {
    // Fields 14 and 15 of /proc/<pid>/stat, after the parenthesised command name: utime, stime in ticks.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

/** The machine's CPU seconds so far, summed over its cores: busy (steal included) and stolen by the host. */
export interface MachineCpu {
  busy: number;
  steal: number;
}

/** From /proc/stat's first line; null where there is none. */
export function machineCpu(): MachineCpu | null {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    // cpu user nice system idle iowait irq softirq steal guest guest_nice (guest time is in user already)
    const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
    const busy = user! + nice! + system! + irq! + softirq! + (steal ?? 0);
    return { busy: busy / CLOCK_TICKS, steal: (steal ?? 0) / CLOCK_TICKS };
  } catch {
    return null;
  }
}

/** One sample: when (Date.now()), CPU seconds since the window began: the tree's, by role, the machine's. */
export interface CpuPoint {
  t: number;
  tree: number;
  roles: Partial<Record<ProcessRole, number>>;
  machine: number;
  steal: number;
}

/** What a window used: the sampled processes' CPU seconds, by role; the machine's; the host's steal. */
export interface CpuUse {
  seconds: number;
  byRole: Partial<Record<ProcessRole, number>>;
  /** every process on the machine, the sampled ones included (null without /proc/stat) */
  machineSeconds: number | null;
  stealSeconds: number | null;
  points: CpuPoint[];
}

/**
 * CPU seconds of a process tree over a window, fed by a sampler's walks of the tree: each process counts
 * from its value when first seen (at the window's start, what it used before is not the window's) or
 * from 0 when it was born during the window. A process that ends between two samples loses the CPU it
 * used since the last one (the bench's workers and sandboxes live through a run).
 */
export class CpuTracker {
  private readonly seen = new Map<number, { role: ProcessRole; first: number; last: number }>();
  private readonly points: CpuPoint[] = [];
  private machineStart: MachineCpu | null = null;
  private started = false;

  /** A process's CPU seconds at this sample. */
  observe(pid: number, role: ProcessRole, seconds: number): void {
    const prev = this.seen.get(pid);
    if (prev) {
      prev.last = Math.max(prev.last, seconds);
      prev.role = role;
    } else this.seen.set(pid, { role, first: this.started ? 0 : seconds, last: seconds });
  }

  /** Ends a sample (after its observe calls): the first one opens the window. */
  mark(t: number = Date.now()): void {
    const machine = machineCpu();
    if (!this.started) {
      this.started = true;
      this.machineStart = machine;
    }
    const roles: Partial<Record<ProcessRole, number>> = {};
    for (const p of this.seen.values()) roles[p.role] = (roles[p.role] ?? 0) + (p.last - p.first);
    this.points.push({
      t,
      tree: this.treeSeconds(),
      roles,
      machine: machine && this.machineStart ? machine.busy - this.machineStart.busy : 0,
      steal: machine && this.machineStart ? machine.steal - this.machineStart.steal : 0,
    });
  }

  result(): CpuUse {
    const last = this.points.at(-1);
    const withMachine = this.machineStart !== null && last !== undefined;
    return {
      seconds: this.treeSeconds(),
      byRole: { ...last?.roles },
      machineSeconds: withMachine ? last.machine : null,
      stealSeconds: withMachine ? last.steal : null,
      points: [...this.points],
    };
  }

  private treeSeconds(): number {
    let sum = 0;
    for (const p of this.seen.values()) sum += p.last - p.first;
    return sum;
  }
}

/** What cpuBetween reads off a sample: the tree's total, one role's, the machine's or the host's steal. */
export type CpuOf = 'tree' | 'machine' | 'steal' | { role: ProcessRole };

/**
 * CPU seconds used between `from` and `to` (Date.now() times), read off the samples with linear
 * interpolation between the two around each end (clamped to the samples' span).
 */
export function cpuBetween(
  points: readonly CpuPoint[],
  from: number,
  to: number,
  of: CpuOf = 'tree',
): number {
  const value = (p: CpuPoint) => (typeof of === 'string' ? p[of] : (p.roles[of.role] ?? 0));
  return Math.max(0, at(points, to, value) - at(points, from, value));
}

function at(points: readonly CpuPoint[], t: number, value: (p: CpuPoint) => number): number {
  if (points.length === 0) return 0;
  if (t <= points[0]!.t) return value(points[0]!);
  for (let i = 1; i < points.length; i++) {
    const b = points[i]!;
    if (t <= b.t) {
      const a = points[i - 1]!;
      return b.t === a.t ? value(b) : value(a) + ((value(b) - value(a)) * (t - a.t)) / (b.t - a.t);
    }
  }
  return value(points.at(-1)!);
}
