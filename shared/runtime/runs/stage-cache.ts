import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { PipelineParams } from '../../core/config/pipeline-params';
import { STAGES, StageName, stageDefinition } from '../../pipeline/stages/definitions';
import { runKey } from '../../core/storage';
import { ArtifactNotFound, ArtifactStore } from '../../core/store/artifact-store';
import { stageCodeIdentities } from './code-identity';
import { RunKeys } from './keys';

/**
 * Each stage's key: a hash of what determines its output — the stage's code identity (a hash of its
 * compiled code, code-identity.ts), the parameters its definition lists (in that order), and the upstream stage's key (for the first
 * stage, the dataset's bytes by their SHA-256).
 */
export function stageCacheKeys(
  datasetSha256: string,
  params: PipelineParams,
  code: Record<StageName, string> = stageCodeIdentities(),
): Record<StageName, string> {
  const keys = {} as Record<StageName, string>;
  let upstream = `dataset:${datasetSha256}`;
  for (const stage of STAGES) {
    const read = Object.fromEntries(stageDefinition(stage).params.map((p) => [p, params[p]]));
    const material = JSON.stringify({ stage, code: code[stage], upstream, params: read });
    upstream = createHash('sha256').update(material).digest('hex');
    keys[stage] = upstream;
  }
  return keys;
}

export interface CacheEntry {
  stage: StageName;
  /** the run whose artifacts hold this output */
  runId: string;
  /** the stage's return value in that run */
  result: unknown;
  at: string;
}

export class StageCache {
  constructor(
    private readonly artifacts: ArtifactStore,
    private readonly redis: Redis,
    private readonly keys: RunKeys,
  ) {}

  async get(key: string): Promise<CacheEntry | null> {
    const raw = await this.redis.get(this.keys.cache(key));
    return raw ? (JSON.parse(raw) as CacheEntry) : null;
  }

  /** Remember a completed stage's output; the first run to complete it stays its source. */
  async put(key: string, entry: CacheEntry): Promise<void> {
    const set = await this.redis.set(this.keys.cache(key), JSON.stringify(entry), 'NX');
    if (set === 'OK') await this.redis.sadd(this.keys.runCacheKeys(entry.runId), key);
  }

  async forget(key: string, runId: string): Promise<void> {
    await this.redis.multi().del(this.keys.cache(key)).srem(this.keys.runCacheKeys(runId), key).exec();
  }

  /** Forget every entry whose artifacts live in `runId` (before the run's folder is removed). */
  async forgetRun(runId: string): Promise<void> {
    const keys = await this.redis.smembers(this.keys.runCacheKeys(runId));
    const tx = this.redis.multi();
    for (const k of keys) tx.del(this.keys.cache(k));
    tx.del(this.keys.runCacheKeys(runId));
    await tx.exec();
  }

  /**
   * Give run `to` the stage's artifacts of run `from` by the store's cheap copy (a hard link, or a copy
   * where the file system has none, made under a temporary name and renamed; a server-side copy on S3).
   * False when a source artifact is gone.
   */
  async link(stage: StageName, from: string, to: string): Promise<boolean> {
    const names = stageDefinition(stage).artifacts;
    const there = await Promise.all(names.map((n) => this.artifacts.stat(runKey(from, n))));
    if (there.some((st) => st === undefined)) return false;
    for (const n of names) {
      try {
        await this.artifacts.copy(runKey(from, n), runKey(to, n));
      } catch (err) {
        if (err instanceof ArtifactNotFound) return false;
        throw err;
      }
    }
    return true;
  }
}
