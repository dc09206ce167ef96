/**
 * A run trains on the bytes its record names (`datasetSha256`, `datasetBytes`), not on whatever the file
 * holds when a worker gets to it. Stage 1's parent job hashes the file while it plans the chunks and fails
 * when the digest differs; it hands the chunk jobs the file's identity as it was while hashed (size,
 * mtime, ctime, inode; an object's size, ETag, Last-Modified: dataset-identity.ts), and each chunk checks
 * what it opened against that identity before and after
 * reading its range. A chunk that sees another identity (a copy of the dataset on another machine, a
 * `touch`) hashes the file itself before trusting it, so only a real change fails the run.
 *
 * A changed dataset is bad input: the run fails on the first attempt (retrying reads the same new bytes),
 * with a message naming the file. Nothing reaches the stage cache, which records a stage only when it
 * completes.
 */
import { createHash } from 'node:crypto';
import { BadInputError } from '../errors';
import { hashFile } from './hash-file';
import type { DatasetFile } from './open-dataset';
import { identityChange, sameIdentity, type DatasetIdentity } from './dataset-identity';
import { planChunks, type ChunkPlan, type FoundChunk, type PlanOptions } from './plan-chunks';

export {
  identityChange,
  identityOf,
  sameIdentity,
  type DatasetIdentity,
  type FileIdentity,
  type ObjectIdentity,
} from './dataset-identity';

/** The bytes a run's record names, and the identity stage 1 saw while it verified them. */
export interface DatasetCheck {
  sha256: string;
  bytes: number;
  identity: DatasetIdentity;
}

/** The identity of what is read (fstat of a descriptor, HEAD of an object), whatever the name names by now. */
export async function fileIdentity(ds: DatasetFile): Promise<DatasetIdentity> {
  return (await ds.identify()).identity;
}

/** The dataset's bytes are not those of the run's record: bad input, as retrying reads the same bytes. */
export class DatasetChangedError extends BadInputError {
  override readonly name: string = 'DatasetChangedError';
}

export function datasetChanged(
  file: string,
  expected: { sha256: string; bytes: number },
  detail: string,
  cause?: unknown,
): DatasetChangedError {
  return new DatasetChangedError(
    `${file}: the dataset changed since the run was submitted (${detail}); the run's record names ` +
      `${expected.bytes} bytes with SHA-256 ${expected.sha256}: start a new run to train on the file as it is now`,
    cause === undefined ? undefined : { cause },
  );
}

/**
 * Plan the chunks of an open dataset and verify, in the same pass, that its bytes are those the run's
 * record names: the planner's pieces go through SHA-256, and the descriptor's identity must not move
 * while they are read. When planning fails on the data (bad input part-way), the file is hashed to the
 * end first, so a changed file is reported as changed rather than by what is wrong with its new bytes.
 * Returns the plan and what the chunk jobs check: the verified bytes and the identity they had.
 *
 * `onChunk` sees each chunk as soon as its range is final, with the check the plan returns should it
 * succeed (the record's bytes, the identity the file had when the scan began): chunk jobs may start on
 * it while the scan goes on. Should the file then turn out changed, the plan fails, and so does any chunk
 * that reads it after the change (checkChunkDataset sees another identity and hashes the file).
 */
export async function planVerified(
  ds: DatasetFile,
  expected: { sha256: string; bytes?: number },
  chunkSize: number,
  opts: Omit<PlanOptions, 'onChunk'> & {
    onChunk?: (chunk: FoundChunk & { check: DatasetCheck }) => void;
  } = {},
): Promise<{ plan: ChunkPlan; check: DatasetCheck }> {
  const before = await fileIdentity(ds);
  if (expected.bytes !== undefined && before.size !== expected.bytes) {
    throw datasetChanged(ds.path, { ...expected, bytes: expected.bytes }, `it holds ${before.size} bytes`);
  }
  const hash = createHash('sha256');
  let bytes = 0;
  let plan: ChunkPlan;
  const { onChunk, ...planOptions } = opts;
  const provisional: DatasetCheck = {
    sha256: expected.sha256,
    bytes: expected.bytes ?? before.size,
    identity: before,
  };
  try {
    plan = await planChunks(ds, chunkSize, {
      ...planOptions,
      ...(onChunk ? { onChunk: (chunk: FoundChunk) => onChunk({ ...chunk, check: provisional }) } : {}),
      onPiece: (piece) => {
        hash.update(piece);
        bytes += piece.length;
      },
    });
  } catch (err) {
    if (!(err instanceof BadInputError)) throw err;
    const now = await hashFile(ds).catch(() => null);
    if (now !== null && now.sha256 !== expected.sha256)
      throw datasetChanged(ds.path, withBytes(expected, now.bytes), `SHA-256 ${now.sha256}`, err);
    throw err;
  }
  const sha256 = hash.digest('hex');
  if (sha256 !== expected.sha256)
    throw datasetChanged(ds.path, withBytes(expected, bytes), `${bytes} bytes with SHA-256 ${sha256}`);
  const after = await fileIdentity(ds);
  if (!sameIdentity(before, after))
    throw datasetChanged(
      ds.path,
      withBytes(expected, bytes),
      `written while read: ${identityChange(before, after)}`,
    );
  return { plan, check: { sha256, bytes, identity: after } };
}

const withBytes = (expected: { sha256: string; bytes?: number }, bytes: number) => ({
  sha256: expected.sha256,
  bytes: expected.bytes ?? bytes,
});

/** Identities (with the device, or the object's URL) this process has hashed and found to hold the record's bytes. */
const verified = new Map<string, string>();

/**
 * A chunk's check before it reads its range: the open descriptor must be the file stage 1 verified. When
 * its identity differs, the file is hashed (once per identity and process) and must hold the record's
 * bytes. Returns the identity to check again after reading (`checkUnchanged`).
 */
export async function checkChunkDataset(ds: DatasetFile, check: DatasetCheck): Promise<DatasetIdentity> {
  const { identity: now, key } = await ds.identify();
  if (sameIdentity(now, check.identity)) return now;
  if (now.size !== check.bytes)
    throw datasetChanged(
      ds.path,
      check,
      `it holds ${now.size} bytes: ${identityChange(check.identity, now)}`,
    );
  if (verified.get(key) !== check.sha256) {
    const digest = await hashFile(ds);
    if (digest.sha256 !== check.sha256) {
      throw datasetChanged(
        ds.path,
        check,
        `SHA-256 ${digest.sha256}: ${identityChange(check.identity, now)}`,
      );
    }
    const after = await fileIdentity(ds);
    if (!sameIdentity(now, after))
      throw datasetChanged(ds.path, check, `written while read: ${identityChange(now, after)}`);
    verified.set(key, check.sha256);
  }
  return now;
}

/** After reading: the descriptor's identity must be the one checked before, or the bytes read may be mixed. */
export async function checkUnchanged(
  ds: DatasetFile,
  check: DatasetCheck,
  before: DatasetIdentity,
): Promise<void> {
  const now = await fileIdentity(ds);
  if (!sameIdentity(before, now))
    throw datasetChanged(ds.path, check, `written while read: ${identityChange(before, now)}`);
}
