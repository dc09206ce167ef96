import { DEFAULT_TOKEN_PATTERN, fitTfidfVectorizer } from '../../../core/numeric/vectorizer';
import { argmaxRows, fitNmf } from '../../../core/numeric/nmf';
import { csvRow } from '../../../core/io/csv';
import { checkParamsAgainstData } from '../../../core/config/pipeline-params';
import { BadInputError } from '../../../core/errors';
import { ARTIFACTS, StageContext, TICKETS_TOPICS_COLUMNS, artifactKey, secondsSince } from '../context';
import { readTicketRows } from '../read-tickets-csv';
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

/**
 * Stage 2: TF-IDF over the processed text, NMF with k topics; every ticket's topic (its pseudo-label) is
 * the argmax of its row of W. Writes `topics.json` and `tickets_topics.csv`.
 */
export async function runFeatureExtraction(ctx: StageContext): Promise<FeatureExtractionResult> {
  const start = performance.now();
  const { params } = ctx;
  const ticketsFile = artifactKey(ctx, ARTIFACTS.tickets);
  const rows = await readTicketRows(ctx, ARTIFACTS.tickets, false);
  const n = rows.processed.length;
  ctx.log.info(`read ${n} tickets from ${ARTIFACTS.tickets} in ${secondsSince(start)} s`);
  // Failures certain from the ticket count fail now, on the first attempt: retrying cannot fix them.
  const problems = checkParamsAgainstData(params, n);
  if (problems.length > 0) throw new BadInputError(`${ticketsFile}: ${n} ticket(s): ${problems.join('; ')}`);
  const anyTerm = new RegExp(DEFAULT_TOKEN_PATTERN.source, 'u');
  if (!rows.processed.some((text) => anyTerm.test(text))) {
    throw new BadInputError(
      `${ticketsFile}: none of the ${n} tickets has a processed term left (no nouns in the narratives), so the TF-IDF vocabulary is empty: use a dataset with real narratives`,
    );
  }
  const vocabularyProblem = (size: number, why: string, cause?: unknown) =>
    new BadInputError(
      `TF-IDF vocabulary of ${size} term(s) over ${n} tickets after pruning with minDf ${params.minDf} and maxDf ${params.maxDf}, ${why}: lower minDf or raise maxDf`,
      cause === undefined ? undefined : { cause },
    );
  let tfidf: ReturnType<typeof fitTfidfVectorizer>;
  const tfidfStart = performance.now();
  try {
    tfidf = fitTfidfVectorizer(rows.processed, { minDf: params.minDf, maxDf: params.maxDf });
  } catch (err) {
    // The options are valid and the df limits feasible (checked above), so a RangeError here means no
    // term's document frequency falls between them.
    if (err instanceof RangeError) throw vocabularyProblem(0, 'empty', err);
    throw err;
  }
  if (tfidf.vocabulary.length < params.topics) {
    throw vocabularyProblem(tfidf.vocabulary.length, `fewer terms than the ${params.topics} topics`);
  }
  ctx.log.info(
    `TF-IDF: vocabulary ${tfidf.vocabulary.length} terms (minDf ${params.minDf}, maxDf ${params.maxDf}), ${tfidf.matrix.data.length} non-zeros, in ${secondsSince(tfidfStart)} s`,
  );
  await ctx.progress?.(30);
  const k = params.topics;
  const nmfStart = performance.now();
  const nmf = fitNmf(tfidf.matrix, {
    nComponents: k,
    tol: params.nmfTol,
    maxIter: params.nmfMaxIter,
    randomState: params.nmfSeed,
  });
  ctx.log.info(
    `NMF k=${k}: ${nmf.nIter} iterations (${nmf.nIter < params.nmfMaxIter ? `converged, tol ${params.nmfTol}` : `reached nmfMaxIter ${params.nmfMaxIter}`}), reconstruction error ${nmf.reconstructionError.toFixed(4)}, in ${secondsSince(nmfStart)} s`,
  );
  await ctx.progress?.(80);

  const cols = tfidf.vocabulary.length;
  const topicWords: TopicWords[] = [];
  for (let t = 0; t < k; t++) {
    const order = Array.from({ length: cols }, (_, i) => i);
    const row = nmf.H.subarray(t * cols, (t + 1) * cols);
    order.sort((a, b) => row[b]! - row[a]! || a - b);
    const top = order.slice(0, TOP_WORDS);
    topicWords.push({ words: top.map((i) => tfidf.vocabulary[i]!), weights: top.map((i) => row[i]!) });
  }
  const names = nameTopics(topicWords, params.topicDictionary);
  const labels = argmaxRows(nmf.W, rows.processed.length, k);
  const sizes = new Array<number>(k).fill(0);
  for (const label of labels) sizes[label]!++;

  const out = await ctx.store.openWriter(artifactKey(ctx, ARTIFACTS.ticketsTopics));
  try {
    await out.write(csvRow(TICKETS_TOPICS_COLUMNS));
    for (let r = 0; r < labels.length; r++) {
      await out.write(
        csvRow([rows.narratives[r]!, rows.categories[r]!, rows.processed[r]!, names[labels[r]!]!]),
      );
    }
    await out.commit();
  } catch (err) {
    await out.abort();
    throw err;
  }
  const topics: TopicSummary[] = names.map((name, id) => ({
    id,
    name,
    size: sizes[id]!,
    topWords: topicWords[id]!.words,
  }));
  const warnings = topicWarnings(topics, labels.length);
  if (cols < MIN_VOCABULARY_TERMS) {
    warnings.push(
      `TF-IDF vocabulary has only ${cols} terms after pruning with minDf ${params.minDf} and maxDf ${params.maxDf} (fewer than ${MIN_VOCABULARY_TERMS}): topics rest on a handful of words; lower minDf or raise maxDf`,
    );
  }
  for (const w of warnings) ctx.log.warn(w);
  const file: TopicsFile = {
    topics,
    vocabularySize: cols,
    nmf: { iterations: nmf.nIter, reconstructionError: nmf.reconstructionError },
    warnings,
  };
  await ctx.store.putJson(artifactKey(ctx, ARTIFACTS.topics), file);
  ctx.log.info(
    `${k} topics over ${labels.length} tickets, vocabulary ${cols}: ${topics.map((t) => `${t.name} (${t.size})`).join(', ')}; wrote ${ARTIFACTS.topics}, ${ARTIFACTS.ticketsTopics} (${secondsSince(start)} s in all)`,
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
