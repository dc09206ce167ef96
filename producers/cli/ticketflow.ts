#!/usr/bin/env node
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT, resolveConfig } from '../../shared/core/config/config';
import { resolvePipelineParams } from '../../shared/core/config/pipeline-params';
import { readLabelMapFile } from '../../shared/core/config/label-map';
import { queuesWithoutWorkers } from '../../shared/runtime/flow/queues';
import { LocalRedis } from '../../shared/runtime/redis/local-redis';
import { cancelRun, deleteRun, NoSuchRun, retryRun, RunConflict } from '../../shared/runtime/runs/control';
import { RunsContext } from '../../shared/runtime/runs/context';
import { isFinal, LISTED_STATES, ListedState, RunRecord } from '../../shared/runtime/runs/record';
import { submitRun } from '../../shared/runtime/runs/submit';
import { readRun } from '../../shared/runtime/runs/sync';
import { RecordChanges } from '../../shared/runtime/runs/record-changes';
import { runKey, runPrefix } from '../../shared/core/storage';
import { ArtifactStore } from '../../shared/core/store/artifact-store';
import { logLost } from '../../shared/core/logger';
import { classifyCommand } from './classify-command';
import { redisCommand } from './redis-command';
import { schedulesCommand } from './schedules-command';
import { formatReport } from './report';
import { CODE_VERSION } from '../../shared/runtime/runs/code-version';
import { createLiveDisplay, LiveDisplay } from './live-display';
import { ARTIFACTS } from '../../shared/pipeline/stages/context';
import { TopicsFile } from '../../shared/pipeline/stages/feature-extraction/feature-extraction';
import { spawnWorkers, SpawnedWorkers } from './self-contained';
import {
  catchingSigint,
  datasetArg,
  FOLLOW_OPTIONS,
  FollowValues,
  followValues,
  inDeploymentDataRoot,
  positiveInt,
  printHelp,
  say,
  UsageError,
  withRuns,
} from './session';

const SAMPLE_DATASET = path.join(PROJECT_ROOT, 'shared', 'sample', 'complaints-sample.json');

const HELP = `Usage: ticketflow <command> [options]

Commands:
  run ...            enqueue a training run, follow it live, print the report
  --version          the package version and commit
  classify ...       classify a dataset with a trained model, in chunk jobs (ticketflow classify --help)
  retry ID           go on with a failed or cancelled run from its first stage not done, and follow it
  cancel ID          stop every job of a run on every worker
  delete ID          remove a finished run: its record, jobs and artifacts (--force: also the aliases
                     naming it; a delete cut short is finished by deleting again)
  status ID          print a run's record (JSON)
  list [--state S] [--limit N]   runs, newest first
  redis start|stop|status        the durable Redis on REDIS_URL's port (ticketflow redis --help)
  schedules add|list|remove|disable|enable   training schedules and their promotion gate
                     (ticketflow schedules --help)
  help               this text

ticketflow run [--data FILE] [--topics K] [--labels L] [--label-map FILE] [--chunk-size N] [--params JSON]
               [--no-cache] [--workers N] [--json]
  --data FILE       dataset: Kaggle-schema JSON array, JSON Lines, or CFPB CSV export (default: the bundled sample)
  --topics K        number of NMF topics (default 3): the classes, unless --labels category
  --labels L        what the classifier learns: "topics" (default) or "category" (each ticket's own product)
  --label-map FILE  raw product → class, for --labels category: a TSV whose first line is its header
                    (raw<TAB>class, like product-labels.tsv) or a JSON object; a regular file
  --chunk-size N    tickets per text-processing chunk job (default 2000)
  --params JSON     other pipeline parameters as a JSON object, e.g. '{"C": 0.5, "stratify": false}'
  --no-cache        compute every stage, even those an earlier run with the same inputs computed
  --workers N       worker processes to start when none serves the queues (default: one per core, ${os.availableParallelism()} here)
  --timeout S       give up following after S seconds (default 3600); the run itself goes on
  --json            print one JSON object (run id, artifacts directory, seconds per stage, metrics) instead of the report
Ctrl-C while following cancels the run (its jobs stop, its temporary files go).

Self-contained: when no Redis answers at REDIS_URL, run and retry start a private redis-server (no
persistence, gone when the command ends; run records in TICKETFLOW_STORAGE_DIR stay), and when no worker
serves the queues they start worker processes, both only for this command. With a reachable Redis and
running workers they only enqueue and follow. Progress goes to stderr, the report (or JSON) to stdout.
Exit status: 0 when the run completed, 1 when it failed or was cancelled (the failing stage and its message
on stderr), 2 on usage errors.`;

