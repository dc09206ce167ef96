/**
 * npm run bench:model-size -- [--terms N]
 *
 * Whether a category model at the vocabulary real tickets would bring can be written and served. At
 * 1.6M distinct tickets the category vocabulary is extrapolated to ~3.63M kept terms (bench:vocabulary);
 * at ~184 bytes a term its `model.json` is longer than V8's longest string (536,870,888 characters),
 * so neither one JSON.stringify can write it nor one JSON.parse read it. This trains a category model
 * on the bundled sample (stages 1–3 and the refit, in this process), grows its vocabulary to N terms
 * (default 3,630,000) with terms no text holds (random idf and coefficients), writes it as the refit
 * does (json-pieces.ts), loads it as serving does (a file past 256 MiB: parsed as a stream) and checks
 * that it classifies the sample's narratives exactly as the model it grew from: an absent term adds
 * nothing to a ticket's scores. It prints the file's size, each step's seconds, and the peak RSS of the
 * process that built and wrote the model and of a fresh process that loaded it.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_PIPELINE_PARAMS, PipelineParams } from '../../shared/core/config/pipeline-params';
import { createLogger } from '../../shared/core/logger';
import { FileStore } from '../../shared/core/store/file-store';
import { putJsonInPieces } from '../../shared/core/io/json-pieces';
import { Rng } from '../../shared/core/numeric/random';
import { ModelFile } from '../../shared/pipeline/model/model-file';
import {
  PARSE_WHOLE_UP_TO_BYTES,
  assembleModel,
  readModel,
  readPackedModel,
} from '../../shared/pipeline/model/load-model';
import { ARTIFACTS, StageContext, artifactKey } from '../../shared/pipeline/stages/context';
import { runTextProcessing } from '../../shared/pipeline/stages/text-processing';
import { runFeatureExtraction } from '../../shared/pipeline/stages/feature-extraction/feature-extraction';
import { runTransformSplit } from '../../shared/pipeline/stages/transform-split/transform-split';
import { runRefit } from '../../shared/pipeline/stages/training/training';
import { searchGrid } from '../../shared/pipeline/stages/training/search-grid';
import { readTicketRows } from '../../shared/pipeline/stages/read-tickets-csv';
import { WARM_UP_SAMPLE } from '../../shared/pipeline/warm-up';

/** The kept category terms extrapolated for 1.6M distinct tickets (docs/scaling.md). */
const DEFAULT_TERMS = 3_630_000;
/** V8's longest string, in UTF-16 code units. */
const MAX_STRING = 536_870_888;

const seconds = (start: number) => ((performance.now() - start) / 1000).toFixed(2);
const peakRssMb = () => (process.resourceUsage().maxRSS / 1024).toFixed(1);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      terms: { type: 'string', default: String(DEFAULT_TERMS) },
      load: { type: 'string' },
      expect: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.load !== undefined && values.expect !== undefined) return load(values.load, values.expect);
  if (values.help) {
    console.log('npm run bench:model-size -- [--terms N]   (default 3,630,000 vocabulary terms)');
    return;
  }
  const terms = Number(values.terms);
  if (!Number.isInteger(terms) || terms < 1) throw new RangeError(`--terms must be a whole number ≥ 1`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticketflow-model-size-'));
  const store = new FileStore(dir);
  try {
    const params: PipelineParams = {
      ...DEFAULT_PIPELINE_PARAMS,
      labels: 'category',
      minClassSize: 1,
      searchNgrams: [2],
      searchC: [1],
    };
    const ctx: StageContext = {
      store,
      runId: 'model-size',
      params,
      log: createLogger('error', { component: 'model-size' }),
    };
    let start = performance.now();
    await runTextProcessing(ctx, WARM_UP_SAMPLE);
    await runFeatureExtraction(ctx);
    await runTransformSplit(ctx);
    await runRefit(ctx, searchGrid(params).at(-1)!);
    const modelKey = artifactKey(ctx, ARTIFACTS.model);
    const base = await store.getJson<ModelFile>(modelKey);
    const baseModel = await readModel(store.pathOf(modelKey));
    console.log(
      `base model: ${base.classes.length} classes, ${base.vectorizer.vocabulary.length} terms, trained on the sample in ${seconds(start)} s`,
    );

    start = performance.now();
    const rng = new Rng(7);
    const grown = structuredClone(base);
    const { vocabulary, idf } = grown.vectorizer;
    for (let j = vocabulary.length; j < terms; j++) {
      // Two words of digits and letters, as a bigram looks; no narrative holds "qq…".
      vocabulary.push(`qq${j.toString(36)} zz${(terms - j).toString(36)}`);
      idf.push(1 + 10 * rng.nextFloat());
    }
    for (const row of grown.coef) for (let j = row.length; j < terms; j++) row.push(rng.nextFloat() - 0.5);
    console.log(`grown to ${vocabulary.length} terms in ${seconds(start)} s`);

    const key = artifactKey(ctx, 'grown-model.json');
    start = performance.now();
    await putJsonInPieces(store, key, grown);
    const file = store.pathOf(key);
    const bytes = fs.statSync(file).size;
    console.log(
      `written in pieces: ${bytes} bytes (${(bytes / 2 ** 20).toFixed(1)} MiB, ${(bytes / terms).toFixed(1)} bytes a term) in ${seconds(start)} s`,
    );

    console.log(`peak RSS of this process (the model built and written): ${peakRssMb()} MB`);

    // After the write, whose peak is printed above: the attempt builds strings of up to 512 MB.
    start = performance.now();
    try {
      const text = JSON.stringify(grown, null, 2);
      console.log(
        `one JSON.stringify: ${text.length} characters (under V8's ${MAX_STRING}) in ${seconds(start)} s`,
      );
    } catch (err) {
      console.log(
        `one JSON.stringify: ${(err as Error).name}: ${(err as Error).message} after ${seconds(start)} s`,
      );
    }

    // Loaded as serving loads it, in a process of its own, so its peak RSS is the load's.
    const rows = await readTicketRows(ctx, ARTIFACTS.tickets, false);
    const texts = rows.narratives.slice(0, 500);
    const expected = path.join(dir, 'expected.json');
    fs.writeFileSync(expected, JSON.stringify({ texts, predictions: baseModel.classify(texts, 0) }));
    const child = spawnSync(process.execPath, [__filename, '--load', file, '--expect', expected], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    if (child.status !== 0) process.exitCode = 1;
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Loads model `file` as serving does and checks it classifies as `expectFile` says; prints what it took. */
async function load(file: string, expectFile: string): Promise<void> {
  const bytes = fs.statSync(file).size;
  const start = performance.now();
  const loaded = assembleModel(await readPackedModel(file));
  const how = bytes > PARSE_WHOLE_UP_TO_BYTES ? 'parsed as a stream' : 'parsed whole';
  console.log(
    `loaded in a fresh process (${how}, packed) in ${seconds(start)} s; the packed model ${(loaded.bytes / 2 ** 20).toFixed(1)} MiB; peak RSS of that process ${peakRssMb()} MB`,
  );
  const { texts, predictions } = JSON.parse(fs.readFileSync(expectFile, 'utf8')) as {
    texts: string[];
    predictions: unknown;
  };
  const same = JSON.stringify(loaded.classify(texts, 0)) === JSON.stringify(predictions);
  console.log(`classifies ${texts.length} narratives exactly as the base model: ${same ? 'yes' : 'NO'}`);
  if (!same) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
