import { randomBytes } from 'node:crypto';

/** A run id that sorts by creation time and is unique across producers: `20261126-130512-3f9a1c`. */
export function newRunId(now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}
