import type { ChildProcess } from 'node:child_process';

/**
 * Ends `child`: SIGTERM, then SIGKILL should it not have exited within `graceMs`. Resolves once it has
 * exited, or once SIGKILL is sent; at once when it had already exited.
 */
export async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<boolean>((resolve) => child.once('exit', () => resolve(true)));
  child.kill('SIGTERM');
  const inTime = await Promise.race([
    exited,
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), graceMs).unref()),
  ]);
  if (!inTime) child.kill('SIGKILL');
}
