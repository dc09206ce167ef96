import { emitModelPromoted } from '../events/webhook-events';
import { RunsContext } from './context';
import { RunKeys } from './keys';
import { RUN_ID_PATTERN } from '../../core/storage';
import { Redis } from 'ioredis';

/** How an alias came to name its run. */
export type AliasMoveKind = 'manual' | 'gate' | 'rollback';

/** One move of an alias, as its history lists it (newest first). */
export interface AliasMove {
  run: string;
  /** the run the alias named before the move; null when it named none */
  previous: string | null;
  how: AliasMoveKind;
  at: string;
}

/** Moves kept per alias. */
const HISTORY_LENGTH = 100;

/**
 * Set alias ARGV[1] to run ARGV[2] when it names ARGV[3] ("" for none, "*" for whatever it names), and
 * push the move ARGV[4] (AliasMove JSON, its `previous` filled in here) on its history, in one step.
 * Returns {1, previous} when moved, {0, current} when the alias named another run.
 */
const MOVE_ALIAS = `
local current = redis.call('hget', KEYS[1], ARGV[1]) or ''
if ARGV[3] ~= '*' and current ~= ARGV[3] then return {0, current} end
redis.call('hset', KEYS[1], ARGV[1], ARGV[2])
local move = cjson.decode(ARGV[4])
if current == '' then move['previous'] = cjson.null else move['previous'] = current end
redis.call('lpush', KEYS[2], cjson.encode(move))
redis.call('ltrim', KEYS[2], 0, tonumber(ARGV[5]) - 1)
return {1, current}`;

export interface MoveResult {
  moved: boolean;
  /** the run the alias named before (when moved) or names now (when not); null for none */
  previous: string | null;
}

/**
 * Point alias `name` at `runId` and record the move in its history. With `expected` (a run id, or null
 * for "no run"), only while the alias still names that run: a gate that judged against one champion
 * never overwrites a move made meanwhile.
 */
export async function moveAlias(
  redis: Redis,
  keys: RunKeys,
  name: string,
  runId: string,
  how: AliasMoveKind,
  expected?: string | null,
): Promise<MoveResult> {
  const move = JSON.stringify({ run: runId, previous: null, how, at: new Date().toISOString() });
  const guard = expected === undefined ? '*' : (expected ?? '');
  const [moved, previous] = (await redis.eval(
    MOVE_ALIAS,
    2,
    keys.aliases,
    keys.aliasHistory(name),
    name,
    runId,
    guard,
    move,
    HISTORY_LENGTH,
  )) as [number, string];
  return { moved: moved === 1, previous: previous === '' ? null : previous };
}

/** An alias's moves, newest first. */
export async function aliasHistory(
  redis: Redis,
  keys: RunKeys,
  name: string,
  limit = 20,
): Promise<AliasMove[]> {
  const raw = await redis.lrange(keys.aliasHistory(name), 0, limit - 1);
  return raw.map((m) => JSON.parse(m) as AliasMove);
}

/** Nothing to roll back to (→ 409). */
export class NoPreviousVersion extends Error {
  override readonly name = 'NoPreviousVersion';
}

/**
 * The run the alias named before the move that put its current run in place: the history read newest
 * first, each rollback cancelling the move it undid, so repeated rollbacks walk further back.
 */
function rollbackTarget(moves: readonly AliasMove[], current: string): string | null {
  let undone = 0;
  for (const m of moves) {
    if (m.how === 'rollback') undone++;
    else if (undone > 0) undone--;
    else return m.run === current ? m.previous : null;
  }
  return null;
}

/**
 * Return alias `name` to the run it named before its last move (rollbacks skip the moves they undid).
 * NoPreviousVersion when there is none, or when that run is no longer a completed run.
 */
export async function rollbackAlias(
  ctx: RunsContext,
  name: string,
): Promise<{ alias: string; run: string; from: string }> {
  const current = await ctx.redis.hget(ctx.keys.aliases, name);
  if (current === null)
    throw new NoPreviousVersion(`no alias ${JSON.stringify(name)}: GET /models lists them`);
  const moves = (await ctx.redis.lrange(ctx.keys.aliasHistory(name), 0, -1)).map(
    (m) => JSON.parse(m) as AliasMove,
  );
  const target = rollbackTarget(moves, current);
  if (target === null)
    throw new NoPreviousVersion(`alias ${JSON.stringify(name)} has no previous version to return to`);
  const record = RUN_ID_PATTERN.test(target) ? await ctx.store.read(target) : null;
  if (!record || record.state !== 'completed')
    throw new NoPreviousVersion(
      `alias ${JSON.stringify(name)}'s previous version, run ${target}, is no longer a completed run`,
    );
  const { moved, previous } = await moveAlias(ctx.redis, ctx.keys, name, target, 'rollback', current);
  if (!moved)
    throw new NoPreviousVersion(
      `alias ${JSON.stringify(name)} moved to ${previous ?? 'nothing'} meanwhile: look again (GET /models)`,
    );
  await emitModelPromoted(ctx, { alias: name, run: target, previous: current });
  return { alias: name, run: target, from: current };
}
