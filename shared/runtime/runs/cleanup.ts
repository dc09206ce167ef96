import { ArtifactStore } from '../../core/store/artifact-store';
import { FileStore } from '../../core/store/file-store';
import { runKey, runPrefix } from '../../core/storage';
import { ARTIFACTS } from '../../pipeline/stages/context';

/**
 * Temporary files of writes cut short (the file backend's `.<name>.<pid>.<random>.tmp`) under a run's
 * artifacts; a store whose puts leave nothing visible when cut short has none. Returns how many went.
 */
export async function removeTemporaryFiles(store: ArtifactStore, runId: string): Promise<number> {
  return store instanceof FileStore ? store.removeTemporaryFiles(runPrefix(runId)) : 0;
}

/** Intermediate outputs (chunks, search folds): once a run is cancelled nobody needs them. */
export async function removeChunkOutputs(store: ArtifactStore, runId: string): Promise<void> {
  await store.removePrefix(`${runKey(runId, ARTIFACTS.chunksDir)}/`);
  await store.removePrefix(`${runKey(runId, ARTIFACTS.searchDir)}/`);
}
