/**
 * A full garbage collection now, where the runtime allows one (Node started with --expose-gc, as the
 * workers start their sandboxes); otherwise nothing. Memory a process let go of while it then sits idle
 * (a dropped cache's buffers) goes back to the system only at the next collection, and an idle process
 * allocates too little to start one soon.
 */
export function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}
