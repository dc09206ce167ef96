/**
 * Loaded models by key (a run id), least recently used evicted first, bounded by the bytes the models hold
 * (LoadedModel.bytes) rather than by their number: one large category model may weigh as much as a hundred
 * small topic models. One load per key at a time: concurrent requests for a model being loaded share its
 * load, and a failed load is forgotten at once, so the next request tries again.
 */
import { LoadedModel } from './load-model';

export interface ModelCacheOptions {
  /** the most bytes the cached models may hold; the most recently loaded model is kept even if larger */
  maxBytes: number;
  /** load the model of `key` (the registry reads the run's model.json in a worker thread) */
  load: (key: string) => Promise<LoadedModel>;
}

export interface ModelCacheStats {
  models: number;
  bytes: number;
  maxBytes: number;
  /** loads started since the cache was made (each key's concurrent requests count once) */
  loads: number;
  /** loads under way */
  loading: number;
}

export class ModelCache {
  /** least recently used first */
  private readonly entries = new Map<string, LoadedModel>();
  private readonly pending = new Map<string, Promise<LoadedModel>>();
  private bytes = 0;
  private loads = 0;

  constructor(private readonly options: ModelCacheOptions) {
    if (!(options.maxBytes > 0)) throw new RangeError(`maxBytes must be positive, got ${options.maxBytes}`);
  }

  /** The model of `key`: from the cache, from the load under way, or from a new load. */
  get(key: string): Promise<LoadedModel> {
    const hit = this.entries.get(key);
    if (hit !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return Promise.resolve(hit);
    }
    const under = this.pending.get(key);
    if (under !== undefined) return under;
    this.loads++;
    const load: Promise<LoadedModel> = Promise.resolve()
      .then(() => this.options.load(key))
      .then(
        (model) => {
          // Not cached when deleted while loading: the caller still gets it.
          if (this.pending.get(key) === load) {
            this.pending.delete(key);
            this.insert(key, model);
          }
          return model;
        },
        (err: unknown) => {
          if (this.pending.get(key) === load) this.pending.delete(key);
          throw err;
        },
      );
    this.pending.set(key, load);
    return load;
  }

  /** Forget `key` (a deleted run): a load under way still answers its callers but is not cached. */
  delete(key: string): boolean {
    const model = this.entries.get(key);
    if (model !== undefined) {
      this.entries.delete(key);
      this.bytes -= model.bytes;
    }
    return this.pending.delete(key) || model !== undefined;
  }

  stats(): ModelCacheStats {
    return {
      models: this.entries.size,
      bytes: this.bytes,
      maxBytes: this.options.maxBytes,
      loads: this.loads,
      loading: this.pending.size,
    };
  }

  /** The cached keys, least recently used first. */
  keys(): string[] {
    return [...this.entries.keys()];
  }

  private insert(key: string, model: LoadedModel): void {
    this.entries.set(key, model);
    this.bytes += model.bytes;
    for (const [oldest, m] of this.entries) {
      if (this.bytes <= this.options.maxBytes || oldest === key) break;
      this.entries.delete(oldest);
      this.bytes -= m.bytes;
    }
  }
}
