import { createHash } from 'node:crypto';
import { PipelineParams } from '../../core/config/pipeline-params';
import { BadInputError } from '../../core/errors';
import { RUN_RECORD_FILE, runKey } from '../../core/storage';
import { ArtifactNotFound, ArtifactStore } from '../../core/store/artifact-store';

/**
 * A `labelMap` named, not copied: every job of a run would otherwise carry the whole map (a 1 MB map in
 * 53 jobs is 53 MB of Redis, and more in their events). The run's record holds it once
 * (`runs/<id>/run.json`, `params.labelMap`); jobs carry where it is, how many entries it has and its
 * SHA-256, which Bull Board shows as the parameter's value.
 */
export interface LabelMapRef {
  /** the record's file relative to the storage root, and the parameter's JSON pointer in it */
  $ref: string;
  entries: number;
  /** SHA-256 of the map's JSON */
  sha256: string;
}

/** The pipeline parameters as jobs carry them: a non-null `labelMap` as a reference. */
export type JobParams = Omit<PipelineParams, 'labelMap'> & {
  labelMap: PipelineParams['labelMap'] | LabelMapRef;
};

export function labelMapSha256(map: Record<string, string>): string {
  return createHash('sha256').update(JSON.stringify(map)).digest('hex');
}

function labelMapRefOf(runId: string): string {
  return `runs/${runId}/${RUN_RECORD_FILE}#/params/labelMap`;
}

function isLabelMapRef(value: unknown): value is LabelMapRef {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<Record<keyof LabelMapRef, unknown>>;
  return typeof v.$ref === 'string' && typeof v.sha256 === 'string' && typeof v.entries === 'number';
}

/** A run's parameters for its jobs' data: small whatever the size of its label map. */
export function jobParams(params: PipelineParams, runId: string): JobParams {
  const map = params.labelMap;
  if (map === null) return params;
  return {
    ...params,
    labelMap: { $ref: labelMapRefOf(runId), entries: Object.keys(map).length, sha256: labelMapSha256(map) },
  };
}

/**
 * Parameters from job data, with a referenced `labelMap` read from the run's record. The reference must
 * name this run's own record (job data is not trusted with paths) and the map found there must have
 * the SHA-256 the job names: a run computes with the map it was submitted with, or fails saying why.
 * A record not (or no longer) there is a plain error, so the job is retried; a mismatch is bad input.
 */
export async function resolveJobParams(
  params: JobParams,
  store: ArtifactStore,
  runId: string,
): Promise<PipelineParams> {
  const ref = params.labelMap;
  if (!isLabelMapRef(ref)) return params as PipelineParams;
  if (ref.$ref !== labelMapRefOf(runId))
    throw new BadInputError(
      `"labelMap" refers to ${JSON.stringify(ref.$ref)}: a job's label map can only be its own run's (${labelMapRefOf(runId)})`,
    );
  const recordKey = runKey(runId, RUN_RECORD_FILE);
  const file = store.locate(recordKey);
  const key = `${store.url}/${recordKey}:${ref.sha256}`;
  let map = recent.get(key) ?? null;
  if (map === null) {
    map = await readRecordLabelMap(store, recordKey, file);
    if (map === null || labelMapSha256(map) !== ref.sha256)
      throw new BadInputError(
        `"labelMap": ${file} holds ${map === null ? 'no label map' : `a label map with SHA-256 ${labelMapSha256(map)}`}, not the one this job was given (SHA-256 ${ref.sha256})`,
      );
    recent.set(key, map);
    if (recent.size > RECENT_MAX) recent.delete(recent.keys().next().value!);
  }
  return { ...params, labelMap: map };
}

/** Label maps this process read and verified, by store, record key and SHA-256: a run's jobs read its record once. */
const recent = new Map<string, Record<string, string>>();
const RECENT_MAX = 4;

async function readRecordLabelMap(
  store: ArtifactStore,
  key: string,
  file: string,
): Promise<Record<string, string> | null> {
  let text: string;
  try {
    text = (await store.get(key)).toString('utf8');
  } catch (err) {
    const why =
      err instanceof ArtifactNotFound
        ? 'ENOENT'
        : ((err as NodeJS.ErrnoException).code ?? (err as Error).message);
    throw new Error(`"labelMap": the run's record ${file} cannot be read (${why})`, { cause: err });
  }
  const params = (JSON.parse(text) as { params?: { labelMap?: Record<string, string> | null } }).params;
  return params?.labelMap ?? null;
}
