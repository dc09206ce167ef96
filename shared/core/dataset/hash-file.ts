import { createHash } from 'node:crypto';
import { readPieces, withDataset, type DatasetFile } from './open-dataset';

export interface FileDigest {
  sha256: string;
  bytes: number;
}

/**
 * SHA-256 and size of a file, streamed: the dataset's identity in run records and stage cache keys. The
 * file is opened as a dataset (openDataset: BadInputError unless it is a regular file — hashing
 * /dev/zero would never end, a FIFO would block) and read through that descriptor.
 */
export async function hashFile(source: string | DatasetFile): Promise<FileDigest> {
  return withDataset(source, async (ds) => {
    const hash = createHash('sha256');
    let bytes = 0;
    for await (const piece of readPieces(ds)) {
      hash.update(piece);
      bytes += piece.length;
    }
    return { sha256: hash.digest('hex'), bytes };
  });
}
