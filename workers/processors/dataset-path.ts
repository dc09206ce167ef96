import { TicketflowConfig } from '../../shared/core/config/config';
import { DatasetFile } from '../../shared/core/dataset/open-dataset';
import { openDatasetSource } from '../../shared/core/dataset/open-dataset-source';

/**
 * Open a job's dataset reference in this worker's own dataset source (TICKETFLOW_DATA_URL, by default the
 * data root TICKETFLOW_DATA_DIR), never trusting job data for paths. In the data root a relative name
 * resolves in the root, an absolute one must lie in it, and the real path of the descriptor actually
 * opened must be inside the real root (so a symlink swapped in after the API's check is refused too); it
 * must be a regular file. Under an S3 prefix the name must be a key below the prefix, and reads are pinned
 * to the object opened. BadInputError otherwise ("outside the data root", "is a FIFO (named pipe), not a
 * regular file", "has a ".." segment", "no such object", ...). Read from the returned dataset; close it.
 */
export function openJobDataset(config: TicketflowConfig, dataset: string): Promise<DatasetFile> {
  return openDatasetSource(config).open(dataset);
}
