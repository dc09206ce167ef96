import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pipeline } from 'node:stream/promises';
import {
  CLASSIFICATION_FILES,
  ClassificationStatus,
  ClassificationSummary,
  classificationKey,
  getClassification,
  submitClassification,
} from '../../shared/runtime/classify/batch';
import { resolveConfig } from '../../shared/core/config/config';
import { CLASSIFICATION_CHUNK_QUEUE, CLASSIFICATION_QUEUE } from '../../shared/runtime/flow/queue-names';
import { queuesWithoutWorkers } from '../../shared/runtime/flow/queues';
import { InvalidModelError } from '../../shared/pipeline/model/load-model';
import { ModelRegistry, NoDefaultModel, NoSuchModel } from '../../shared/runtime/runs/model-registry';
import { RunsContext } from '../../shared/runtime/runs/context';
import { spawnWorkers, SpawnedWorkers } from './self-contained';
import {
  catchingSigint,
  datasetArg,
  FOLLOW_OPTIONS,
  followValues,
  inDeploymentDataRoot,
  positiveInt,
  printHelp,
  say,
  UsageError,
  withRuns,
} from './session';

const HELP = `Usage: ticketflow classify --data FILE [--model M] [--out F] [--threshold T] [--chunk-size N]
                           [--workers N] [--timeout S] [--json]

Classify every ticket of a dataset with a trained model, in chunk jobs on the workers, and write
predictions.csv (ticket_id, label, predicted, confidence, one p_<class> column per class, abstained; input order).

  --data FILE       dataset: Kaggle-schema JSON array, JSON Lines, or CFPB CSV export
  --model M         an alias, or the id of a completed run whose run.json is in TICKETFLOW_STORAGE_DIR
                    (default: the "production" alias; a private Redis has no aliases: give a run id)
  --out F           copy predictions.csv to F (default: print where it is)
  --threshold T     abstain (label needs_review) below this confidence, 0 to 1 (default: the model's own)
  --chunk-size N    tickets per chunk job (default 2000)
  --workers N       worker processes to start when none serves the queues (default: one per core, ${os.availableParallelism()} here)
  --timeout S       give up following after S seconds (default 3600)
  --json            print one JSON object (id, state, model, predictions, out, seconds, summary) instead

Self-contained like "ticketflow run": without a Redis at REDIS_URL it starts a private one, and without
workers on the classification queues it starts worker processes, both for this command only. Progress goes
to stderr, the summary (or JSON) to stdout. Exit status: 0 when completed, 1 when it failed (its message on
stderr), 2 on usage errors, 130 when interrupted.`;

function thresholdArg(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const t = Number(raw);
  if (raw.trim() === '' || !(t >= 0 && t <= 1))
    throw new UsageError(`--threshold must be a number from 0 to 1, got "${raw}"`);
  return t;
}

/** `ticketflow classify …`: returns the exit status. */
export async function classifyCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string' },
      model: { type: 'string' },
      out: { type: 'string' },
      threshold: { type: 'string' },
      'chunk-size': { type: 'string' },
      ...FOLLOW_OPTIONS,
    },
  });
  if (values.help) return printHelp(HELP);
  if (values.data === undefined) throw new UsageError('--data FILE is required: the dataset to classify');
  const { dataset, realFile } = await datasetArg(values.data);
  const threshold = thresholdArg(values.threshold);
  const chunkSize = positiveInt('--chunk-size', values['chunk-size']);
  const { workers: workerCount, timeoutSeconds, json } = followValues(values);
  const out = values.out === undefined ? null : path.resolve(values.out);
  if (out !== null && !fs.existsSync(path.dirname(out)))
    throw new UsageError(`--out ${out}: the folder ${path.dirname(out)} does not exist`);
  if (values.model !== undefined && values.model === '') throw new UsageError('--model must not be empty');
  const config = resolveConfig(process.env);

  return withRuns(config, 'private', async (runs, redis) => {
    const registry = new ModelRegistry(runs);
    try {
      await registry.resolve(values.model); // fail before starting workers
    } catch (err) {
      if (err instanceof NoDefaultModel) {
        say(
          `ticketflow: no model named and no "production" alias at ${redis.url}: ` +
            `pass --model <id of a completed run in ${config.storageDir}>`,
        );
        return 1;
      }
      if (err instanceof NoSuchModel) {
        say(`ticketflow: ${err.message} (runs are looked up in ${config.storageDir})`);
        return 1;
      }
      throw err;
    }
    const started = performance.now();
    let workers: SpawnedWorkers | null = null;
    try {
      const idle = await queuesWithoutWorkers(runs.queues, [
        CLASSIFICATION_QUEUE,
        CLASSIFICATION_CHUNK_QUEUE,
      ]);
      if (idle.length > 0) {
        // Workers read only datasets inside their data root: these get the file's folder as theirs.
        workers = await spawnWorkers(
          {
            ...runs.config,
            dataDir: path.dirname(realFile),
            data: { kind: 'file', root: path.dirname(realFile) },
          },
          runs.queues,
          redis.url,
          workerCount,
          process.env.TICKETFLOW_LOG_LEVEL ?? 'warn',
        );
        say(`started ${workers.count} worker process(es) for this classification`);
      }
      const jobDataset = workers ? realFile : await inDeploymentDataRoot(config, dataset, realFile);
      let submitted: { id: string; model: string };
      try {
        submitted = await submitClassification(runs, registry, {
          dataset: jobDataset,
          datasetFile: realFile,
          ...(values.model !== undefined ? { model: values.model } : {}),
          ...(threshold !== undefined ? { threshold } : {}),
          ...(chunkSize !== undefined ? { chunkSize } : {}),
        });
      } catch (err) {
        if (err instanceof InvalidModelError) {
          say(`ticketflow: ${err.message}`);
          return 1;
        }
        throw err;
      }
      const { id, model } = submitted;
      say(`classification ${id} enqueued: ${dataset} with the model of run ${model}`);

      const status = await catchingSigint(`stopping classification ${id}`, async (interrupted) => {
        const followed = await follow(runs, id, timeoutSeconds, interrupted);
        if (!interrupted() || followed.state === 'completed' || followed.state === 'failed') return followed;
        if (workers) {
          // Our own workers: stop its jobs at once (the cancel broadcast kills their sandboxed children).
          await runs.redis.set(runs.keys.cancelled(id), '1', 'EX', 3600);
          await runs.redis.publish(runs.keys.cancelChannel, id);
        } else say(`classification ${id} goes on on the running workers: GET /classifications/${id}`);
        return null;
      });
      if (status === null) return 130;
      const wallSeconds = (performance.now() - started) / 1000;
      const store = runs.artifacts;
      const predictionsKey = classificationKey(id, CLASSIFICATION_FILES.predictions);
      const predictions = store.locate(predictionsKey);
      if (status.state === 'completed' && out !== null)
        await pipeline(await store.openRead(predictionsKey), fs.createWriteStream(out));
      const endToEndSeconds =
        status.finishedAt !== null
          ? (Date.parse(status.finishedAt) - Date.parse(status.createdAt)) / 1000
          : null;
      if (json) {
        process.stdout.write(
          JSON.stringify({
            id,
            state: status.state,
            model,
            threshold: status.threshold,
            predictions: status.state === 'completed' ? predictions : null,
            out: status.state === 'completed' ? out : null,
            wallSeconds,
            endToEndSeconds,
            summary: status.summary,
            error: status.error,
          }) + '\n',
        );
      } else if (status.state === 'completed' && status.summary) {
        process.stdout.write(formatSummary(status.summary, predictions, out, endToEndSeconds));
      }
      if (status.state === 'completed') return 0;
      say(`classification ${id} failed: ${status.error ?? 'unknown error'}`);
      return 1;
    } finally {
      await workers?.stop();
    }
  });
}