interface FollowOptions extends FollowValues {
  /** data root (TICKETFLOW_DATA_DIR) of the workers this command starts, when not the configured one */
  workerDataDir?: string;
  /** the --label-map file's name, for the report's summary of the map */
  labelMapFile?: string;
}

/** Start workers when none serves the queues, follow the run, print its report; Ctrl-C cancels it. */
async function followRun(
  runs: RunsContext,
  redis: LocalRedis,
  start: (workersStarted: boolean) => Promise<RunRecord>,
  opts: FollowOptions,
): Promise<number> {
  const started = performance.now();
  let workers: SpawnedWorkers | null = null;
  try {
    if ((await queuesWithoutWorkers(runs.queues)).length > 0) {
      workers = await spawnWorkers(
        opts.workerDataDir
          ? { ...runs.config, dataDir: opts.workerDataDir, data: { kind: 'file', root: opts.workerDataDir } }
          : runs.config,
        runs.queues,
        redis.url,
        opts.workers,
        process.env.TICKETFLOW_LOG_LEVEL ?? 'warn',
      );
      say(`started ${workers.count} worker process(es) for this run`);
    }
    const first = await start(workers !== null);
    const runId = first.id;
    const enqueuedAt = performance.now();
    const startupSeconds = workers !== null ? (enqueuedAt - started) / 1000 : 0;
    const display = createLiveDisplay(process.stderr, Date.now());
    const record = await catchingSigint(`cancelling run ${runId}`, async (interrupted) => {
      const followed = await follow(runs, runId, opts.timeoutSeconds, interrupted, display);
      if (!interrupted() || isFinal(followed.state)) return followed;
      const { stoppedSeconds } = await cancelRun(runs, runId);
      say(`run ${runId} cancelled: its jobs stopped within ${stoppedSeconds.toFixed(2)} s`);
      return (await runs.store.read(runId)) ?? followed;
    });
    // "completed in" counts from enqueue; the self-contained start-up is reported apart.
    const wall = (performance.now() - enqueuedAt) / 1000;
    const artifactsDir = artifactsLocation(runs.artifacts, runId);
    if (opts.json) {
      const stages = Object.fromEntries(record.stages.map((s) => [s.stage, s.seconds]));
      const cached = Object.fromEntries(record.stages.map((s) => [s.stage, s.cached]));
      process.stdout.write(
        JSON.stringify({
          id: runId,
          state: record.state,
          artifactsDir,
          wallSeconds: wall,
          startupSeconds,
          stages,
          refitSeconds: record.stages.find((s) => s.stage === 'training')?.refitSeconds ?? null,
          cached,
          error: record.error,
          warnings: record.warnings,
          metrics: record.metrics,
        }) + '\n',
      );
    } else if (record.state === 'completed') {
      const topics =
        (await runs.artifacts
          .getJson<TopicsFile>(runKey(runId, ARTIFACTS.topics))
          .catch(logLost(`reading ${ARTIFACTS.topics} for the report's topic table`))) ?? null;
      process.stdout.write(
        formatReport(record, artifactsDir, { seconds: wall, startupSeconds }, topics, opts.labelMapFile),
      );
    }
    if (record.state === 'completed') return 0;
    if (record.state === 'cancelled') return 130;
    say(
      `run ${runId} failed in stage ${record.error?.stage ?? '?'}: ${record.error?.message ?? record.state}`,
    );
    say(`after fixing the cause: ticketflow retry ${runId}`);
    return 1;
  } finally {
    await workers?.stop();
  }
}

/** Where a run's artifacts are, for people: its folder on the file backend, its prefix's URL otherwise. */
function artifactsLocation(store: ArtifactStore, runId: string): string {
  return store.locate(runPrefix(runId));
}

