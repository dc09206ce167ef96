import path from 'node:path';
import { TicketflowConfig } from '../../shared/config/config';

/** Resolve a job's dataset reference: absolute paths as given, relative ones inside this worker's data root. */
export function datasetPath(config: TicketflowConfig, dataset: string): string {
  return path.isAbsolute(dataset) ? dataset : path.resolve(config.dataDir, dataset);
}
