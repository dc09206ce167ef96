import { RunsContext } from './context';
import { RunSummary } from './record';
import { ARTIFACTS } from '../../pipeline/stages/context';
import { RUN_ID_PATTERN, runKey } from '../../core/storage';
import { LoadedModel } from '../../pipeline/model/load-model';
import { loadRunModel } from './load-run-model';
import { ModelCache } from '../../pipeline/model/model-cache';
import { AliasMove, aliasHistory, moveAlias } from './alias-history';
import { PromotionDecision } from './record';
import { emitModelPromoted } from '../events/webhook-events';

/** The alias classification uses when a request names no model. */
const DEFAULT_ALIAS = 'production';
/** Aliases begin with a letter; run ids with a digit (their date), so the two never collide. */
export const ALIAS_PATTERN = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

/** No model by that name (→ 404). */
export class NoSuchModel extends Error {
  override readonly name = 'NoSuchModel';
}

/** A request that needs the `production` alias while none is set (→ 409). */
export class NoDefaultModel extends Error {
  override readonly name = 'NoDefaultModel';
}

/** An alias in GET /models: the run it names, and whether that run is still a model version. */
export interface AliasEntry {
  run: string;
  dangling: boolean;
  /** why it is dangling */
  problem?: string;
}

export interface ModelVersion {
  run: string;
  createdAt: string;
  dataset: string;
  testAccuracy: number | null;
  testF1: number | null;
  aliases: string[];
}

/**
 * Model versions and aliases. Every completed run is a model version (its `model.json`); an alias (e.g.
 * `production`) names one in a Redis hash. Aliases are read from Redis on every resolution, so moving one
 * takes effect at once in the API and in every worker; loaded models are cached by run id (immutable),
 * loaded in a worker thread and bounded by memory (shared/pipeline/model/model-cache.ts).
 */
export class ModelRegistry {
  readonly loaded: ModelCache;

  constructor(
    private readonly ctx: RunsContext,
    cache?: ModelCache,
  ) {
    this.loaded =
      cache ??
      new ModelCache({
        maxBytes: ctx.config.modelCacheMb * 2 ** 20,
        load: (runId) => loadRunModel(ctx.artifacts, runId),
      });
  }

  async aliases(): Promise<Record<string, string>> {
    return this.ctx.redis.hgetall(this.ctx.keys.aliases);
  }

  /**
   * Point `name` at the model of completed run `runId`; when that moves it, the `model.promoted` webhooks
   * are queued (a failure to queue them is logged, the alias stays moved).
   */
  async setAlias(name: string, runId: string): Promise<void> {
    if (!ALIAS_PATTERN.test(name)) {
      throw new RangeError(
        `alias ${JSON.stringify(name)} must be a letter then up to 63 letters, digits, "_", "." or "-"`,
      );
    }
    await this.version(runId);
    const { previous } = await moveAlias(this.ctx.redis, this.ctx.keys, name, runId, 'manual');
    if (previous !== runId) await emitModelPromoted(this.ctx, { alias: name, run: runId, previous });
  }

  /** Completed runs, newest first, with their aliases. */
  async list(limit = 1000): Promise<ModelVersion[]> {
    const [page, aliases] = await Promise.all([
      this.ctx.store.list({ state: 'completed', limit }),
      this.aliases(),
    ]);
    const byRun = new Map<string, string[]>();
    for (const [name, run] of Object.entries(aliases))
      byRun.set(run, [...(byRun.get(run) ?? []), name].sort());
    return page.runs.map((r: RunSummary) => ({
      run: r.id,
      createdAt: r.createdAt,
      dataset: r.dataset,
      testAccuracy: r.testAccuracy,
      testF1: r.testF1 ?? null,
      aliases: byRun.get(r.id) ?? [],
    }));
  }