async function follow(
  runs: RunsContext,
  runId: string,
  timeoutSeconds: number,
  stop: () => boolean,
  display: LiveDisplay,
): Promise<RunRecord> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  // Read when a worker wrote the record (at most every FOLLOW_MIN_MS), and every FOLLOW_MAX_MS anyway:
  // a reader's sync also updates a record no worker writes any more.
  const changes = await RecordChanges.open(runs.redis, runs.keys, runId);
  try {
    for (;;) {
      const read = Date.now();
      const record = await readRun(runs, runId);
      if (!record) throw new Error(`run ${runId} vanished from storage`);
      display.update(record);
      if (isFinal(record.state) || stop()) {
        display.end();
        return record;
      }
      if (Date.now() > deadline)
        throw new Error(
          `run ${runId} not finished after ${timeoutSeconds} s; it goes on: ticketflow status ${runId}`,
        );
      // In FOLLOW_MIN_MS slices, so that Ctrl-C (stop) is seen as soon as before.
      for (let waited = 0; waited < FOLLOW_MAX_MS && !stop(); waited += FOLLOW_MIN_MS)
        if (await changes.next(FOLLOW_MIN_MS)) break;
      const soon = read + FOLLOW_MIN_MS - Date.now();
      if (soon > 0) await new Promise((r) => setTimeout(r, soon));
    }
  } finally {
    changes.close();
  }
}

/** The live display's reads of a run's record: at most one per FOLLOW_MIN_MS, at least one per FOLLOW_MAX_MS. */
const FOLLOW_MIN_MS = 100;
const FOLLOW_MAX_MS = 1000;

async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string' },
      topics: { type: 'string' },
      labels: { type: 'string' },
      'label-map': { type: 'string' },
      'chunk-size': { type: 'string' },
      params: { type: 'string' },
      'no-cache': { type: 'boolean', default: false },
      ...FOLLOW_OPTIONS,
    },
  });
  if (values.help) return printHelp(HELP);
  const config = resolveConfig(process.env);
  const { dataset, realFile } = await datasetArg(values.data ?? SAMPLE_DATASET);
  let params: Record<string, unknown> = {};
  if (values.params !== undefined) {
    try {
      params = JSON.parse(values.params) as Record<string, unknown>;
    } catch (err) {
      throw new UsageError(`--params is not valid JSON: ${(err as Error).message}`);
    }
    if (typeof params !== 'object' || params === null || Array.isArray(params))
      throw new UsageError('--params must be a JSON object');
  }
  const topics = positiveInt('--topics', values.topics);
  const chunkSize = positiveInt('--chunk-size', values['chunk-size']);
  if (topics !== undefined) params.topics = topics;
  if (chunkSize !== undefined) params.chunkSize = chunkSize;
  if (values.labels !== undefined) params.labels = values.labels;
  if (values['label-map'] !== undefined) {
    try {
      params.labelMap = await readLabelMapFile(path.resolve(values['label-map']));
    } catch (err) {
      throw new UsageError(`--label-map: ${(err as Error).message}`);
    }
    params.labels ??= 'category';
  }
  if (values['no-cache']) params.cache = false;
  try {
    const { cache: _cache, ...pipeline } = params;
    resolvePipelineParams(config.pipeline, pipeline); // fail before starting Redis or workers
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  // Workers read only datasets inside their own data root: the workers this command starts get the
  // file's folder as theirs (and the file by its real path); running workers must have it in theirs.
  const opts = {
    ...followValues(values),
    workerDataDir: path.dirname(realFile),
    ...(values['label-map'] !== undefined ? { labelMapFile: path.basename(values['label-map']) } : {}),
  };
  return withRuns(config, 'private', (runs, redis) =>
    followRun(
      runs,
      redis,
      async (workersStarted) => {
        const job = workersStarted ? realFile : await inDeploymentDataRoot(config, dataset, realFile);
        const { record } = await submitRun(runs, { dataset: job, datasetFile: realFile, params });
        const cached = record.stages.filter((s) => s.cached).map((s) => s.stage);
        say(
          `run ${record.id} enqueued: ${dataset}${cached.length > 0 ? ` (cached: ${cached.join(', ')})` : ''}`,
        );
        return record;
      },
      opts,
    ),
  );
}

function runIdArg(command: string, positionals: string[]): string {
  const [id, ...extra] = positionals;
  if (!id || extra.length > 0) throw new UsageError(`usage: ticketflow ${command} ID`);
  return id;
}

