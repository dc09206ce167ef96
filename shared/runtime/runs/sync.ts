import { runPrefix, storageFailure } from '../../core/storage';
import { removeAbandonedWrites } from './cleanup';
import { runFinished } from './run-finished';
import { isFinal, RunRecord } from './record';
import { refreshRecord } from './refresh';
import { RunsContext } from './context';
import { LockBusy, withLock } from './run-lock';
import { StorageError } from '../../core/errors';
import { createLogger, Logger } from '../../core/logger';

/**
 * Bring a run's record up to date from its jobs and write it when it changed, under the run's lock.
 * Workers call it on every stage event; readers call it for runs not yet final, so a record also heals
 * when the worker that should have written it died. Null when there is no such run.
 */
export async function syncRun(
  ctx: RunsContext,
  runId: string,
  lockWaitMs?: number,
  opts: { reader?: boolean } = {},
): Promise<RunRecord | null> {
  const first = await ctx.store.read(runId);
  if (!first || isFinal(first.state)) return first;
  let becameFinal = false;
  const result = await withLock(
    ctx.redis,
    ctx.keys.lock(runId),
    async () => {
      const record = await ctx.store.read(runId);
      if (!record) return null;
      const next = await refreshRecord(record, ctx.queues);
      if (JSON.stringify(next) !== JSON.stringify(record)) {
        if (isFinal(next.state) && !isFinal(record.state)) {
          next.events = [
            ...next.events,
            { at: next.finishedAt ?? new Date().toISOString(), event: next.state as 'completed' | 'failed' },
          ];
        }
        const write = async (): Promise<void> => {
          // A failed run keeps the chunk outputs that completed (a retry reuses them), not half-written files.
          if (next.state === 'failed' && record.state !== 'failed') {
            await removeAbandonedWrites(ctx.artifacts, runId).catch((err: unknown) => {
              throw storageFailure(err, `${runPrefix(runId)} in ${ctx.artifacts.url}`);
            });
          }
          await ctx.store.write(next);
        };
        if (!opts.reader) await write();
        else if (!(await writeForReader(ctx, runId, write))) return next;
        becameFinal = isFinal(next.state) && !isFinal(record.state);
      }
      return next;
    },
    lockWaitMs,
  );
  // Outside the lock: a hook may read every job of the run (the report does).
  if (becameFinal) await runFinished(ctx, runId);
  return result;
}

/**
 * A run's record as a reader should see it: final records as stored, others refreshed — and written back
 * when the lock is free at once; a reader never waits for a writer (nor for a dead one's lock).
 */
export async function readRun(ctx: RunsContext, runId: string): Promise<RunRecord | null> {
  try {
    return await syncRun(ctx, runId, 200, { reader: true });
  } catch (err) {
    if (!(err instanceof LockBusy)) throw err;
    const record = await ctx.store.read(runId);
    return record && !isFinal(record.state) ? refreshRecord(record, ctx.queues) : record;
  }
}

/** The storage problem last logged by writeForReader (one line per problem, not one per read). */
let loggedWriteFailure: string | null = null;
let readerLog: Logger | null = null;

/**
 * A reader's write-back of a refreshed record: storage that cannot take it (read-only, full) must not
 * fail the read. The problem is logged once until a write-back succeeds again; false when it failed.
 */
async function writeForReader(ctx: RunsContext, runId: string, write: () => Promise<void>): Promise<boolean> {
  try {
    await write();
    loggedWriteFailure = null;
    return true;
  } catch (err) {
    if (!(err instanceof StorageError)) throw err;
    if (loggedWriteFailure !== err.code) {
      loggedWriteFailure = err.code;
      readerLog ??= createLogger(ctx.config.logLevel, { component: 'runs' });
      readerLog.warn(
        `answering run records without writing them back: ${err.message} (run ${runId}; logged once until writing works again)`,
      );
    }
    return false;
  }
}
