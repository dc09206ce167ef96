import path from 'node:path';
import { BadInputError } from '../errors';
import { placeInDataRoot } from './data-root';
import { datasetFileProblem } from './open-dataset';

/**
 * Resolve a dataset named relative to the data root; anything that escapes the root (.., absolute
 * paths, symlinks pointing out) or is not a readable regular file (a directory, a FIFO, a socket, a
 * device: opened with O_NONBLOCK and checked with fstat, see openDataset) is refused with the reason.
 * Workers check again when they open it (a file may change after this check).
 */
export async function resolveDataset(dataDir: string, dataset: unknown): Promise<string> {
  if (typeof dataset !== 'string' || dataset.trim() === '') {
    throw new BadInputError('"dataset" must be a path relative to the data root, e.g. "complaints.json"');
  }
  if (path.isAbsolute(dataset))
    throw new BadInputError(`"dataset" must be relative to the data root (${dataDir}), got an absolute path`);
  const place = await placeInDataRoot(dataDir, dataset);
  if (place.kind === 'no-root')
    throw new Error(
      `the data root ${dataDir} does not exist: set TICKETFLOW_DATA_DIR to the folder holding your datasets`,
      { cause: place.cause },
    );
  if (place.kind === 'outside')
    throw new BadInputError(`"dataset" ${JSON.stringify(dataset)} resolves outside the data root ${dataDir}`);
  if (place.kind === 'unresolved')
    throw new BadInputError(
      `"dataset" ${JSON.stringify(dataset)} does not exist in the data root ${dataDir}`,
    );
  const problem = await datasetFileProblem(place.real);
  if (problem !== null)
    throw new BadInputError(
      `"dataset" ${JSON.stringify(dataset)} is not a file to read as a dataset: ${problem.replace(/^is /, 'it is ')}`,
    );
  return place.relative;
}
