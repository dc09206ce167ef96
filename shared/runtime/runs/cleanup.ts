import fsp from 'node:fs/promises';
import path from 'node:path';
import { ARTIFACTS } from '../../pipeline/stages/context';

/**
 * Temporary names of writes cut short (see storage.ts: `.<name>.<pid>.<random>.tmp`), in a run's folder,
 * its chunks/ and search/.
 */
export async function removeTemporaryFiles(dir: string): Promise<number> {
  let removed = 0;
  for (const folder of [dir, path.join(dir, ARTIFACTS.chunksDir), path.join(dir, ARTIFACTS.searchDir)]) {
    const names = await fsp.readdir(folder).catch(() => [] as string[]);
    const doomed = names.filter((n) => n.startsWith('.') && n.endsWith('.tmp'));
    await Promise.all(doomed.map((n) => fsp.rm(path.join(folder, n), { force: true })));
    removed += doomed.length;
  }
  return removed;
}

/** Intermediate outputs (chunks, search folds): once a run is cancelled nobody needs them. */
export async function removeChunkOutputs(dir: string): Promise<void> {
  await fsp.rm(path.join(dir, ARTIFACTS.chunksDir), { recursive: true, force: true });
  await fsp.rm(path.join(dir, ARTIFACTS.searchDir), { recursive: true, force: true });
}
