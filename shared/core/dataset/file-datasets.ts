/** Datasets as files in the local data root (TICKETFLOW_DATA_DIR): the default dataset source. */
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { DatasetSource, ResolvedDataset } from './dataset-source';
import type { FileDigest } from './hash-file';
import { datasetDigests } from './hash-cache';
import { datasetFileProblem, openDatasetInRoot, type LocalDatasetFile } from './open-dataset';
import { resolveDataset } from './resolve-dataset';

export class FileDatasets implements DatasetSource {
  constructor(readonly url: string) {}

  async resolve(dataset: unknown): Promise<ResolvedDataset> {
    const name = await resolveDataset(this.url, dataset);
    return { name, location: path.join(await fsp.realpath(this.url), name) };
  }

  /** Relative names are in the data root; a record's absolute path (the CLI's) stands as it is. */
  locate(name: string): string {
    return path.isAbsolute(name) ? name : path.resolve(this.url, name);
  }

  digest(location: string): Promise<FileDigest> {
    return datasetDigests.digest(location);
  }

  problem(location: string): Promise<string | null> {
    return datasetFileProblem(location);
  }

  open(name: string): Promise<LocalDatasetFile> {
    return openDatasetInRoot(this.url, name);
  }
}
