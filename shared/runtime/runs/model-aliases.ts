import { Redis } from 'ioredis';
import { RunKeys } from './keys';

/** Remove every alias whose value is ARGV[1], atomically (an alias moved meanwhile stays); returns the names. */
const DROP_ALIASES_OF = `
local removed = {}
local flat = redis.call('hgetall', KEYS[1])
for i = 1, #flat, 2 do
  if flat[i + 1] == ARGV[1] then
    redis.call('hdel', KEYS[1], flat[i])
    removed[#removed + 1] = flat[i]
  end
end
return removed`;

/** Point alias ARGV[1] at ARGV[2], atomically; returns the run it named before (false: none). */
const MOVE_ALIAS = `
local previous = redis.call('hget', KEYS[1], ARGV[1])
redis.call('hset', KEYS[1], ARGV[1], ARGV[2])
return previous`;

/** Point alias `name` at run `runId`; returns the run it named before, or null when it is new. */
export async function moveAlias(
  redis: Redis,
  keys: RunKeys,
  name: string,
  runId: string,
): Promise<string | null> {
  return (await redis.eval(MOVE_ALIAS, 1, keys.aliases, name, runId)) as string | null;
}

/** The aliases that name run `runId`, sorted. */
export async function aliasesOf(redis: Redis, keys: RunKeys, runId: string): Promise<string[]> {
  const all = await redis.hgetall(keys.aliases);
  return Object.keys(all)
    .filter((name) => all[name] === runId)
    .sort();
}

/** Remove the aliases that name run `runId`; returns their names, sorted. */
export async function dropAliasesOf(redis: Redis, keys: RunKeys, runId: string): Promise<string[]> {
  const removed = (await redis.eval(DROP_ALIASES_OF, 1, keys.aliases, runId)) as string[];
  return removed.sort();
}
