import fs from 'node:fs';

/** Peak resident memory (VmHWM) seen per process, for a set of root pids and all their descendants. */
export class PeakRssSampler {
  private readonly peaks = new Map<number, { kb: number; name: string }>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly roots: () => number[]) {}

  start(intervalMs = 100): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.sample();
  }

  /** Largest peak in MB and the per-process peaks. */
  result(): { peakRssMb: number; processes: { pid: number; name: string; peakRssMb: number }[] } {
    const processes = [...this.peaks.entries()]
      .map(([pid, p]) => ({ pid, name: p.name, peakRssMb: Math.round(p.kb / 102.4) / 10 }))
      .sort((a, b) => b.peakRssMb - a.peakRssMb);
    return { peakRssMb: processes[0]?.peakRssMb ?? 0, processes };
  }

  private sample(): void {
    const children = childrenByParent();
    const stack = [...this.roots()];
    while (stack.length > 0) {
      const pid = stack.pop()!;
      const status = readStatus(pid);
      if (status) {
        const prev = this.peaks.get(pid);
        if (!prev || status.hwmKb > prev.kb) this.peaks.set(pid, { kb: status.hwmKb, name: status.name });
      }
      stack.push(...(children.get(pid) ?? []));
    }
  }
}

function readStatus(pid: number): { hwmKb: number; name: string } | null {
  try {
    const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const hwm = /VmHWM:\s+(\d+) kB/.exec(text);
    const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    const script =
      cmd
        .slice(1)
        .map((a) => a.split('/').slice(-2).join('/'))
        .join(' ') ||
      cmd[0] ||
      String(pid);
    // BullMQ forks every sandbox child from its own classes/main.js; which stage it serves is not visible.
    const name = script.endsWith('classes/main.js') ? 'sandboxed processor (BullMQ child)' : script;
    return hwm ? { hwmKb: Number(hwm[1]), name } : null;
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
