import { Job, Queue, QueueEvents } from 'bullmq';
import { TicketflowConfig } from '../../shared/core/config/config';
import { FoundChunk } from '../../shared/core/dataset/plan-chunks';
import { DatasetCheck } from '../../shared/core/dataset/verify-dataset';
import { StageContext } from '../../shared/pipeline/stages/context';
import { readChunkStats } from '../../shared/pipeline/stages/text-processing';
import { CHUNK_QUEUE } from '../../shared/pipeline/stages/text-processing/definition';
import { nodeOptions } from '../../shared/runtime/flow/build-flow';
import { ChunkJobData, StageJobData, chunkJobId } from '../../shared/runtime/flow/job-types';
import { childFinished } from './child-finished';

/** What chunk c of a split is: its child job, or `stored` when its output is already in storage. */
export type ChunkSource = Job | 'stored';

/**
 * Stage 1's chunk jobs, added while the split still scans the dataset: each chunk as soon as the scan has
 * found its range (so workers tag the first chunks while the file is still read and hashed), a chunk whose
 * output an earlier generation left in storage not at all. The job's `chunks` is raised before each batch
 * is added: a cancel finds the children by it, so none may exist uncounted. The merge asks `of(c)` for
 * each chunk in turn; `failed` rejects with the first child that fails for good, a failed addition, or
 * the split's own failure (`stop`).
 */
export class ChunkDispatch {
  private readonly pending: (FoundChunk & { check: DatasetCheck })[] = [];
  private readonly sources = new Map<number, ChunkSource>();
  private readonly finished = new Map<number, Promise<unknown>>();
  private total: number | undefined;
  /** chunks this split found stored */
  private reused = 0;
  private adding: Promise<void> | null = null;
  private wake: () => void = () => undefined;
  private changed = this.nextChange();
  private rejectFailed: (err: unknown) => void = () => undefined;
  private failure: { err: unknown } | null = null;
  readonly failed: Promise<never>;

  constructor(
    private readonly ctx: StageContext,
    private readonly job: Job<StageJobData>,
    private readonly config: TicketflowConfig,
    private readonly children: { queue: Queue; events: QueueEvents },
  ) {
    this.failed = new Promise<never>((_, reject) => {
      this.rejectFailed = (err) => {
        this.failure ??= { err };
        reject(err);
      };
    });
    this.failed.catch(() => undefined);
  }

  /** The scan found a chunk (called from inside the scan: queues it, adds it soon after). */
  found(chunk: FoundChunk & { check: DatasetCheck }): void {
    this.ctx.signal?.throwIfAborted();
    // A chunk that failed for good (or an addition that failed) ends the scan: the stage fails with it.
    if (this.failure !== null) throw this.failure.err;
    this.pending.push(chunk);
    this.adding ??= this.addPending();
  }

  /** The split has ended with `total` chunks: resolves once every one is added (or stored). */
  async end(total: number): Promise<void> {
    while (this.adding !== null) await this.adding;
    this.total = total;
    this.notify();
  }

  /** The merge stops with `err` (the split failed, or the run was cancelled); nothing more is added. */
  async stop(err: unknown): Promise<void> {
    this.rejectFailed(err);
    while (this.adding !== null) await this.adding.catch(() => undefined);
  }

  /**
   * After a failed split, removes the children not yet started: they would only spend a worker's time on
   * a run that has failed. A running child ends on its own (its output is that of its range, whatever the
   * split found later). Not for a cancelled run, whose queued jobs the cancel removes itself.
   */
  async removeQueued(): Promise<void> {
    for (const source of this.sources.values()) {
      if (source === 'stored') continue;
      const state = await source.getState().catch(() => 'unknown');
      if (state === 'waiting' || state === 'delayed' || state === 'prioritized')
        await source.remove().catch(() => undefined);
    }
  }

  /** Chunk jobs this split added (those found stored were not). */
  get added(): number {
    return this.finished.size;
  }

  /**
   * Chunk c's job or `stored`, once the split has found it; null when the split ended before it. Rejects
   * as `failed` does while it waits.
   */
  async of(c: number): Promise<ChunkSource | null> {
    for (;;) {
      const source = this.sources.get(c);
      if (source !== undefined) return source;
      if (this.total !== undefined && c >= this.total) return null;
      await Promise.race([this.changed, this.failed]);
    }
  }

  /** The completion of chunk c's job, awaited since it was added (undefined for a stored chunk). */
  completion(c: number): Promise<unknown> | undefined {
    return this.finished.get(c);
  }

  private nextChange(): Promise<void> {
    return new Promise<void>((resolve) => (this.wake = resolve));
  }

  private notify(): void {
    const wake = this.wake;
    this.changed = this.nextChange();
    wake();
  }

  /** Adds what the scan has found, batch after batch, until nothing is pending. */
  private async addPending(): Promise<void> {
    try {
      // Nothing more is added once the split or a chunk has failed.
      while (this.pending.length > 0 && this.failure === null) await this.addBatch(this.pending.splice(0));
    } catch (err) {
      this.rejectFailed(err);
    } finally {
      this.adding = null;
    }
  }

  private async addBatch(batch: (FoundChunk & { check: DatasetCheck })[]): Promise<void> {
    const { job, ctx, config } = this;
    const stored = await Promise.all(batch.map((c) => readChunkStats(ctx, c.index, c.range)));
    const todo = batch.filter((_, i) => stored[i] === null);
    const parent = { id: job.id!, queue: job.queueQualifiedName };
    const children = todo.map(({ range, index, format, check }) => {
      const data: ChunkJobData = {
        runId: job.data.runId,
        generation: job.data.generation,
        stage: 'text-processing',
        chunk: index,
        dataset: job.data.dataset,
        format,
        range,
        datasetCheck: check,
        ...(ctx.code !== undefined ? { code: ctx.code } : {}),
        tags: job.data.tags,
        params: job.data.params,
        artifacts: job.data.artifacts,
      };
      const id = chunkJobId(job.data.runId, index, job.data.generation);
      return { name: CHUNK_QUEUE, data, opts: { ...nodeOptions(config, id, true), parent } };
    });
    ctx.signal?.throwIfAborted();
    // Never lowered: an earlier activation of this split may have added more before it was cut short.
    const counted = Math.max(job.data.chunks ?? 0, batch[batch.length - 1]!.index + 1);
    this.reused += batch.length - todo.length;
    await job.updateData({ ...job.data, chunks: counted, reusedChunks: this.reused });
    // Deterministic chunk job ids make a repeated split add nothing twice.
    const queued = children.length > 0 ? await this.children.queue.addBulk(children) : [];
    for (const [i, c] of batch.entries()) if (stored[i] !== null) this.sources.set(c.index, 'stored');
    for (const child of queued) {
      const c = (child.data as ChunkJobData).chunk;
      const done = childFinished(child, this.children.events, this.children.queue);
      // A chunk that fails for good fails the merge at once, whichever chunk it is waiting for.
      done.catch((err: unknown) => this.rejectFailed(err));
      this.finished.set(c, done);
      this.sources.set(c, child);
    }
    this.notify();
  }
}
