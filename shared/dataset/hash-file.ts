import fs from 'node:fs';
import { createHash } from 'node:crypto';

export interface FileDigest {
  sha256: string;
  bytes: number;
}

/** SHA-256 and size of a file, streamed: the dataset's identity in run records and stage cache keys. */
export async function hashFile(file: string): Promise<FileDigest> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const piece of fs.createReadStream(file, { highWaterMark: 1 << 20 })) {
    hash.update(piece as Buffer);
    bytes += (piece as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}
