import { ArtifactStore } from './artifact-store';
import { FileStore } from './file-store';
import { S3Store } from './s3-store';
import type { StoreLocation } from './store-location';

/** The store at a location. */
export function openStore(location: StoreLocation): ArtifactStore {
  if (location.kind === 'file') return new FileStore(location.root);
  const { kind: _kind, ...s3 } = location;
  return new S3Store(s3);
}
