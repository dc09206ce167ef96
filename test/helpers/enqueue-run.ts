import path from 'node:path';
import { RunsContext } from '../../shared/runtime/runs/context';
import { submitRun } from '../../shared/runtime/runs/submit';

export interface EnqueueRunInput {
  /** absolute path, or a path relative to the workers' data root */
  dataset: string;
  /** per-run overrides of the pipeline parameters (validated here), and `cache: false` */
  params?: unknown;
}

/** Submit a run of a dataset this process can read as the workers do; returns the run id. */
export async function enqueueRun(runs: RunsContext, input: EnqueueRunInput): Promise<string> {
  const datasetFile = path.isAbsolute(input.dataset)
    ? input.dataset
    : path.resolve(runs.config.dataDir, input.dataset);
  return (await submitRun(runs, { dataset: input.dataset, datasetFile, params: input.params })).record.id;
}
