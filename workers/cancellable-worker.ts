import { ChildCommand, Job, Processor, UnrecoverableError, Worker, WorkerOptions } from 'bullmq';

interface ChildLike {
  pid: number;
  send(msg: { cmd: number; job?: { id?: string } }): Promise<void>;
  __ticketflowJob?: string;
}

interface ChildPoolLike {
  retain(file: string): Promise<ChildLike>;
  kill(child: ChildLike, signal?: string): Promise<void>;
  retained: Record<number, ChildLike>;
}

/** Decides, for a job about to start or one that just failed, whether its run was cancelled. */
export type CancelCheck = (runId: string) => Promise<boolean>;

/**
 * A BullMQ worker whose jobs a run's cancellation stops at once. A sandboxed job is stopped by killing
 * its child process (CPU-bound stage code never looks at an abort signal); an inline job gets BullMQ's
 * abort signal. Either way the job fails with UnrecoverableError — no retries — and so does a job of a
 * cancelled run that is about to start.
 */
export class CancellableWorker<D extends { runId: string } = { runId: string }> extends Worker<D> {
  declare private cancelCheck: CancelCheck;
  declare private cancelledJobs: Set<string>;
  declare private activeJobs: Map<string, string>;

  constructor(name: string, processor: string | Processor<D>, opts: WorkerOptions, cancelCheck: CancelCheck) {
    super(name, processor, { ...opts, autorun: false });
    this.cancelCheck = cancelCheck;
    this.cancelledJobs = new Set();
    this.activeJobs = new Map();
    this.trackSandboxChildren();
    this.run().catch((err: Error) => this.emit('error', err));
  }

  protected override async callProcessJob(
    job: Job<D>,
    token: string,
    signal?: AbortSignal,
  ): Promise<unknown> {
    const runId = job.data.runId;
    if (await this.cancelCheck(runId)) throw new UnrecoverableError(`run ${runId} was cancelled`);
    this.activeJobs.set(job.id!, runId);
    try {
      return await super.callProcessJob(job, token, signal);
    } catch (err) {
      if (this.cancelledJobs.has(job.id!) || (await this.cancelCheck(runId).catch(() => false))) {
        throw new UnrecoverableError(`run ${runId} was cancelled`);
      }
      throw err;
    } finally {
      this.activeJobs.delete(job.id!);
      this.cancelledJobs.delete(job.id!);
    }
  }

  /** Stop every job of `runId` that this worker is running; returns how many. */
  async cancelRun(runId: string): Promise<number> {
    const ids = [...this.activeJobs].filter(([, r]) => r === runId).map(([id]) => id);
    const pool = this.pool();
    for (const id of ids) {
      this.cancelledJobs.add(id);
      const child = pool ? Object.values(pool.retained).find((c) => c.__ticketflowJob === id) : undefined;
      if (child && pool) await pool.kill(child, 'SIGKILL').catch(() => undefined);
      else this.cancelJob(id, 'run cancelled');
    }
    return ids.length;
  }

  private pool(): ChildPoolLike | undefined {
    return (this as unknown as { childPool?: ChildPoolLike }).childPool;
  }

  /**
   * BullMQ's child pool does not say which child runs which job; note it on the child when the job is
   * sent to it (the sandbox's Start command).
   */
  private trackSandboxChildren(): void {
    const pool = this.pool();
    if (!pool || typeof pool.retain !== 'function') return;
    const retain = pool.retain.bind(pool);
    pool.retain = async (file: string) => {
      const child = await retain(file);
      if (!(child as { __ticketflowWrapped?: boolean }).__ticketflowWrapped) {
        const send = child.send.bind(child);
        child.send = (msg) => {
          if (msg.cmd === ChildCommand.Start) child.__ticketflowJob = msg.job?.id;
          return send(msg);
        };
        (child as { __ticketflowWrapped?: boolean }).__ticketflowWrapped = true;
      }
      return child;
    };
  }
}