function progressLine(s: ClassificationStatus): string {
  const chunks = s.chunks ? `: ${s.chunks.completed}/${s.chunks.total} chunks` : '';
  return `classification ${s.id} ${s.state}${chunks} (${s.progress}%)`;
}

async function follow(
  runs: RunsContext,
  id: string,
  timeoutSeconds: number,
  stop: () => boolean,
): Promise<ClassificationStatus> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  let last = '';
  for (;;) {
    const status = await getClassification(runs, id);
    if (!status) throw new Error(`classification ${id} vanished from storage`);
    const line = progressLine(status);
    if (line !== last) say(line);
    last = line;
    if (status.state === 'completed' || status.state === 'failed' || stop()) return status;
    if (Date.now() > deadline) throw new Error(`classification ${id} not finished after ${timeoutSeconds} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** The summary as text: labels with counts and shares, abstentions, drift signals, where the file is. */
function formatSummary(
  s: ClassificationSummary,
  predictions: string,
  out: string | null,
  endToEndSeconds: number | null,
): string {
  const lines: string[] = [];
  const rate =
    endToEndSeconds && endToEndSeconds > 0 ? ` (${Math.round(s.tickets / endToEndSeconds)} tickets/s)` : '';
  lines.push(
    `classification ${s.id}: ${s.tickets} tickets of ${s.dataset} with the model of run ${s.model}, ` +
      `threshold ${s.threshold}`,
  );
  if (endToEndSeconds !== null)
    lines.push(`${endToEndSeconds.toFixed(2)} s from submission to completion${rate}`);
  lines.push('');
  const width = Math.max(5, ...Object.keys(s.counts).map((k) => k.length));
  lines.push(`${'label'.padEnd(width)}  ${'tickets'.padStart(8)}  ${'share'.padStart(7)}`);
  for (const [label, n] of Object.entries(s.counts))
    lines.push(
      `${label.padEnd(width)}  ${String(n).padStart(8)}  ${pct(s.tickets > 0 ? n / s.tickets : 0).padStart(7)}`,
    );
  lines.push('');
  lines.push(`abstained (needs_review): ${s.abstained} (${pct(s.abstentionRate)})`);
  lines.push(`out-of-vocabulary tokens: ${pct(s.drift.outOfVocabularyShare)}`);
  const classes = Object.keys(s.drift.trainingMix);
  const cw = Math.max(5, ...classes.map((c) => c.length));
  lines.push(`${'class'.padEnd(cw)}  ${'predicted'.padStart(9)}  ${'training'.padStart(8)}`);
  for (const c of classes)
    lines.push(
      `${c.padEnd(cw)}  ${pct(s.drift.predictedMix[c] ?? 0).padStart(9)}  ${pct(s.drift.trainingMix[c] ?? 0).padStart(8)}`,
    );
  lines.push('');
  lines.push(`predictions: ${out ?? predictions}`);
  return lines.join('\n') + '\n';
}
