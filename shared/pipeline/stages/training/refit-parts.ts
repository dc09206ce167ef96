import { ARTIFACTS, StageContext, artifactKey, secondsSince, writtenByOwnCode } from '../context';
import { ArtifactNotFound } from '../../../core/store/artifact-store';
import { FittedPart } from '../../model/estimator';
import { Candidate, describeCandidate } from './search-grid';
import {
  featureView,
  fitCandidatePart,
  fitRowsOf,
  readTrainingData,
  requireTwoClasses,
} from './training-data';

/**
 * The refit of a one-vs-rest winner over many tickets runs one job per binary problem (a class), so the
 * search's workers share it instead of one fitting every class while the others wait; a last job joins
 * the rows (combineCandidateParts) and scores the model. Each problem's job writes its row to
 * `search/refit-<candidate>-part-<problem>.bin`: a retry of the run reuses the rows already there for
 * the same candidate and parameters, fitted by the same code, and the folder goes once the model is
 * written. The join, too, takes only rows of its own code: one model's rows come from one build.
 *
 * The file: a 4-byte little-endian length, that many bytes of JSON (PartHeader), zeros up to a multiple
 * of 8, then the row's weights as little-endian doubles.
 */
interface PartHeader extends StoredFitHeader {
  classes: string[];
  features: number;
  problem: number;
  intercept: number;
  iterations: number;
}

/** What a problem's job returns: small, for its log and the stage's timeline. */
export interface RefitPartResult {
  kind: 'refit-part';
  candidate: number;
  problem: number;
  iterations: number;
  seconds: number;
}

function partKey(ctx: Pick<StageContext, 'runId'>, candidate: number, problem: number): string {
  return artifactKey(ctx, `${ARTIFACTS.searchDir}/refit-${candidate}-part-${problem}.bin`);
}

function encode(header: PartHeader, weights: Float64Array): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const offset = Math.ceil((4 + json.length) / 8) * 8;
  const out = Buffer.alloc(offset + weights.length * 8);
  out.writeUInt32LE(json.length, 0);
  json.copy(out, 4);
  for (let j = 0; j < weights.length; j++) out.writeDoubleLE(weights[j]!, offset + 8 * j);
  return out;
}

function decode(bytes: Buffer, where: string): { header: PartHeader; weights: Float64Array } {
  const fail = (why: string) => new Error(`${where}: not a refit part (${why})`);
  if (bytes.length < 4) throw fail('shorter than its header');
  const length = bytes.readUInt32LE(0);
  if (4 + length > bytes.length) throw fail('header past the end');
  let header: PartHeader;
  try {
    header = JSON.parse(bytes.subarray(4, 4 + length).toString('utf8')) as PartHeader;
  } catch {
    throw fail('header is not JSON');
  }
  const offset = Math.ceil((4 + length) / 8) * 8;
  if (!Number.isInteger(header.features) || bytes.length !== offset + header.features * 8)
    throw fail(`${bytes.length} bytes for ${header.features} weights`);
  const weights = new Float64Array(header.features);
  for (let j = 0; j < weights.length; j++) weights[j] = bytes.readDoubleLE(offset + 8 * j);
  return { header, weights };
}

/** What a stored refit result (a part's row, a fit: refit-fit.ts) records of the fit that made it. */
export interface StoredFitHeader {
  candidate: Candidate;
  seed: number;
  maxIter: number;
  /** the code identity that fitted it (StageContext.code; null in-process) */
  code: string | null;
}

/** Whether a stored refit result was computed for this candidate and these parameters, by the context's code. */
export function sameFit(ctx: StageContext, header: StoredFitHeader, candidate: Candidate): boolean {
  return (
    JSON.stringify(candidateFields(header.candidate)) === JSON.stringify(candidateFields(candidate)) &&
    header.seed === ctx.params.splitSeed &&
    header.maxIter === ctx.params.maxIter &&
    writtenByOwnCode(header.code, ctx)
  );
}

