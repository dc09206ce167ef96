import { idfFromDocumentFrequencies } from '../../../core/numeric/vectorizer';
import {
  TermFrequencies,
  decodeTermFrequencies,
  mergeTermFrequencies,
  pruneTerms,
} from '../../../core/numeric/document-frequencies';
import { TermList } from '../../../core/numeric/term-list';
import { frobeniusFromTerms } from '../../../core/numeric/nmf-blocks';
import { checkParamsAgainstData } from '../../../core/config/pipeline-params';
import { BadInputError } from '../../../core/errors';
import { planBlocks } from '../blocks/plan-blocks';
import { ARTIFACTS, StageContext, artifactKey, blocksOf, runPrefix, secondsSince } from '../context';
import { publishTermHandoff } from './term-handoff';
import { FE_STAGE, feFiles, feKey } from './block-files';
import { removeScratchDirs } from '../blocks/block-task';
import {
  jobsPerRound,
  SINGLE_TASK_INIT_ROWS,
  SINGLE_TASK_NMF_ROWS,
  fitNmfOverBlocks,
} from './fit-nmf-blocks';
import { DF_TASK, TFIDF_TASK, putVocabulary, tfidfOptions } from './tfidf-tasks';
import { writeTicketsTopics } from './tickets-topics-file';
import { nameTopics, TopicWords } from './topic-names';

export const TOP_WORDS = 15;

/**
 * A topic holding less than this share of the tickets is reported in `warnings`: with the default 30 %
 * test split a 1 % topic of the 1,200-ticket sample has about 4 test tickets, too few for its precision
 * and recall to mean anything, and the classifier has little to learn it from (fewer topics usually
 * merge it into a real one).
 */
export const MIN_TOPIC_SHARE = 0.01;

/**
 * A TF-IDF vocabulary smaller than this after minDf/maxDf pruning is reported in `warnings`: 3 topics ×
 * 15 top words already need 45 distinct terms, so with fewer the topics share most of their top words,
 * the dictionary names them unreliably and the tickets are told apart by a handful of words. (The sample
 * keeps ~1,000 terms, the dev set ~4,000.)
 */
export const MIN_VOCABULARY_TERMS = 50;

export interface TopicSummary {
  id: number;
  name: string;
  size: number;
  topWords: string[];
}

export interface TopicsFile {
  topics: TopicSummary[];
  vocabularySize: number;
  nmf: { iterations: number; reconstructionError: number };
  /** Degenerate but usable topic model: tiny topics, a tiny vocabulary (see MIN_TOPIC_SHARE, …). */
  warnings: string[];
}

export interface FeatureExtractionResult {
  topics: { name: string; size: number }[];
  vocabularySize: number;
  nmfIterations: number;
  /** As in `topics.json`; always present, empty for a healthy model. */
  warnings: string[];
  seconds: number;
}

/** Options of a run of the stage for tools and tests; the pipeline uses the defaults. */
export interface FeatureExtractionOptions {
  /** up to this many tickets NMF runs whole in one task (SINGLE_TASK_NMF_ROWS) */
  singleTaskNmfRows?: number;
  /** up to this many tickets NMF's start is computed in one task (SINGLE_TASK_INIT_ROWS) */
  singleTaskInitRows?: number;
  /** at most this many jobs in a round of NMF's iterations or its start's SVD (MAX_JOBS_PER_ROUND) */
  maxJobsPerRound?: number;
  /** blocks of the start's Krylov basis before it restarts (SVD_BASIS_ROUNDS) */
  svdBasisRounds?: number;
}

/**
 * Stage 2: TF-IDF over the processed text, NMF with k topics; every ticket's topic (its pseudo-label) is
 * the argmax of its row of W. Writes `topics.json` and `tickets_topics.csv` (with its row index).
 *
 * The work per ticket runs as block tasks over fixed blocks of tickets.csv (blockSize rows): document
 * frequencies, TF-IDF rows, NMF (whole in one task for a small corpus, else each iteration's W sweep per
 * block: fit-nmf-blocks.ts), each ticket's topic. This function, inline in a worker, only reduces their
 * small results in block order (vocabulary, k × k and cols × k sums, Hᵀ's sweep): it holds no per-ticket
 * data, and the bytes do not depend on who ran which block.
 */
