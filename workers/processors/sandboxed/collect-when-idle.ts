import { collectGarbage } from '../../../shared/core/collect-garbage';

/** How long a sandbox waits after its last job before it collects garbage. */
export const IDLE_COLLECT_MS = 10_000;

export interface CollectWhenIdleOptions {
  idleMs: number;
  collect: () => void;
}

/**
 * `processor`, made to collect garbage once it has been idle for `idleMs` (no job running and none
 * started since the last one ended). A sandbox serves one queue, whose stage ends long before the run
 * does: without a collection it would keep what its last jobs left (parsed chunks, a fit's rows, freed
 * buffers) resident until its next job, beside the sandboxes of the stages that run next on the same
 * machine. The timer does not keep the process alive.
 */
export function collectWhenIdle<A extends unknown[], R>(
  processor: (...args: A) => Promise<R>,
  opts: CollectWhenIdleOptions = { idleMs: IDLE_COLLECT_MS, collect: collectGarbage },
): (...args: A) => Promise<R> {
  let running = 0;
  let timer: NodeJS.Timeout | null = null;
  return async (...args: A): Promise<R> => {
    running++;
    if (timer !== null) clearTimeout(timer);
    timer = null;
    try {
      return await processor(...args);
    } finally {
      running--;
      if (running === 0) {
        timer = setTimeout(() => {
          timer = null;
          opts.collect();
        }, opts.idleMs);
        timer.unref();
      }
    }
  };
}
