/**
 * Model files of any size without training: a category model (narrative words, 1–2-grams) with a made-up
 * vocabulary and pseudo-random coefficients, valid for loadModel, and a completed run around it so the
 * registry serves it. The probe's large category models were 23.6 MB: `terms: 125_000` with seven
 * classes makes one of about that size.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_PIPELINE_PARAMS } from '../../shared/core/config/pipeline-params';
import {
  CATEGORY_VECTORIZER,
  MODEL_FORMAT,
  MODEL_VERSION,
  ModelFile,
} from '../../shared/pipeline/model/model-file';
import { NARRATIVE_TEXT } from '../../shared/core/nlp/ticket-lemmas';
import { RunStore } from '../../shared/runtime/runs/run-store';
import { ARTIFACTS } from '../../shared/pipeline/stages/context';
import { runDir } from '../../shared/core/storage';
import { makeRecord } from '../helpers/records';

/** A small deterministic generator (mulberry32). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Everyday words first, so short texts hit the vocabulary; then made-up words and bigrams. */
const WORDS = ['bank', 'card', 'charged', 'fee', 'loan', 'mortgage', 'payment', 'account', 'credit', 'debt'];

export function syntheticModel(
  opts: { terms: number; classes?: string[]; seed?: number; runId?: string } = { terms: 1000 },
): ModelFile {
  const rand = random(opts.seed ?? 1);
  const classes = opts.classes ?? [
    'bank',
    'credit_card',
    'credit_reporting',
    'debt',
    'loan',
    'mortgage',
    'other',
  ];
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  const word = (): string =>
    Array.from({ length: 4 + Math.floor(rand() * 6) }, () => letters[Math.floor(rand() * 26)]).join('');
  const seen = new Set<string>();
  const vocabulary: string[] = [];
  const add = (t: string): void => {
    if (vocabulary.length < opts.terms && !seen.has(t)) {
      seen.add(t);
      vocabulary.push(t);
    }
  };
  WORDS.forEach(add);
  while (vocabulary.length < opts.terms) add(rand() < 0.6 ? `${word()} ${word()}` : word());
  const F = vocabulary.length;
  const normal = (): number => (rand() + rand() + rand() - 1.5) * 0.8;
  return {
    format: MODEL_FORMAT,
    version: MODEL_VERSION,
    kind: 'logistic-regression',
    classes,
    textProcessing: { ...NARRATIVE_TEXT },
    vectorizer: {
      ...CATEGORY_VECTORIZER,
      ngramRange: [1, 2],
      vocabulary,
      idf: Array.from({ length: F }, () => 1 + rand() * 8),
    },
    coef: classes.map(() => Array.from({ length: F }, normal)),
    intercept: classes.map(normal),
    multiClass: 'multinomial',
    params: { C: 1, penalty: 'l2', maxIter: 100, classWeight: 'none', solver: 'lbfgs' },
    iterations: 42,
    lineage: {
      runId: opts.runId ?? 'synthetic',
      datasetSha256: null,
      codeVersion: null,
      params: (({ chunkSize: _, ...rest }) => rest)({
        ...DEFAULT_PIPELINE_PARAMS,
        labels: 'category' as const,
      }),
      testMetrics: { accuracy: 0.9, precision: 0.9, recall: 0.9, f1: 0.9, rocAuc: 0.95 },
    },
    threshold: { targetPrecision: 0.98, value: 0.5, coverage: 0.8, precision: 0.98 },
    trainingLabelMix: Object.fromEntries(classes.map((c) => [c, 1 / classes.length])),
  };
}

/**
 * A completed run `runId` in `storageDir` whose model.json is `model` (or whatever `write` puts at the
 * path, e.g. a FIFO): the registry resolves and loads it like a trained one. Returns the model file's path.
 */
export async function writeModelRun(
  store: RunStore,
  storageDir: string,
  runId: string,
  model: ModelFile | ((file: string) => void),
): Promise<string> {
  const at = new Date().toISOString();
  const record = makeRecord(runId, at, (s) => ({ ...s, state: 'completed', startedAt: at, finishedAt: at }));
  await store.write(record);
  const file = path.join(runDir(storageDir, runId), ARTIFACTS.model);
  if (typeof model === 'function') model(file);
  else fs.writeFileSync(file, JSON.stringify(model));
  return file;
}
