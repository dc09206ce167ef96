import { ArtifactStore } from '../../core/store/artifact-store';
import { runKey, runPrefix } from '../../core/storage';
import { ARTIFACTS } from '../../pipeline/stages/context';

/**
 * What writes cut short left under a run's artifacts (temporary files locally, incomplete multipart
 * uploads on S3); returns how many went.
 */
export function removeAbandonedWrites(store: ArtifactStore, runId: string): Promise<number> {
  return store.removeAbandonedWrites(runPrefix(runId));
}

/** Intermediate outputs (chunks, search folds): once a run is cancelled nobody needs them. */
export async function removeChunkOutputs(store: ArtifactStore, runId: string): Promise<void> {
  await store.removePrefix(`${runKey(runId, ARTIFACTS.chunksDir)}/`);
  await store.removePrefix(`${runKey(runId, ARTIFACTS.searchDir)}/`);
}
