/** What the chunk planners of every format share: the time and UTF-8 checks, and closing chunks at their budgets. */
import { badInput, type BadInputError, type InputLocation } from '../../errors';
import { UTF8_ADVICE } from '../json-array-scanner';
import type { Limits, TicketRange } from './format';

export function checkTime(limits: Limits, offset: number, where: InputLocation): void {
  if (performance.now() <= limits.deadline) return;
  throw badInput(
    where,
    `planning chunks stopped after ${limits.timeLimitMs / 1000} s (PLAN_TIME_LIMIT_MS) at byte ${offset} of ` +
      `${limits.size}: the file is too large or too slow to read; split it into smaller datasets`,
  );
}

export function notUtf8(where: InputLocation, at: number, cut = false): BadInputError {
  return badInput(
    where,
    `not valid UTF-8 at byte ${at}${cut ? ' (the file ends inside a character)' : ''}${UTF8_ADVICE}`,
  );
}

/**
 * Appends `el` to the open chunk, or opens a new one when that is full: `chunkSize` records and at least
 * `minChunkBytes`, or `el` would take it past `maxChunkBytes`.
 */
export function addRecord(
  chunks: TicketRange[],
  state: { inChunk: number },
  limits: Limits,
  el: { offset: number; end: number; index: number; headerEnd?: number },
): void {
  const open = chunks[chunks.length - 1];
  if (
    open === undefined ||
    (state.inChunk >= limits.chunkSize && open.end - open.start >= limits.minChunkBytes) ||
    el.end - open.start > limits.maxChunkBytes
  ) {
    if (open !== undefined) limits.onChunk?.(open, chunks.length - 1);
    chunks.push({
      start: el.offset,
      end: el.end,
      firstRecord: el.index,
      ...(el.headerEnd !== undefined ? { headerEnd: el.headerEnd } : {}),
    });
    state.inChunk = 1;
    return;
  }
  open.end = el.end;
  state.inChunk++;
}
