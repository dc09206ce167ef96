/**
 * Loading a `model.json` in a worker thread (model-load-thread.ts): the thread reads, parses, validates
 * and packs it; this thread receives the packed arrays (transferred, not copied) and only wraps them.
 * A process answering requests therefore never spends a large model's parse time on its event loop.
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { Limiter } from '../../core/io/limiter';
import { InvalidModelError, LoadedModel, assembleModel } from './load-model';
import type { LoadThreadMessage } from './model-load-thread';

/**
 * Loads at once; further ones wait. Each parse briefly holds the file's text and its parsed arrays (a few
 * times the file's size), so this bounds the memory loads take together.
 */
export const MAX_PARALLEL_LOADS = 2;

const THREAD_FILE = path.join(__dirname, 'model-load-thread.js');
const loads = new Limiter(MAX_PARALLEL_LOADS);

/** Read and load `file` in a worker thread; errors as readModel's (InvalidModelError naming the file). */
export function loadModelOffThread(file: string): Promise<LoadedModel> {
  return loads.run(async () => {
    const message = await new Promise<LoadThreadMessage>((resolve, reject) => {
      const worker = new Worker(THREAD_FILE, { workerData: { file } });
      let answered = false;
      worker.once('message', (m: LoadThreadMessage) => {
        answered = true;
        resolve(m);
      });
      worker.once('error', (err) =>
        reject(new Error(`loading model file ${file} failed in its thread: ${err.message}`, { cause: err })),
      );
      worker.once('exit', (code) => {
        if (!answered)
          reject(new Error(`loading model file ${file}: its thread exited (code ${code}) without an answer`));
      });
    });
    if ('error' in message) {
      const { message: text, invalid, code } = message.error;
      const cause = code ? Object.assign(new Error(code), { code }) : undefined;
      throw invalid ? new InvalidModelError(text, { cause }) : new Error(text, { cause });
    }
    return assembleModel(message.packed);
  });
}
