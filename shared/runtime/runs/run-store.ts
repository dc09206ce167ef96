import { Redis } from 'ioredis';
import { RUN_ID_PATTERN, RUN_RECORD_FILE, runKey, runPrefix } from '../../core/storage';
import { ArtifactNotFound, ArtifactStore } from '../../core/store/artifact-store';
import { LISTED_STATES, ListedState, RunRecord, RunState, RunSummary, summarise } from './record';
import { RunKeys } from './keys';

/**
 * What finishing a delete needs once the record may be gone: the index member's time, and the run's last
 * generation (its jobs' ids; null when the record was already gone when the delete began).
 */
export interface DeletionMark {
  createdAt: string;
  generation: number | null;
}

/**
 * Run records: the whole record in storage (`runs/<id>/run.json`, written atomically), a summary and
 * sorted sets by time and by state in Redis, so listing reads the index and never scans jobs.
 */
export class RunStore {
  constructor(
    private readonly artifacts: ArtifactStore,
    private readonly redis: Redis,
    private readonly keys: RunKeys,
  ) {}

  /** The record's key in the artifact store: `runs/<id>/run.json`. */
  key(runId: string): string {
    return runKey(runId, RUN_RECORD_FILE);
  }

  /** A run's record; null when there is none, or while the run is being deleted (see markDeleting). */
  async read(runId: string): Promise<RunRecord | null> {
    const [marked, record] = await Promise.all([
      this.redis.hexists(this.keys.deleting, runId),
      this.readStored(runId),
    ]);
    return marked ? null : record;
  }

