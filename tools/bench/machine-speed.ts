/**
 * How fast this machine's cores run right now: the milliseconds of a fixed single-threaded workload, the
 * best of a few tries. A shared VM's speed changes with what the host runs: on the 2-core VM the docs'
 * numbers come from, the same workload took 491–916 ms within one minute, and one bench command took
 * 145.8 s one day and 212.6 s the next. The bench measures this before and after its runs, so that two
 * benches are compared only when their machines ran at a similar speed.
 */

export interface MachineSpeed {
  /** best of the tries, ms (lower is faster) */
  ms: number;
  tries: number[];
}

/** The workload: integer and floating-point loops, a Map of strings and a typed array (~0.2–0.4 s). */
function workload(): number {
  const words = new Map<string, number>();
  const values = new Float64Array(1 << 16);
  let acc = 0;
  for (let i = 0; i < 3_000_000; i++) {
    const w = `w${i % 5000}`;
    const n = (words.get(w) ?? 0) + 1;
    words.set(w, n);
    const j = (i * 2654435761) & 0xffff;
    values[j] = values[j]! * 0.5 + Math.sqrt(i + n);
    acc += values[j]! > 1000 ? 1 : 0;
  }
  return acc + words.size;
}

/** Runs the workload `tries` times; the best is the machine's speed now (the others were disturbed). */
export function measureMachineSpeed(tries = 3): MachineSpeed {
  const times: number[] = [];
  let sink = 0;
  for (let t = 0; t < tries; t++) {
    const start = performance.now();
    sink += workload();
    times.push(Math.round(performance.now() - start));
  }
  // The result is used, so that the workload cannot be optimised away.
  if (sink < 0) throw new Error('unreachable');
  return { ms: Math.min(...times), tries: times };
}

/** Beyond this change between before and after, the machine's speed moved during the bench. */
export const SPEED_DRIFT = 0.15;

/** The line the bench prints, with a warning when the speed moved by more than SPEED_DRIFT. */
export function formatMachineSpeed(before: MachineSpeed, after: MachineSpeed): string {
  const drift = Math.abs(after.ms - before.ms) / Math.min(before.ms, after.ms);
  const line = `machine speed (a fixed single-core workload, best of ${before.tries.length}; lower is faster): ${before.ms} ms before the runs, ${after.ms} ms after`;
  return drift > SPEED_DRIFT
    ? `${line}\nbench: WARNING the machine's speed changed by ${Math.round(100 * drift)} % during the bench: its wall times are not comparable with each other or with other benches'`
    : line;
}