  /**
   * Every alias with the run it names; `dangling` when that run is not a model version any more (gone,
   * being deleted, not completed, or its model file missing), with the problem in words.
   */
  async aliasTable(): Promise<Record<string, AliasEntry>> {
    const aliases = await this.aliases();
    const entries = await Promise.all(
      Object.entries(aliases).map(async ([name, run]): Promise<[string, AliasEntry]> => {
        const problem = await this.aliasTargetProblem(run, true);
        return [name, problem === null ? { run, dangling: false } : { run, dangling: true, problem }];
      }),
    );
    return Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  /**
   * Why run `runId` cannot serve as an alias's model, or null when it can: read from the run index (one
   * Redis read, cheap enough for every request); `checkFile` also looks for its model file.
   */
  private async aliasTargetProblem(runId: string, checkFile: boolean): Promise<string | null> {
    const raw = RUN_ID_PATTERN.test(runId) ? await this.ctx.redis.hget(this.ctx.keys.summaries, runId) : null;
    if (raw === null) return `run ${runId} does not exist`;
    const state = (JSON.parse(raw) as RunSummary).state;
    if (state === 'deleting') return `run ${runId} is being deleted`;
    if (state !== 'completed') return `run ${runId} is ${state}, not completed`;
    if (checkFile) {
      const key = runKey(runId, ARTIFACTS.model);
      const there = (await this.ctx.artifacts.stat(key).catch(() => undefined)) !== undefined;
      if (!there) return `the model file ${this.modelName(key)} of run ${runId} is missing`;
    }
    return null;
  }

  /** The model file's name in messages: its path on the file backend, its URL otherwise. */
  private modelName(key: string): string {
    return this.ctx.artifacts.locate(key);
  }

  /** The promotion gate's decision on each of `runIds` (null for a run no gate judged). */
  async gateDecisions(runIds: readonly string[]): Promise<(PromotionDecision | null)[]> {
    if (runIds.length === 0) return [];
    const raw = await this.ctx.redis.hmget(this.ctx.keys.gateDecisions, ...runIds);
    return raw.map((d) => (d === null ? null : (JSON.parse(d) as PromotionDecision)));
  }

  /** Each alias's moves (PUT, the promotion gate, rollbacks), newest first. */
  async aliasHistories(names: readonly string[]): Promise<Record<string, AliasMove[]>> {
    const lists = await Promise.all(names.map((n) => aliasHistory(this.ctx.redis, this.ctx.keys, n)));
    return Object.fromEntries(names.map((n, i) => [n, lists[i]!]));
  }

  /** Drop a run's loaded model from this process (its run was deleted). */
  forget(runId: string): void {
    this.loaded.delete(runId);
  }

  /** The run id an alias or run id names; `production` by default. */
  async resolve(ref: string | undefined): Promise<{ run: string; alias: string | null }> {
    const name = ref ?? DEFAULT_ALIAS;
    const aliased = await this.ctx.redis.hget(this.ctx.keys.aliases, name);
    if (aliased) {
      const problem = await this.aliasTargetProblem(aliased, false);
      if (problem !== null) {
        throw new NoSuchModel(
          `alias ${JSON.stringify(name)} is dangling: ${problem}; point it at a completed run (PUT /models/aliases/${name} {"run": "<run id>"})`,
        );
      }
      return { run: aliased, alias: name };
    }
    if (name === DEFAULT_ALIAS) {
      throw new NoDefaultModel(
        `no "${DEFAULT_ALIAS}" alias yet: point it at a completed run with PUT /models/aliases/${DEFAULT_ALIAS} {"run": "<run id>"}`,
      );
    }
    if (ALIAS_PATTERN.test(name) || !RUN_ID_PATTERN.test(name)) {
      throw new NoSuchModel(`no model or alias ${JSON.stringify(name)}: GET /models lists them`);
    }
    await this.version(name);
    return { run: name, alias: null };
  }

  /** The loaded model of a run (cached; a model file never changes once its run completed). */
  model(runId: string): Promise<LoadedModel> {
    return this.loaded.get(runId);
  }

  /** A completed run with a model, else NoSuchModel. */
  private async version(runId: string): Promise<void> {
    if (!RUN_ID_PATTERN.test(runId)) throw new NoSuchModel(`no run with id ${JSON.stringify(runId)}`);
    const record = await this.ctx.store.read(runId);
    if (!record) throw new NoSuchModel(`no run with id ${JSON.stringify(runId)}`);
    if (record.state !== 'completed') {
      throw new NoSuchModel(`run ${runId} is ${record.state}: only a completed run is a model version`);
    }
  }
}
