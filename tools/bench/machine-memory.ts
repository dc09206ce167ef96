import fs from 'node:fs';

/**
 * What a run asked of the machine's memory, and what new memory costs on it right now. On the 2-core VM
 * the docs' numbers come from, memory the guest has not touched lately is slow to touch: faulting in
 * 1 GB of new pages took 0.7–1.0 s, and at times 7–8 s; a file's 25 MB written into pages not yet in the
 * page cache took 7 ms each, then 150–220 ms each once ~850 MB were written (the same bytes written again
 * over cached pages: 3–4 ms). A run's wall time moves with that as much as with its CPU work, so the bench
 * counts the pages a run dirtied and allocated (from /proc/vmstat, the whole machine's) and times a fixed
 * touch of new memory before and after its runs.
 */

/** The machine's counters since boot, in pages (/proc/vmstat). */
export interface MemoryCounters {
  /** pages dirtied: bytes written into the page cache (files) */
  dirtied: number;
  /** pages allocated, every zone (pgalloc_*) */
  allocated: number;
  /** page faults, minor and major */
  faults: number;
}

/** What the machine did between two readings, in MB (4 KiB pages) and faults. */
export interface MemoryUse {
  pageCacheWrittenMb: number;
  allocatedMb: number;
  faults: number;
}

const PAGE_MB = 4096 / 2 ** 20;

/** /proc/vmstat's counters now; null where there is none (not Linux) or it cannot be read. */
export function memoryCounters(vmstat = '/proc/vmstat'): MemoryCounters | null {
  let text: string;
  try {
    text = fs.readFileSync(vmstat, 'utf8');
  } catch {
    return null;
  }
  const counters: MemoryCounters = { dirtied: 0, allocated: 0, faults: 0 };
  let seen = 0;
  for (const line of text.split('\n')) {
    const [name, value] = line.split(' ');
    if (name === undefined || value === undefined) continue;
    const n = Number(value);
    if (name === 'nr_dirtied') counters.dirtied = n;
    else if (name === 'pgfault') counters.faults = n;
    else if (name.startsWith('pgalloc_')) counters.allocated += n;
    else continue;
    seen++;
  }
  return seen >= 3 ? counters : null;
}

/** `to` − `from` (null when either reading is missing). */
export function memoryBetween(from: MemoryCounters | null, to: MemoryCounters | null): MemoryUse | null {
  if (from === null || to === null) return null;
  return {
    pageCacheWrittenMb: Math.round((to.dirtied - from.dirtied) * PAGE_MB),
    allocatedMb: Math.round((to.allocated - from.allocated) * PAGE_MB),
    faults: to.faults - from.faults,
  };
}

/** One line for a run: what it asked of the machine's memory. */
export function formatMemoryUse(use: MemoryUse | null): string {
  if (use === null) return "the machine's memory meanwhile: not measured (no /proc/vmstat)";
  return (
    `the machine's memory meanwhile: ${use.pageCacheWrittenMb} MB written to the page cache, ` +
    `${use.allocatedMb} MB of pages allocated, ${use.faults} page faults`
  );
}

/** MB of new memory the probe touches. */
export const NEW_MEMORY_MB = 256;

/**
 * Milliseconds to touch `mb` MB of memory this process never had: one byte written in each 4 KiB page of
 * a buffer allocated outside V8's heap (its pages are faulted in one by one, as a run's new buffers and
 * heap growth are). The buffer is dropped after.
 */
export function measureNewMemory(mb = NEW_MEMORY_MB): number {
  const bytes = mb * 2 ** 20;
  const start = performance.now();
  const buf = Buffer.allocUnsafeSlow(bytes);
  for (let i = 0; i < bytes; i += 4096) buf[i] = 1;
  const ms = performance.now() - start;
  // Read back, so the writes cannot be dropped.
  if (buf[bytes - 4096] !== 1) throw new Error('unreachable');
  return Math.round(ms);
}

/** The line the bench prints beside the machine's speed. */
export function formatNewMemory(beforeMs: number, afterMs: number, mb = NEW_MEMORY_MB): string {
  return `new memory (${mb} MB touched a page at a time; lower is faster): ${beforeMs} ms before the runs, ${afterMs} ms after`;
}
