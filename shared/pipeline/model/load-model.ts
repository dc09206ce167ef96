/**
 * Loading a `model.json` (version 2) and classifying raw ticket text with it, with exactly the processing
 * it was trained with: the stage-1 lemma function (shared/core/nlp/ticket-lemmas.ts), stage 3's count and
 * TF-IDF functions in the same order (transformCounts with the fixed vocabulary, then applyTfidf with the
 * stored idf) and the estimator the file names (estimator-table.ts), reading the parameters training's fit
 * wrote. Probabilities therefore equal training's bit for bit.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { parseJsonStream } from '../../core/io/json-stream';
import { createTicketLemmatizer, textProcessingProblem } from '../../core/nlp/ticket-lemmas';
import { CsrMatrix } from '../../core/numeric/csr';
import { regexSourceProblem } from '../../core/regex-source';
import { applyTfidf, countTokens, transformCounts } from '../../core/numeric/vectorizer';
import { ESTIMATOR_KINDS, estimatorOf } from './estimator-table';
import { MODEL_FORMAT, MODEL_VERSION, ModelFile, countVectorizerOptions, tfidfOptions } from './model-file';
import { ModelHeader, PackedModel, PackedVocabulary, packModel, packedBytes } from './packed-model';
import { abstains, topClasses } from './threshold';

/** The label of a prediction whose confidence is below the threshold. */
export const NEEDS_REVIEW = 'needs_review';

export interface TicketPrediction {
  /** the most probable class, or `needs_review` when abstained */
  label: string;
  /** the most probable class, abstained or not (the lowest class on ties, like argmax) */
  predicted: string;
  /** the top class probability */
  confidence: number;
  /** class → probability, in the model's class order */
  probabilities: Record<string, number>;
  /** confidence below the threshold */
  abstained: boolean;
}

export interface LoadedModel {
  /** the model file without its vocabulary, idf, coefficients and intercepts (those are packed) */
  file: ModelHeader;
  classes: readonly string[];
  /** memory the loaded model holds, estimated (see packedBytes) */
  bytes: number;
  /** Raw ticket texts → predictions; `threshold` defaults to the model's calibrated `threshold.value`. */
  classify(texts: readonly string[], threshold?: number): TicketPrediction[];
  /**
   * `classify`, plus the number of tokens of the texts' lemmas and how many of them the vocabulary does
   * not know (a drift signal: a rising share means the model sees words it was not trained on).
   */
  classifyWithStats(
    texts: readonly string[],
    threshold?: number,
  ): { predictions: TicketPrediction[]; tokens: number; outOfVocabulary: number };
  /** Processed texts (the model's `textProcessing` output) → n × k probabilities, row-major: as training. */
  probabilities(processed: readonly string[]): Float64Array;
}

/** A model file this code cannot use, with what is wrong. */
export class InvalidModelError extends Error {
  override readonly name = 'InvalidModelError';
}

/** Validate a parsed `model.json` and make it ready to classify. */
export function loadModel(file: ModelFile): LoadedModel {
  return assembleModel(checkAndPack(file));
}

/** Validate a parsed `model.json` and pack it (InvalidModelError naming what is wrong). */
export function checkAndPack(file: unknown): PackedModel {
  const problem = modelFileProblem(file);
  if (problem !== null) throw new InvalidModelError(`invalid model file: ${problem}`);
  return packModel(file as ModelFile);
}

/**
 * A packed model ready to classify. Cheap: it wraps the packed arrays (the vocabulary index included), so
 * a thread that receives a model packed elsewhere does no work proportional to the model's size.
 */
