/**
 * Redis answering but refusing writes: it cannot persist (`MISCONF`: its last RDB save or its append-only
 * file write failed, e.g. a full disk), it is a read-only replica (`READONLY`), or it is at `maxmemory`
 * with `noeviction` (`OOM`). Retrying cannot help until an operator acts, and the error is the same on
 * every command, so callers report it once, naming the cause, instead of as a failure of each request or
 * job. A transaction with such a command fails as a whole with `EXECABORT`; ioredis lists the commands'
 * own errors in `previousErrors`.
 */

const REFUSALS: [RegExp, string][] = [
  [/\bMISCONF\b/, 'cannot persist its data and refuses writes'],
  [/\bREADONLY You can't write\b/, 'is a read-only replica and refuses writes'],
  [/\bOOM command not allowed\b/, 'is out of memory (maxmemory) and refuses writes'],
];

export interface WriteRefusal {
  /** what Redis is in, e.g. "cannot persist its data and refuses writes" */
  what: string;
  /** Redis's own words, first sentence */
  detail: string;
}

/** The refusal behind `err` (or behind an `EXECABORT`'s previous errors), or null for any other error. */
export function writeRefusal(err: unknown): WriteRefusal | null {
  const errors = [err, ...((err as { previousErrors?: unknown[] })?.previousErrors ?? [])];
  for (const e of errors) {
    const message = (e as { message?: unknown })?.message;
    if (typeof message !== 'string') continue;
    for (const [pattern, what] of REFUSALS) {
      const match = pattern.exec(message);
      if (match) {
        const from = message.slice(match.index);
        const end = from.search(/\.(\s|$)/);
        return { what, detail: end < 0 ? from : from.slice(0, end) };
      }
    }
  }
  return null;
}
