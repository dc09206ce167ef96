import fsp from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { readJson, runDir, writeJsonAtomic } from '../storage';
import { RUN_STATES, RunRecord, RunState, RunSummary, summarise } from './record';
import { RunKeys } from './keys';

export const RUN_RECORD_FILE = 'run.json';

/**
 * Run records: the whole record in storage (`runs/<id>/run.json`, written atomically), a summary and
 * sorted sets by time and by state in Redis, so listing reads the index and never scans jobs.
 */
export class RunStore {
  constructor(
    private readonly storageDir: string,
    private readonly redis: Redis,
    private readonly keys: RunKeys,
  ) {}

  file(runId: string): string {
    return path.join(runDir(this.storageDir, runId), RUN_RECORD_FILE);
  }

  async read(runId: string): Promise<RunRecord | null> {
    try {
      await fsp.access(this.file(runId));
    } catch {
      return null;
    }
    return readJson<RunRecord>(this.file(runId));
  }

  /** Write the record and its index entries; the file first, so the index never names a missing record. */
  async write(record: RunRecord): Promise<void> {
    await writeJsonAtomic(this.file(record.id), record);
    await this.index(record);
  }

  async index(record: RunRecord): Promise<void> {
    const member = indexMember(record);
    const tx = this.redis.multi();
    tx.zadd(this.keys.all, 0, member);
    for (const state of RUN_STATES) {
      if (state === record.state) tx.zadd(this.keys.byState(state), 0, member);
      else tx.zrem(this.keys.byState(state), member);
    }
    tx.hset(this.keys.summaries, record.id, JSON.stringify(summarise(record)));
    await tx.exec();
  }

  /** Remove a run's record, artifacts and index entries: the folder is renamed away first, then removed. */
  async remove(record: RunRecord): Promise<void> {
    const dir = runDir(this.storageDir, record.id);
    const doomed = path.join(path.dirname(dir), `.deleting-${record.id}-${randomBytes(4).toString('hex')}`);
    await fsp.rename(dir, doomed).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    await fsp.rm(doomed, { recursive: true, force: true });
    const member = indexMember(record);
    const tx = this.redis.multi();
    tx.zrem(this.keys.all, member);
    for (const state of RUN_STATES) tx.zrem(this.keys.byState(state), member);
    tx.hdel(this.keys.summaries, record.id);
    await tx.exec();
  }

  /** Newest first, `limit` at a time; `cursor` is the `next` of the previous page. */
  async list(opts: { state?: RunState; limit: number; cursor?: string }): Promise<RunPage> {
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
  if (!/^\d{15}\|[A-Za-z0-9_-]{1,80}$/.test(member))
    throw new RangeError(`"cursor" ${JSON.stringify(cursor)} is not one this API gave`);
  return member;
}
