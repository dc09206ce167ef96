import { Worker } from 'node:worker_threads';

/**
 * A sandboxed child must not outlive its worker: killed with -9, the worker cannot stop it, and a child
 * in the middle of CPU-bound stage code never runs an event handler (not even IPC 'disconnect') until the
 * stage ends. A thread of its own watches the parent pid and kills the process once it has been
 * re-parented. The thread is unref'd: it never keeps the child alive by itself.
 */
export function dieWithWorker(intervalMs = 200): void {
  const watchdog = new Worker(
    `const { workerData } = require('node:worker_threads');
     setInterval(() => { if (process.ppid !== workerData) process.kill(process.pid, 'SIGKILL'); }, ${intervalMs});`,
    { eval: true, workerData: process.ppid },
  );
  watchdog.unref();
}

dieWithWorker();
