/**
 * Budgets for reading a dataset. A hostile or broken file — a JSON string that never ends, a line without
 * a newline, a CSV quote never closed, gigabytes of one record — must fail the run on its first attempt
 * with a message naming the file, the record and the byte offset, rather than fill a worker's memory or
 * run until the stage times out on every one of its retries. Each budget is far above what real data
 * needs, so only pathological input reaches one.
 */

/**
 * Bytes one record may take: a JSON array element, a JSON line or a CSV row (the header row too). Readers
 * hold one record in memory before parsing it, so this bounds their memory. The longest narrative of the
 * CFPB data is ~30 KB and a whole hit a few KB more: 10 MiB is ~300× that.
 */
export const MAX_RECORD_BYTES = 10 * 1024 * 1024;

/**
 * Bytes one text-processing chunk job may read. A chunk holds at most `chunkSize` records **and** at most
 * this many bytes: planning closes a chunk early when the next record would take it past this, so a dataset
 * of long records still gives chunk jobs of bounded work (2,000 typical CFPB hits take ~3 MB). A chunk
 * range above it in job data (never planned so) is refused.
 */
export const MAX_CHUNK_BYTES = 64 * 1024 * 1024;

/**
 * Chunks a large file is cut into at most (about): a chunk also holds at least 1/MAX_CHUNKS of the file's
 * bytes, so past MAX_CHUNKS × `chunkSize` records it grows beyond `chunkSize` records. Each chunk job has
 * costs of its own (its hand-off, its files, its part of the merge): ~20 ms of CPU a chunk at 1.6M tickets
 * on the reference machine, where 2,000-record chunks (797) took stage 1 54–60 s and 256 chunks 48–52 s.
 * 256 still gives each of 24 worker slots (a dozen 2-core machines) ~10 chunks to balance.
 */
export const MAX_CHUNKS = 256;

/**
 * Wall time the boundary scan that plans chunks may take. The scan runs at 100–300 MB/s (~0.1 s for the
 * 25 MB dev file, under 1 s for the 80 MB Kaggle file), so 300 s means tens of GB: beyond that the input,
 * not the worker, is the problem, and it fails at once instead of being scanned again on every retry
 * until the stage's own timeout (30 min).
 */
export const PLAN_TIME_LIMIT_MS = 300_000;

/** A byte count in words for messages: "10 MiB", "1.5 KiB", "12 bytes". */
export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${+(n / (1024 * 1024)).toFixed(1)} MiB`;
  if (n >= 1024) return `${+(n / 1024).toFixed(1)} KiB`;
  return `${n} bytes`;
}
