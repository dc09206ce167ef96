import { ChildCommand, Job, Processor, UnrecoverableError, Worker, WorkerOptions } from 'bullmq';
import { logLost } from '../shared/core/logger';

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

export interface CancellableWorkerOptions {
  cancelled: CancelCheck;
  /** one attempt's time limit; past it the job is stopped and failed for good */
  timeoutMs: number;
  /** named in the timeout's message: where the limit is configured */
  timeoutSetting: string;
}

/**
 * A BullMQ worker whose jobs a run's cancellation stops at once. A sandboxed job is stopped by killing
 * its child process (CPU-bound stage code never looks at an abort signal); an inline job gets BullMQ's
 * abort signal. Either way the job fails with UnrecoverableError — no retries — and so does a job of a
 * cancelled run that is about to start. An attempt that outlives its stage's time limit is stopped the
 * same way and fails for good: on the same input it would run as long again.
 */
export class CancellableWorker<D extends { runId: string } = { runId: string }> extends Worker<D> {
  declare private cancelCheck: CancelCheck;
  declare private limits: CancellableWorkerOptions;
  declare private timedOutJobs: Set<string>;
  declare private cancelledJobs: Set<string>;
  declare private activeJobs: Map<string, string>;

  constructor(
    name: string,
    processor: string | Processor<D>,
    opts: WorkerOptions,
    limits: CancellableWorkerOptions,
  ) {
    super(name, processor, { ...opts, autorun: false });
    this.cancelCheck = limits.cancelled;
    this.limits = limits;
    this.timedOutJobs = new Set();
    this.cancelledJobs = new Set();
    this.activeJobs = new Map();
    this.trackSandboxChildren();
    // An inline job (a stage job) whose lock lapsed (Redis gone longer than the lock's duration) has been
    // handed to another attempt by the stalled-job check: this one can no longer complete, and running on
    // it would add child jobs and remove files that the attempt now holding the job relies on. Its signal
    // is aborted; BullMQ cannot record its end (the lock is another's), so the job goes on in the other
    // attempt. A sandboxed job is left to finish: its output is the same whichever attempt writes it, and
    // its child process may by then run the job's next attempt, which must not be killed.
    this.on('lockRenewalFailed', (ids: string[]) => {
      for (const id of ids)
        if (this.activeJobs.has(id) && this.sandboxChildOf(id) === undefined)
          this.cancelJob(id, 'its lock lapsed: another attempt holds the job');
    });
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
    const id = job.id!;
    let timer: NodeJS.Timeout | undefined;
    const timeLimit = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.timedOutJobs.add(id);
        this.stopJob(id, 'time limit').finally(() => reject(new Error('time limit')));
      }, this.limits.timeoutMs);
    });
    try {
      return await Promise.race([super.callProcessJob(job, token, signal), timeLimit]);
    } catch (err) {
      if (this.timedOutJobs.has(id)) {
        const seconds = Math.round(this.limits.timeoutMs / 1000);
        throw new UnrecoverableError(
          `${this.name} job ran longer than its time limit of ${seconds} s and was stopped (${this.limits.timeoutSetting})`,
        );
      }
      if (
        this.cancelledJobs.has(id) ||
        (await this.cancelCheck(runId).catch(logLost(`checking whether run ${runId} was cancelled`)))
      ) {
        throw new UnrecoverableError(`run ${runId} was cancelled`);
      }
      throw err;
    } finally {
      clearTimeout(timer);
      this.activeJobs.delete(id);
      this.cancelledJobs.delete(id);
      this.timedOutJobs.delete(id);
    }
  }

  /** Stop one running job: kill its sandboxed child, or abort an inline job's signal. */
  private async stopJob(id: string, reason: string): Promise<void> {
    const pool = this.pool();
    const child = this.sandboxChildOf(id);
    if (child && pool)
      await pool.kill(child, 'SIGKILL').catch(logLost(`killing the sandboxed child of job ${id}`));
    else this.cancelJob(id, reason);
  }

  /** Stop every job of `runId` that this worker is running; returns how many. */
  async cancelRun(runId: string): Promise<number> {
    const ids = [...this.activeJobs].filter(([, r]) => r === runId).map(([id]) => id);
    for (const id of ids) {
      this.cancelledJobs.add(id);
      await this.stopJob(id, 'run cancelled');
    }
    return ids.length;
  }

  /** The sandbox child process running job `id`, if it runs in one. */
  private sandboxChildOf(id: string): ChildLike | undefined {
    const pool = this.pool();
    return pool ? Object.values(pool.retained).find((c) => c.__ticketflowJob === id) : undefined;
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
