/**
 * A worker thread's body: read, parse, validate and pack one `model.json` (workerData.file), post the
 * packed model back with its buffers transferred, and end. The parse of a large model (~150 ms for 24 MB)
 * happens here, off the thread that answers requests.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { InvalidModelError, readPackedModel } from './load-model';
import { packedBuffers } from './packed-model';

/** What the thread posts: the packed model, or why it could not load it. */
export type LoadThreadMessage =
  | { packed: import('./packed-model').PackedModel }
  | { error: { message: string; invalid: boolean; code?: string } };

const file = (workerData as { file: string }).file;
readPackedModel(file).then(
  (packed) => parentPort!.postMessage({ packed } satisfies LoadThreadMessage, packedBuffers(packed)),
  (err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    // The errno code crosses the thread so callers can tell a missing file (a model gone) from a bad one.
    const code = ((err as Error).cause as NodeJS.ErrnoException | undefined)?.code;
    parentPort!.postMessage({
      error: { message, invalid: err instanceof InvalidModelError, ...(code ? { code } : {}) },
    } satisfies LoadThreadMessage);
  },
);
