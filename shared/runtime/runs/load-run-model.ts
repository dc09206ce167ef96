import { ArtifactNotFound, ArtifactStore } from '../../core/store/artifact-store';
import { runKey } from '../../core/storage';
import { ARTIFACTS } from '../../pipeline/stages/context';
import {
  assembleModel,
  checkAndPack,
  InvalidModelError,
  LoadedModel,
  parseModelJson,
} from '../../pipeline/model/load-model';
import { loadModelOffThread } from '../../pipeline/model/load-off-thread';

/**
 * A run's `model.json`, loaded: on the file backend read, parsed and packed in a worker thread (off the
 * thread that answers requests); from another store fetched whole and parsed here. Errors are
 * InvalidModelError naming the artifact; a missing one carries the cause code ENOENT, as a missing file does.
 */
export async function loadRunModel(store: ArtifactStore, runId: string): Promise<LoadedModel> {
  const key = runKey(runId, ARTIFACTS.model);
  if (store.localPath) return loadModelOffThread(store.localPath(key));
  const where = store.locate(key);
  const notRead = (err: unknown): never => {
    const missing = err instanceof ArtifactNotFound;
    const cause = missing ? Object.assign(new Error('ENOENT'), { code: 'ENOENT' }) : err;
    throw new InvalidModelError(
      `cannot read model ${where}: ${missing ? 'ENOENT' : (err as Error).message}`,
      {
        cause,
      },
    );
  };
  const stat = await store.stat(key).catch(notRead);
  if (stat === undefined) notRead(new ArtifactNotFound(store.url, key));
  const parsed = await parseModelJson(where, stat!.size, {
    whole: () => store.get(key).catch(notRead),
    stream: () => store.openRead(key).catch(notRead),
  });
  try {
    return assembleModel(checkAndPack(parsed));
  } catch (err) {
    if (err instanceof InvalidModelError) throw new InvalidModelError(`${where}: ${err.message}`);
    throw err;
  }
}