/** A candidate's own fields, in one order (a search summary carries scores beside them). */
export function candidateFields(c: Candidate): Candidate {
  return { id: c.id, C: c.C, classWeight: c.classWeight, ngrams: c.ngrams, solver: c.solver };
}

async function readPart(
  ctx: StageContext,
  candidate: Candidate,
  problem: number,
): Promise<{ header: PartHeader; weights: Float64Array } | null> {
  const key = partKey(ctx, candidate.id, problem);
  let bytes: Buffer;
  try {
    bytes = await ctx.store.get(key);
  } catch (err) {
    if (err instanceof ArtifactNotFound) return null;
    throw err;
  }
  const part = decode(bytes, ctx.store.locate(key));
  return part.header.problem === problem && sameFit(ctx, part.header, candidate) ? part : null;
}

/** The problems whose rows an earlier job of this run left in storage for `candidate`. */
export async function storedRefitParts(
  ctx: StageContext,
  candidate: Candidate,
  problems: readonly number[],
): Promise<Set<number>> {
  const found = new Set<number>();
  for (const p of problems) {
    // A part that cannot be read is computed again.
    const part = await readPart(ctx, candidate, p).catch(() => null);
    if (part) found.add(p);
  }
  return found;
}

/**
 * The rows of every problem, for the refit that joins them: fails (retryably) when one is missing or of
 * another fit — the parent job adds the refit only after every problem's job has completed.
 */
export async function readRefitParts(
  ctx: StageContext,
  candidate: Candidate,
  problems: readonly number[],
  classes: readonly string[],
  features: number,
): Promise<FittedPart[]> {
  const parts: FittedPart[] = [];
  for (const p of problems) {
    const part = await readPart(ctx, candidate, p);
    const where = ctx.store.locate(partKey(ctx, candidate.id, p));
    if (!part) throw new Error(`${where}: the refit's problem ${p} has no row for this fit`);
    if (JSON.stringify(part.header.classes) !== JSON.stringify(classes) || part.header.features !== features)
      throw new Error(
        `${where}: a row over ${part.header.features} features of classes ${part.header.classes.join(', ')}, not ${features} of ${classes.join(', ')}`,
      );
    const { intercept, iterations } = part.header;
    parts.push({ problem: p, weights: part.weights, intercept, iterations });
  }
  return parts;
}

/** Fit one problem of the refit of `candidate` on the whole training split and store its row. */
export async function runRefitPart(
  ctx: StageContext,
  candidate: Candidate,
  problem: number,
): Promise<RefitPartResult> {
  const start = performance.now();
  const data = await readTrainingData(ctx);
  const view = featureView(data, candidate.ngrams);
  const rows = await fitRowsOf(ctx, data, view, data.train, candidate);
  requireTwoClasses(rows.y, data.classes);
  const readSeconds = secondsSince(start);
  const part = fitCandidatePart(rows.X, rows.y, data.classes.length, candidate, ctx.params, problem);
  const header: PartHeader = {
    candidate: candidateFields(candidate),
    seed: ctx.params.splitSeed,
    maxIter: ctx.params.maxIter,
    classes: data.classes,
    features: view.vocabulary.length,
    problem,
    intercept: part.intercept,
    iterations: part.iterations,
    code: ctx.code ?? null,
  };
  await ctx.store.put(partKey(ctx, candidate.id, problem), encode(header, part.weights));
  const seconds = secondsSince(start);
  ctx.log.info(
    `refit of candidate ${candidate.id} ${describeCandidate(candidate)}, class "${data.classes[problem]}" against the rest: ${rows.y.length} tickets × ${view.vocabulary.length} features read in ${readSeconds} s, ${part.iterations} passes; ${seconds} s in all`,
  );
  return { kind: 'refit-part', candidate: candidate.id, problem, iterations: part.iterations, seconds };
}