  /** The record in storage, whether or not the run is being deleted; null when there is none. */
  async readStored(runId: string): Promise<RunRecord | null> {
    const key = this.key(runId);
    let bytes: Buffer;
    try {
      bytes = await this.artifacts.get(key);
    } catch (err) {
      if (err instanceof ArtifactNotFound || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
      throw new Error(
        `cannot read the run record ${key} in ${this.artifacts.url}: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    return JSON.parse(bytes.toString('utf8')) as RunRecord;
  }

  /** Write the record alone (atomically), without its index entries. */
  async writeStored(record: RunRecord): Promise<void> {
    await this.artifacts.putJson(this.key(record.id), record);
  }

  /** Write the record and its index entries; the record first, so the index never names a missing one. */
  async write(record: RunRecord): Promise<void> {
    await this.writeStored(record);
    await this.index(record);
  }

  async index(record: RunRecord): Promise<void> {
    const member = indexMember(record);
    const tx = this.redis.multi();
    tx.zadd(this.keys.all, 0, member);
    for (const state of LISTED_STATES) {
      if (state === record.state) tx.zadd(this.keys.byState(state), 0, member);
      else tx.zrem(this.keys.byState(state), member);
    }
    tx.hset(this.keys.summaries, record.id, JSON.stringify(summarise(record)));
    // Whoever follows the run (the CLI, the bench: record-changes.ts) reads it now, not at its next poll.
    tx.publish(this.keys.recordChannel, record.id);
    await tx.exec();
  }

  /**
   * The first step of a delete, before anything is removed: one transaction records the mark (what finishing
   * the delete needs once the record is gone) and lists the run as `deleting`, so no reader takes it for a
   * model or a run any more, and a delete cut short can be finished from the mark alone.
   */
  async markDeleting(summary: RunSummary, generation: number | null): Promise<DeletionMark> {
    const mark: DeletionMark = { createdAt: summary.createdAt, generation };
    const member = indexMember(summary);
    const tx = this.redis.multi();
    tx.hset(this.keys.deleting, summary.id, JSON.stringify(mark));
    tx.zadd(this.keys.all, 0, member);
    for (const state of LISTED_STATES) {
      if (state === 'deleting') tx.zadd(this.keys.byState(state), 0, member);
      else tx.zrem(this.keys.byState(state), member);
    }
    tx.hset(this.keys.summaries, summary.id, JSON.stringify({ ...summary, state: 'deleting' }));
    await tx.exec();
    return mark;
  }

  /** The mark of a delete that began and has not finished, or null. */
  async deletion(runId: string): Promise<DeletionMark | null> {
    const raw = await this.redis.hget(this.keys.deleting, runId);
    return raw === null ? null : (JSON.parse(raw) as DeletionMark);
  }

  /** Ids of the runs whose delete began and has not finished. */
  async deletingIds(): Promise<string[]> {
    return this.redis.hkeys(this.keys.deleting);
  }

  /** The run's summary in the index, or null. */
  async summary(runId: string): Promise<RunSummary | null> {
    const raw = await this.redis.hget(this.keys.summaries, runId);
    return raw === null ? null : (JSON.parse(raw) as RunSummary);
  }

  /** Remove a run's record, artifacts and index entries (a run that never started: see deleteRun for others). */
  async remove(record: RunRecord): Promise<void> {
    await this.removeFiles(record.id);
    await this.unindex(record.id, record.createdAt);
  }

  /**
   * Remove a run's artifacts. On the file backend the folder is renamed away first
   * (`runs/.deleting-<id>-<random>`: the run's files vanish at once, whatever removing them takes), then
   * removed, with any such folder an earlier delete left.
   */
  async removeFiles(runId: string): Promise<void> {
    await this.artifacts.removePrefix(runPrefix(runId));
  }

  /**
   * Ids of runs whose artifacts a delete cut short left renamed away (`runs/.deleting-<id>-<random>`, the
   * file backend's; a store that removes objects in place leaves none).
   */
  async removalsCutShort(): Promise<string[]> {
    if (!this.artifacts.cutShortRemovals) return [];
    return (await this.artifacts.cutShortRemovals('runs/')).filter((id) => RUN_ID_PATTERN.test(id));
  }

  /** Finish removing what a delete of a run cut short, leaving the run's own artifacts. */
  async finishRemovals(runId: string): Promise<void> {
    await this.artifacts.finishRemovals?.(runPrefix(runId));
  }

  /** Drop a run from the index, its deletion mark included: the last step of a delete. */
  async unindex(runId: string, createdAt: string): Promise<void> {
    const member = indexMember({ id: runId, createdAt });
    const tx = this.redis.multi();
    tx.zrem(this.keys.all, member);
    for (const state of LISTED_STATES) tx.zrem(this.keys.byState(state), member);
    tx.hdel(this.keys.summaries, runId);
    tx.hdel(this.keys.deleting, runId);
    await tx.exec();
  }

  /** Newest first, `limit` at a time; `cursor` is the `next` of the previous page. */
  async list(opts: { state?: ListedState; limit: number; cursor?: string }): Promise<RunPage> {
    const key = opts.state ? this.keys.byState(opts.state) : this.keys.all;
    const max = opts.cursor ? `(${decodeCursor(opts.cursor)}` : '+';
    const members = await this.redis.zrevrangebylex(key, max, '-', 'LIMIT', 0, opts.limit + 1);
    const page = members.slice(0, opts.limit);
    const ids = page.map((m) => m.slice(m.indexOf('|') + 1));
    const raw = ids.length > 0 ? await this.redis.hmget(this.keys.summaries, ...ids) : [];
    const runs = raw.filter((x): x is string => x !== null).map((x) => JSON.parse(x) as RunSummary);
    const last = page[page.length - 1];
    return { runs, next: members.length > opts.limit && last ? encodeCursor(last) : null };
  }

  /** Ids of runs in a state (oldest first), e.g. to reconcile active runs after a crash. */
  async idsInState(state: RunState, limit: number): Promise<string[]> {
    const members = await this.redis.zrangebylex(this.keys.byState(state), '-', '+', 'LIMIT', 0, limit);
    return members.map((m) => m.slice(m.indexOf('|') + 1));
  }
}

export interface RunPage {
  runs: RunSummary[];
  /** cursor of the next page, null on the last */
  next: string | null;
}

function indexMember(record: Pick<RunRecord, 'id' | 'createdAt'>): string {
  return `${String(Date.parse(record.createdAt)).padStart(15, '0')}|${record.id}`;
}

function encodeCursor(member: string): string {
  return Buffer.from(member, 'utf8').toString('base64url');
}

/** A cursor is opaque to clients; a malformed one is their error (RangeError → 400). */
export function decodeCursor(cursor: string): string {
  const member = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^\d{15}\|/.test(member) || !RUN_ID_PATTERN.test(member.slice(16)))
    throw new RangeError(`"cursor" ${JSON.stringify(cursor)} is not one this API gave`);
  return member;
}