async function retryDataDir(runs: RunsContext, id: string): Promise<{ workerDataDir?: string }> {
  const record = await runs.store.read(id);
  return record && path.isAbsolute(record.dataset) ? { workerDataDir: path.dirname(record.dataset) } : {};
}

async function control(command: string, argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...FOLLOW_OPTIONS,
      state: { type: 'string' },
      limit: { type: 'string' },
      force: { type: 'boolean', default: false },
    },
  });
  if (values.help) return printHelp(HELP);
  const config = resolveConfig(process.env);
  try {
    switch (command) {
      case 'retry': {
        const id = runIdArg(command, positionals);
        return await withRuns(config, 'private', async (runs, redis) =>
          followRun(
            runs,
            redis,
            async () => {
              const record = await runs.store.read(id);
              const file =
                record && !path.isAbsolute(record.dataset)
                  ? path.resolve(config.dataDir, record.dataset)
                  : (record?.dataset ?? null);
              const next = await retryRun(runs, id, file);
              say(
                `run ${id} retried: generation ${next.generation}, from ${next.stages.find((s) => s.state === 'pending')?.stage}`,
              );
              return next;
            },
            // a run of `ticketflow run --data FILE` names FILE by its real path: workers this command
            // starts take its folder as their data root, as that run's did
            { ...followValues(values), ...(await retryDataDir(runs, id)) },
          ),
        );
      }
      case 'cancel': {
        const id = runIdArg(command, positionals);
        return await withRuns(config, 'existing', async (runs) => {
          const { record, stoppedSeconds } = await cancelRun(runs, id);
          say(`run ${id} ${record.state}: its jobs stopped within ${stoppedSeconds.toFixed(2)} s`);
          return 0;
        });
      }
      case 'delete': {
        const id = runIdArg(command, positionals);
        return await withRuns(config, 'private', async (runs) => {
          const { aliasesRemoved } = await deleteRun(runs, id, { force: values.force });
          say(
            `run ${id} deleted${aliasesRemoved.length > 0 ? ` with its alias(es) ${aliasesRemoved.join(', ')}` : ''}`,
          );
          return 0;
        });
      }
      case 'status': {
        const id = runIdArg(command, positionals);
        return await withRuns(config, 'private', async (runs) => {
          const record = await readRun(runs, id);
          if (!record) throw new NoSuchRun(id);
          process.stdout.write(JSON.stringify(record, null, 2) + '\n');
          return 0;
        });
      }
      case 'list': {
        const state = values.state as ListedState | undefined;
        if (state !== undefined && !LISTED_STATES.includes(state))
          throw new UsageError(`--state must be one of ${LISTED_STATES.join(', ')}`);
        const limit = positiveInt('--limit', values.limit) ?? 20;
        return await withRuns(config, 'existing', async (runs) => {
          const page = await runs.store.list({ state, limit });
          if (values.json) process.stdout.write(JSON.stringify(page) + '\n');
          else
            for (const r of page.runs) {
              const acc = r.testAccuracy === null ? '' : ` accuracy ${r.testAccuracy.toFixed(4)}`;
              process.stdout.write(`${r.id}  ${r.state.padEnd(9)}  ${r.createdAt}  ${r.dataset}${acc}\n`);
            }
          return 0;
        });
      }
    }
  } catch (err) {
    if (err instanceof NoSuchRun || err instanceof RunConflict) {
      say(`ticketflow: ${err.message}`);
      return 1;
    }
    throw err;
  }
  throw new UsageError(`unknown command "${command}": see ticketflow --help`);
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(HELP + '\n');
    return command === undefined ? 2 : 0;
  }
  if (command === '--version' || command === 'version') {
    process.stdout.write(`ticketflow ${CODE_VERSION}\n`);
    return 0;
  }
  if (command === 'run') return run(rest);
  if (command === 'classify') return classifyCommand(rest);
  if (command === 'redis') return redisCommand(rest, process.env);
  if (command === 'schedules') return schedulesCommand(rest);
  if (['retry', 'cancel', 'delete', 'status', 'list'].includes(command)) return control(command, rest);
  throw new UsageError(`unknown command "${command}": see ticketflow --help`);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    const usage = err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    process.stderr.write(`ticketflow: ${err.message}\n`);
    process.exit(usage ? 2 : 1);
  },
);
