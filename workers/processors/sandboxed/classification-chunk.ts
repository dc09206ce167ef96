import './die-with-worker';
import './open-store-early';
import { PartStats, classMap, partKey, partStatsKey } from '../../../shared/runtime/classify/batch';
import { ArtifactWriter } from '../../../shared/core/store/artifact-store';
import { DatasetFile } from '../../../shared/core/dataset/open-dataset';
import { readTickets } from '../../../shared/core/dataset/read-tickets';
import {
  ClassificationChunkJobData,
  ClassificationChunkJobResult,
} from '../../../shared/runtime/flow/job-types';
import { csvRow } from '../../../shared/core/io/csv';
import type { LoadedModel } from '../../../shared/pipeline/model/load-model';
import { loadRunModel } from '../../../shared/runtime/runs/load-run-model';
import { openJobDataset } from '../dataset-path';
import { sameClassificationBuild } from '../same-build';
import { processConfig, processStore, ProcessorJob, runJobLogged } from '../stage-context';
import { collectWhenIdle } from './collect-when-idle';

/** Tickets classified at once: bounds memory whatever the chunk size. */
const BATCH = 256;
/** Models kept loaded in this process (most recently used last); a model never changes. */
const KEEP_MODELS = 2;
const models = new Map<string, Promise<LoadedModel>>();

function modelOf(run: string): Promise<LoadedModel> {
  let entry = models.get(run);
  if (entry) models.delete(run);
  else {
    entry = loadRunModel(processStore(), run);
    entry.catch(() => models.delete(run));
  }
  models.set(run, entry);
  while (models.size > KEEP_MODELS) models.delete(models.keys().next().value!);
  return entry;
}

/**
 * Sandboxed: classify one chunk's byte range of the dataset — its records validated as they are read,
 * through the same reader as text chunks — and write `parts/part-NNNNN.csv` (prediction rows, no header)
 * and then `part-NNNNN.stats.json`, each atomically, into the artifact store.
 */
async function classificationChunk(
  job: ProcessorJob<ClassificationChunkJobData>,
): Promise<ClassificationChunkJobResult> {
  return runJobLogged(job, `classification/chunk-${job.data.chunk}`, async (log) => {
    const start = performance.now();
    const config = processConfig();
    const { chunk, classificationId, format, range, threshold } = job.data;
    const code = sameClassificationBuild(job.data.code, `classification chunk ${chunk}`);
    const store = processStore();
    const model = await modelOf(job.data.model);
    const file = await openJobDataset(config, job.data.dataset);
    let stats: PartStats;
    try {
      const out = await store.openWriter(partKey(classificationId, chunk));
      stats = await classifyRange(model, file, { chunk, format, range, threshold }, out);
    } finally {
      await file.close();
    }
    stats.seconds = Math.round(performance.now() - start) / 1000;
    stats.code = code;
    await store.putJson(partStatsKey(classificationId, chunk), stats);
    log.debug(
      `chunk ${chunk}: ${stats.read.kept} tickets, ${stats.abstained} abstained (${stats.seconds} s)`,
    );
    return { chunk, rows: stats.read.kept, seconds: stats.seconds };
  });
}

async function classifyRange(
  model: LoadedModel,
  file: DatasetFile,
  input: Pick<ClassificationChunkJobData, 'chunk' | 'format' | 'range' | 'threshold'>,
  out: ArtifactWriter,
): Promise<PartStats> {
  const classes = model.classes;
  const counts = classMap();
  const predicted = classMap();
  let abstained = 0;
  let tokens = 0;
  let outOfVocabulary = 0;
  let ids: string[] = [];
  let texts: string[] = [];
  const flush = (): void | Promise<void> => {
    const result = model.classifyWithStats(texts, input.threshold);
    tokens += result.tokens;
    outOfVocabulary += result.outOfVocabulary;
    let rows = '';
    result.predictions.forEach((p, i) => {
      counts[p.label] = (counts[p.label] ?? 0) + 1;
      if (p.abstained) abstained++;
      predicted[p.predicted] = (predicted[p.predicted] ?? 0) + 1;
      rows += csvRow([
        ids[i]!,
        p.label,
        p.predicted,
        String(p.confidence),
        ...classes.map((c) => String(p.probabilities[c])),
        String(p.abstained),
      ]);
    });
    ids = [];
    texts = [];
    return out.write(rows);
  };
  try {
    const read = await readTickets(
      file,
      (rec) => {
        ids.push(rec.id ?? String(rec.index));
        texts.push(rec.narrative);
        if (texts.length >= BATCH) return flush();
      },
      { format: input.format, range: input.range },
    );
    if (texts.length > 0) await flush();
    await out.commit();
    return {
      chunk: input.chunk,
      range: input.range,
      classes: [...classes],
      trainingLabelMix: model.file.trainingLabelMix,
      read,
      counts,
      predicted,
      abstained,
      tokens,
      outOfVocabulary,
      seconds: 0,
    };
  } catch (err) {
    await out.abort();
    throw err;
  }
}

export default collectWhenIdle(classificationChunk);
