import { TicketflowConfig } from '../../shared/core/config/config';
import { DatasetFile, openDatasetInRoot } from '../../shared/core/dataset/open-dataset';

/**
 * Open a job's dataset reference inside this worker's own data root (TICKETFLOW_DATA_DIR), never trusting
 * job data for paths: a relative name resolves in the root, an absolute one must lie in it, and the real
 * path of the descriptor actually opened must be inside the real root (so a symlink swapped in after the
 * API's check is refused too); it must be a regular file. BadInputError otherwise ("outside the data
 * root", "is a FIFO (named pipe), not a regular file", ...). Read from the returned descriptor; close it.
 */
export function openJobDataset(config: TicketflowConfig, dataset: string): Promise<DatasetFile> {
  return openDatasetInRoot(config.dataDir, dataset);
}