export function assembleModel(packed: PackedModel): LoadedModel {
  const file = packed.header;
  const classes = file.classes;
  const k = classes.length;
  const { estimator, kind } = estimatorOf(file);
  if (estimator === null) throw new InvalidModelError(unknownEstimator(kind));
  const predictor = estimator.read(file, packed.parameters, k);
  const idf = packed.idf;
  const countOptions = countVectorizerOptions(file.vectorizer);
  const weighting = tfidfOptions(file.vectorizer);
  let lemmatize: ((text: string) => string) | null = null;

  const index = new PackedVocabulary(packed.terms, packed.termEnds, packed.termTable);
  const counts = (processed: readonly string[]): CsrMatrix => transformCounts(processed, index, countOptions);
  const probabilitiesOf = (c: CsrMatrix): Float64Array =>
    predictor.probabilities(applyTfidf(c, idf, weighting));
  const lemmas = (texts: readonly string[]): string[] => {
    if (!Array.isArray(texts)) throw new TypeError('texts must be an array of strings');
    lemmatize ??= createTicketLemmatizer(file.textProcessing);
    const f = lemmatize;
    return texts.map((t, i) => {
      if (typeof t !== 'string') throw new TypeError(`text ${i} is not a string`);
      return f(t);
    });
  };
  const predictions = (P: Float64Array, n: number, threshold: number | undefined): TicketPrediction[] => {
    const t = threshold ?? file.threshold.value;
    if (typeof t !== 'number' || !(t >= 0 && t <= 1)) {
      throw new RangeError(`threshold must be a number from 0 to 1, got ${JSON.stringify(t)}`);
    }
    const { label, confidence } = topClasses(P, n, k);
    return Array.from({ length: n }, (_, i) => {
      const abstained = abstains(confidence[i]!, t);
      // No prototype: a class may be called "__proto__" or "constructor".
      const probabilities: Record<string, number> = Object.create(null);
      classes.forEach((name, c) => (probabilities[name] = P[i * k + c]!));
      const predicted = classes[label[i]!]!;
      return {
        label: abstained ? NEEDS_REVIEW : predicted,
        predicted,
        confidence: confidence[i]!,
        probabilities,
        abstained,
      };
    });
  };

  return {
    file,
    classes,
    bytes: packedBytes(packed),
    probabilities: (processed) => probabilitiesOf(counts(processed)),
    classify(texts, threshold) {
      const processed = lemmas(texts);
      return predictions(probabilitiesOf(counts(processed)), processed.length, threshold);
    },
    classifyWithStats(texts, threshold) {
      const processed = lemmas(texts);
      const c = counts(processed);
      let known = 0;
      for (let p = 0; p < c.indptr[c.rows]!; p++) known += c.data[p]!;
      const tokens = countTokens(processed, countOptions).reduce((s, v) => s + v, 0);
      return {
        predictions: predictions(probabilitiesOf(c), processed.length, threshold),
        tokens,
        outOfVocabulary: tokens - known,
      };
    },
  };
}

/**
 * Model files up to this size are parsed as one string (JSON.parse, ~4× faster); larger ones as a
 * stream of bytes (parseJsonStream), since past V8's longest string (536,870,888 characters) the text
 * cannot be one string: a category model over ~2.9M terms.
 */
export const PARSE_WHOLE_UP_TO_BYTES = 256 * 2 ** 20;

/**
 * `bytes` bytes of model JSON, parsed: read whole by `whole` up to `parseWholeUpTo` bytes, else parsed
 * from the pieces of `stream`. Errors are InvalidModelError naming `where`.
 */
export async function parseModelJson(
  where: string,
  bytes: number,
  read: { whole: () => Promise<Buffer | string>; stream: () => Promise<AsyncIterable<Uint8Array>> },
  parseWholeUpTo = PARSE_WHOLE_UP_TO_BYTES,
): Promise<unknown> {
  let source: Buffer | string | AsyncIterable<Uint8Array>;
  try {
    source = bytes <= parseWholeUpTo ? await read.whole() : await read.stream();
  } catch (err) {
    if (err instanceof InvalidModelError) throw err;
    const e = err as NodeJS.ErrnoException;
    throw new InvalidModelError(`cannot read model ${where}: ${e.code ?? e.message}`, { cause: err });
  }
  if (typeof source === 'string' || Buffer.isBuffer(source)) {
    try {
      return JSON.parse(typeof source === 'string' ? source : source.toString('utf8'));
    } catch (err) {
      throw new InvalidModelError(`model ${where} is not JSON: ${(err as Error).message}`, { cause: err });
    }
  }
  try {
    return await parseJsonStream(source, `model ${where}`);
  } catch (err) {
    if (err instanceof SyntaxError) throw new InvalidModelError(err.message, { cause: err });
    const e = err as NodeJS.ErrnoException;
    throw new InvalidModelError(`cannot read model ${where}: ${e.code ?? e.message}`, { cause: err });
  }
}

/** Read, parse, validate and pack `model.json` (in whichever thread calls it); errors name the file. */
export async function readPackedModel(
  file: string,
  parseWholeUpTo = PARSE_WHOLE_UP_TO_BYTES,
): Promise<PackedModel> {
  let size: number;
  try {
    size = (await fsp.stat(file)).size;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new InvalidModelError(`cannot read model file ${file}: ${e.code ?? e.message}`, { cause: err });
  }
  const parsed = await parseModelJson(
    `file ${file}`,
    size,
    {
      whole: () => fsp.readFile(file, 'utf8'),
      stream: async () => fs.createReadStream(file, { highWaterMark: 1 << 20 }),
    },
    parseWholeUpTo,
  );
  try {
    return checkAndPack(parsed);
  } catch (err) {
    if (err instanceof InvalidModelError) throw new InvalidModelError(`${file}: ${err.message}`);
    throw err;
  }
}

