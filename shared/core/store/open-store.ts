import { ArtifactStore } from './artifact-store';
import { FileStore } from './file-store';
import type { StoreLocation } from './store-location';

/**
 * The store at a location. The S3 backend is loaded only when a location names it: the AWS SDK costs about
 * 0.15 s at start-up, which every sandboxed child would pay on the file backend otherwise.
 */
export function openStore(location: StoreLocation): ArtifactStore {
  if (location.kind === 'file') return new FileStore(location.root);
  const { S3Store } = require('./s3-store') as typeof import('./s3-store');
  const { kind: _kind, ...s3 } = location;
  return new S3Store(s3);
}
