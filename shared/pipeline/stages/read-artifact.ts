import { ArtifactNotFound } from '../../core/store/artifact-store';
import { RunArtifacts, artifactKey } from './context';

/** A run's JSON artifact; a missing one names the stage order as the cure. */
export async function readArtifactJson<T>(ctx: RunArtifacts, name: string): Promise<T> {
  const key = artifactKey(ctx, name);
  return ctx.store.getJson<T>(key).catch((err: unknown) => {
    if (err instanceof ArtifactNotFound)
      throw new Error(`cannot read ${key} in ${ctx.store.url}: run the stage that writes it first`, {
        cause: err,
      });
    throw err;
  });
}
