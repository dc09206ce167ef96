/**
 * Bad input: the dataset or a parameter is wrong, and retrying cannot help.
 *
 * This is the one special error class of the shared code, because it changes what a worker does:
 * processors turn it into BullMQ's `UnrecoverableError` so the job fails at once without using its
 * retries. Stage functions stay free of BullMQ. Every other failure is a plain `Error` (with `cause`).
 */
export class BadInputError extends Error {
  override readonly name: string = 'BadInputError';
}

/**
 * Writing to storage failed for a reason retrying will not fix — no space left, a read-only file system,
 * permission denied, a disk quota — so, like bad input, the job fails on its first attempt; `code` is the
 * errno code (ENOSPC, EROFS, EACCES, EDQUOT). The message names the path and the cause in words.
 */
export class StorageError extends BadInputError {
  override readonly name: string = 'StorageError';
  constructor(
    message: string,
    readonly code: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * The server that holds the input data (a bucket's endpoint) did not answer or failed: not the data's fault,
 * so a job retries it and the API answers 503 (try again), not 400 or 500.
 */
export class DataUnavailableError extends Error {
  override readonly name: string = 'DataUnavailableError';
}

/** Where in an input a problem is: the message names the file and, where it applies, record and field. */
export interface InputLocation {
  file: string;
  /** 0-based record index in the file (array element, line or CSV row after the header). */
  record?: number;
  field?: string;
}

export function badInput(where: InputLocation, problem: string, cause?: unknown): BadInputError {
  const parts = [where.file];
  if (where.record !== undefined) parts.push(`record ${where.record}`);
  if (where.field !== undefined) parts.push(`field "${where.field}"`);
  return new BadInputError(`${parts.join(', ')}: ${problem}`, cause === undefined ? undefined : { cause });
}
