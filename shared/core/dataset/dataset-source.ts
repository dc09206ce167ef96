/**
 * Where the datasets that runs and batch classifications name live (`config.data`): the local data root
 * (file-datasets.ts) or a prefix in an S3 bucket (object-datasets.ts). The API resolves a request's
 * `dataset` and digests it through the source; workers open job data's name through it
 * (open-dataset-source.ts picks the source of a configuration). Everything past
 * the open — sniffing, planning by byte ranges, reading a chunk's range, verifying the run's bytes — works
 * on the open DatasetFile and does not know which source it came from.
 */
import type { FileDigest } from './hash-file';
import type { DatasetFile } from './open-dataset';

export interface ResolvedDataset {
  /** the name job data and the run's record carry: relative to the data root or prefix */
  name: string;
  /** the dataset as this process reads it, for messages and `digest`: a path, or the object's s3:// URL */
  location: string;
}

export interface DatasetSource {
  /** the data root or prefix, for messages: `/srv/data` or `s3://bucket/prefix` */
  readonly url: string;
  /**
   * A request's `dataset`, checked: a name inside the root or prefix (no escaping it) naming a dataset
   * that can be read as one. BadInputError naming it otherwise.
   */
  resolve(dataset: unknown): Promise<ResolvedDataset>;
  /** The location of a name a run's record carries (to check it again on retry). */
  locate(name: string): string;
  /** SHA-256 and size of a location, reused while its identity is unchanged (the API's hash cache). */
  digest(location: string): Promise<FileDigest>;
  /** Why a location cannot be read as a dataset, in words, or null. */
  problem(location: string): Promise<string | null>;
  /** Job data's dataset name, opened for reading (checked again: job data is not trusted). */
  open(name: string): Promise<DatasetFile>;
}
