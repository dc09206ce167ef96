import type { TicketflowConfig } from '../config/config';
import type { DatasetSource } from './dataset-source';
import { FileDatasets } from './file-datasets';

const sources = new Map<string, DatasetSource>();

/**
 * The dataset source of a configuration, one per location and process (the S3 client and the hash cache
 * are shared by every request). The file source's root is `config.dataDir`, which a caller may point
 * elsewhere ({...config, dataDir}). The S3 one is loaded only when named: the AWS SDK costs start-up time
 * every sandboxed child would pay otherwise.
 */
export function openDatasetSource(config: Pick<TicketflowConfig, 'data' | 'dataDir'>): DatasetSource {
  const location = config.data;
  const key = location.kind === 'file' ? `file:${config.dataDir}` : JSON.stringify(location);
  const known = sources.get(key);
  if (known !== undefined) return known;
  let source: DatasetSource;
  if (location.kind === 'file') source = new FileDatasets(config.dataDir);
  else {
    const { ObjectDatasets } = require('./object-datasets') as typeof import('./object-datasets');
    const { kind: _kind, ...s3 } = location;
    source = new ObjectDatasets(s3);
  }
  sources.set(key, source);
  return source;
}