/** Read, parse and load `model.json` in this thread; errors name the file. */
export async function readModel(file: string): Promise<LoadedModel> {
  return assembleModel(await readPackedModel(file));
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isProportion = (v: unknown): v is number => isFiniteNumber(v) && v >= 0 && v <= 1;

function unknownEstimator(kind: string): string {
  return `estimator ${kind} (params.solver) is not one this code knows: ${ESTIMATOR_KINDS.map((k) => `"${k}"`).join(', ')}`;
}

/** The first thing wrong with a would-be model file, or null. */
function modelFileProblem(m: unknown): string | null {
  if (!isObject(m)) return 'not a JSON object';
  if (m.format !== MODEL_FORMAT) {
    if (m.format === undefined && m.kind === 'logistic-regression' && 'vocabulary' in m) {
      return `a version-1 model.json (before models carried their text processing and threshold); retrain to get version ${MODEL_VERSION}`;
    }
    return `"format" is ${JSON.stringify(m.format)}, not "${MODEL_FORMAT}"`;
  }
  if (m.version !== MODEL_VERSION) {
    return `version ${JSON.stringify(m.version)}: this code reads version ${MODEL_VERSION}`;
  }
  if (m.kind !== 'logistic-regression')
    return `"kind" ${JSON.stringify(m.kind)} is not "logistic-regression"`;
  const { estimator, kind } = estimatorOf(m);
  if (estimator === null) return unknownEstimator(kind);
  const classes = m.classes;
  if (
    !Array.isArray(classes) ||
    classes.length < 2 ||
    !classes.every((c) => typeof c === 'string' && c !== '')
  ) {
    return '"classes" must list two or more non-empty class names';
  }
  if (new Set(classes).size !== classes.length) return '"classes" lists a class twice';
  const k = classes.length;
  const tp = textProcessingProblem(m.textProcessing);
  if (tp !== null) return tp;
  const v = m.vectorizer;
  if (!isObject(v)) return '"vectorizer" must be an object';
  if (v.kind !== 'count+tfidf') return `vectorizer.kind ${JSON.stringify(v.kind)} is not "count+tfidf"`;
  for (const name of ['lowercase', 'smoothIdf', 'sublinearTf'] as const) {
    if (typeof v[name] !== 'boolean') return `vectorizer.${name} must be true or false`;
  }
  if (v.norm !== 'l2' && v.norm !== 'l1' && v.norm !== null)
    return 'vectorizer.norm must be "l2", "l1" or null';
  const pattern = regexSourceProblem('vectorizer.tokenPattern', v.tokenPattern, 'u');
  if (pattern !== null) return pattern;
  const ngrams = v.ngramRange;
  if (
    ngrams !== undefined &&
    !(
      Array.isArray(ngrams) &&
      ngrams.length === 2 &&
      ngrams.every((n) => Number.isInteger(n) && (n as number) >= 1) &&
      (ngrams[0] as number) <= (ngrams[1] as number)
    )
  ) {
    return 'vectorizer.ngramRange must be [min, max] with integers 1 ≤ min ≤ max';
  }
  const vocabulary = v.vocabulary;
  if (
    !Array.isArray(vocabulary) ||
    vocabulary.length === 0 ||
    !vocabulary.every((t) => typeof t === 'string')
  ) {
    return 'vectorizer.vocabulary must be a non-empty list of terms';
  }
  if (new Set(vocabulary).size !== vocabulary.length) return 'vectorizer.vocabulary lists a term twice';
  const F = vocabulary.length;
  if (!Array.isArray(v.idf) || v.idf.length !== F || !v.idf.every(isFiniteNumber)) {
    return `vectorizer.idf must hold ${F} finite numbers, one per vocabulary term`;
  }
  const section = estimator.sectionProblem(m, k, F);
  if (section !== null) return section;
  const t = m.threshold;
  if (!isObject(t) || !isProportion(t.value)) return 'threshold.value must be a number from 0 to 1';
  for (const name of ['targetPrecision', 'coverage', 'precision'] as const) {
    if (!isProportion(t[name])) return `threshold.${name} must be a number from 0 to 1`;
  }
  const lineage = m.lineage;
  if (!isObject(lineage) || typeof lineage.runId !== 'string') return 'lineage.runId must be a run id';
  if (!isObject(lineage.params)) return 'lineage.params must be an object';
  if (!isObject(m.trainingLabelMix)) return '"trainingLabelMix" must be an object of class → share';
  return null;
}