export async function runFeatureExtraction(
  ctx: StageContext,
  opts: FeatureExtractionOptions = {},
): Promise<FeatureExtractionResult> {
  const start = performance.now();
  const { params, store } = ctx;
  const mapper = blocksOf(ctx);
  const ticketsFile = artifactKey(ctx, ARTIFACTS.tickets);
  const plan = await planBlocks(store, ticketsFile, params.blockSize);
  const n = plan.rows;
  const nb = plan.blocks.length;
  ctx.log.info(`${n} tickets in ${ARTIFACTS.tickets}: ${nb} block(s) of up to ${params.blockSize}`);
  // Failures certain from the ticket count fail now, on the first attempt: retrying cannot fix them.
  const problems = checkParamsAgainstData(params, n);
  if (problems.length > 0) throw new BadInputError(`${ticketsFile}: ${n} ticket(s): ${problems.join('; ')}`);

  const tfidfStart = performance.now();
  const counted = await mapper.map(
    DF_TASK,
    plan.blocks.map((block) => ({ block, header: plan.header })),
  );
  if (!counted.some((c) => c.anyTerm)) {
    throw new BadInputError(
      `${ticketsFile}: none of the ${n} tickets has a processed term left (no nouns in the narratives), so the TF-IDF vocabulary is empty: use a dataset with real narratives`,
    );
  }
  const vocabularyProblem = (size: number, why: string, cause?: unknown) =>
    new BadInputError(
      `TF-IDF vocabulary of ${size} term(s) over ${n} tickets after pruning with minDf ${params.minDf} and maxDf ${params.maxDf}, ${why}: lower minDf or raise maxDf`,
      cause === undefined ? undefined : { cause },
    );
  let all: TermFrequencies = { docs: 0, terms: TermList.of([]), df: new Int32Array(0) };
  for (const block of plan.blocks) {
    const key = feKey(ctx, feFiles.terms(block.index));
    const terms = decodeTermFrequencies(await store.get(key), store.locate(key));
    all = mergeTermFrequencies(all, { docs: counted[block.index]!.rows, ...terms });
  }
  let pruned: ReturnType<typeof pruneTerms>;
  try {
    pruned = pruneTerms(all, tfidfOptions(params));
  } catch (err) {
    // The options are valid and the df limits feasible (checked above), so a RangeError here means no
    // term's document frequency falls between them.
    if (err instanceof RangeError) throw vocabularyProblem(0, 'empty', err);
    throw err;
  }
  const { vocabulary, df } = pruned;
  const cols = vocabulary.length;
  if (cols < params.topics) throw vocabularyProblem(cols, `fewer terms than the ${params.topics} topics`);
  await putVocabulary(ctx, pruned.terms, df, idfFromDocumentFrequencies(df, n, tfidfOptions(params)));
  ctx.signal?.throwIfAborted();
  const tfidf = await mapper.map(
    TFIDF_TASK,
    plan.blocks.map((block) => ({ block: block.index })),
  );
  let nnz = 0;
  let sum = 0;
  let squaredNorm = 0;
  for (const t of tfidf) {
    nnz += t.nnz;
    sum += t.sum;
    squaredNorm += t.squaredNorm;
  }
  ctx.log.info(
    `TF-IDF: vocabulary ${cols} terms (minDf ${params.minDf}, maxDf ${params.maxDf}), ${nnz} non-zeros, in ${secondsSince(tfidfStart)} s`,
  );
  await ctx.progress?.(30);

  const k = params.topics;
  const nmfStart = performance.now();
  const blocks = plan.blocks.map((b) => b.index);
  // Rounds sized to the workers there are now: the bytes do not depend on it (per-block partial sums).
  const maxJobsPerRound = opts.maxJobsPerRound ?? jobsPerRound(await mapper.parallelism?.());
  const nmf = await fitNmfOverBlocks(ctx, mapper, blocks, n, cols, sum / (n * cols), {
    singleTaskNmfRows: opts.singleTaskNmfRows ?? SINGLE_TASK_NMF_ROWS,
    singleTaskInitRows: opts.singleTaskInitRows ?? SINGLE_TASK_INIT_ROWS,
    maxJobsPerRound,
    svdBasisRounds: opts.svdBasisRounds,
  });
  const nmfSeconds = secondsSince(nmfStart);
  await ctx.progress?.(80);

  const topicWords: TopicWords[] = [];
  const row = new Float64Array(cols);
  for (let t = 0; t < k; t++) {
    for (let j = 0; j < cols; j++) row[j] = nmf.Ht[j * k + t]!;
    const order = Array.from({ length: cols }, (_, i) => i);
    order.sort((a, b) => row[b]! - row[a]! || a - b);
    const top = order.slice(0, TOP_WORDS);
    topicWords.push({ words: top.map((i) => vocabulary[i]!), weights: top.map((i) => row[i]!) });
  }
  const names = nameTopics(topicWords, params.topicDictionary);
  ctx.signal?.throwIfAborted();
  const labelled = await writeTicketsTopics(ctx, mapper, plan.blocks, nmf.nIter, names);
  const sizes = new Array<number>(k).fill(0);
  let cross = 0;
  for (const l of labelled) {
    l.sizes.forEach((s, t) => (sizes[t]! += s));
    cross += l.cross;
  }
  const reconstructionError =
    nmf.reconstructionError ?? frobeniusFromTerms(squaredNorm, nmf.WtW!, nmf.Ht, cols, k, cross);
  ctx.log.info(
    `NMF k=${k}: ${nmf.nIter} iterations (${nmf.nIter < params.nmfMaxIter ? `converged, tol ${params.nmfTol}` : `reached nmfMaxIter ${params.nmfMaxIter}`}), reconstruction error ${reconstructionError.toFixed(4)}, ${nmf.WtW ? `over ${nb} block(s), ${Math.min(maxJobsPerRound, nb)} job(s) a round` : 'in one task'}${nmf.svdRounds > 0 ? `, start from ${nmf.svdRounds} rounds of a block-wise SVD` : ''}, in ${nmfSeconds} s`,
  );

  const topics: TopicSummary[] = names.map((name, id) => ({
    id,
    name,
    size: sizes[id]!,
    topWords: topicWords[id]!.words,
  }));
  const warnings = topicWarnings(topics, n);
  if (cols < MIN_VOCABULARY_TERMS) {
    warnings.push(
      `TF-IDF vocabulary has only ${cols} terms after pruning with minDf ${params.minDf} and maxDf ${params.maxDf} (fewer than ${MIN_VOCABULARY_TERMS}): topics rest on a handful of words; lower minDf or raise maxDf`,
    );
  }
  for (const w of warnings) ctx.log.warn(w);
  const file: TopicsFile = {
    topics,
    vocabularySize: cols,
    nmf: { iterations: nmf.nIter, reconstructionError },
    warnings,
  };
  await store.putJson(artifactKey(ctx, ARTIFACTS.topics), file);
  await publishTermHandoff(ctx, plan);
  // No task of this or an earlier try may still read the files removed next.
  await mapper.settle?.();
  await removeScratchDirs(store, runPrefix(ctx), FE_STAGE, ctx);
  ctx.log.info(
    `${k} topics over ${n} tickets, vocabulary ${cols}: ${topics.map((t) => `${t.name} (${t.size})`).join(', ')}; wrote ${ARTIFACTS.topics}, ${ARTIFACTS.ticketsTopics} (${secondsSince(start)} s in all)`,
  );
  return {
    topics: topics.map((t) => ({ name: t.name, size: t.size })),
    vocabularySize: cols,
    nmfIterations: nmf.nIter,
    warnings,
    seconds: secondsSince(start),
  };
}

/** A warning per topic holding less than MIN_TOPIC_SHARE of the tickets (empty topics included). */
export function topicWarnings(topics: readonly TopicSummary[], tickets: number): string[] {
  return topics
    .filter((t) => t.size < MIN_TOPIC_SHARE * tickets)
    .map(
      (t) =>
        `topic "${t.name}" holds ${t.size} of ${tickets} tickets (${((100 * t.size) / tickets).toFixed(2)} %, under ${100 * MIN_TOPIC_SHARE} %): too few to learn or evaluate it; consider fewer topics`,
    );
}
