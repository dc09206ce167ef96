import { DEFAULT_PIPELINE_PARAMS } from '../../shared/core/config/pipeline-params';
import { stageJobId } from '../../shared/runtime/flow/job-types';
import { PipelineParams } from '../../shared/core/config/pipeline-params';
import { deriveRunFields, initialStages, RunRecord, StageRecord } from '../../shared/runtime/runs/record';
import { stageCacheKeys } from '../../shared/runtime/runs/stage-cache';

/**
 * A run record made by hand (no run behind it), for tests of code that only reads records: `stages`
 * rewrites the four initial (pending) stages, `fields` overrides the rest before the run-level fields are
 * derived.
 */
export function makeRecord(
  id: string,
  createdAt: string,
  stages: (s: StageRecord, index: number) => StageRecord = (s) => s,
  fields: Partial<RunRecord> = {},
): RunRecord {
  const keys = stageCacheKeys('0'.repeat(64), DEFAULT_PIPELINE_PARAMS);
  return deriveRunFields(
    {
      id,
      state: 'waiting',
      dataset: 'x.json',
      datasetSha256: '0'.repeat(64),
      datasetBytes: 1,
      params: { ...DEFAULT_PIPELINE_PARAMS },
      cache: true,
      codeVersion: 'test',
      createdAt,
      startedAt: null,
      finishedAt: null,
      durationSeconds: null,
      progress: 0,
      generation: 1,
      stages: initialStages(keys, 4).map(stages),
      error: null,
      metrics: null,
      warnings: [],
      events: [{ at: createdAt, event: 'created' }],
      ...fields,
    },
    new Date(createdAt),
  );
}

/**
 * An active run whose text processing started at `at` and whose jobs (never added) are not in Redis: what
 * a reader finds when a run's jobs were lost.
 */
export function activeRunWithoutJobs(id: string, at: string, params: PipelineParams): RunRecord {
  return makeRecord(
    id,
    at,
    (s) => ({
      ...s,
      jobId: stageJobId(id, s.stage),
      generation: 1,
      state: s.stage === 'text-processing' ? ('active' as const) : s.state,
      startedAt: s.stage === 'text-processing' ? at : null,
    }),
    { state: 'active', startedAt: at, params },
  );
}
