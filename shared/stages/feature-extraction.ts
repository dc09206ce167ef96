import { fitTfidfVectorizer } from '../numeric/vectorizer';
import { argmaxRows, fitNmf } from '../numeric/nmf';
import { csvRow } from '../io/csv';
import { openAtomicWriter, writeJsonAtomic } from '../storage';
import { ARTIFACTS, StageContext, TICKETS_TOPICS_COLUMNS, artifactPath, secondsSince } from './context';
import { readTicketRows } from './read-tickets-csv';
import { nameTopics, TopicWords } from './topic-names';

export const TOP_WORDS = 15;

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
}

export interface FeatureExtractionResult {
  topics: { name: string; size: number }[];
  vocabularySize: number;
  nmfIterations: number;
  seconds: number;
}

/**
 * Stage 2: TF-IDF over the processed text, NMF with k topics; every ticket's topic (its pseudo-label) is
 * the argmax of its row of W. Writes `topics.json` and `tickets_topics.csv`.
 */
export async function runFeatureExtraction(ctx: StageContext): Promise<FeatureExtractionResult> {
  const start = performance.now();
  const { params } = ctx;
  const rows = await readTicketRows(artifactPath(ctx, ARTIFACTS.tickets), false);
  if (rows.processed.length < params.topics) {
    throw new Error(
      `${rows.processed.length} ticket(s) cannot be split into ${params.topics} topics: use a larger dataset or fewer topics`,
    );
  }
  const tfidf = fitTfidfVectorizer(rows.processed, { minDf: params.minDf, maxDf: params.maxDf });
  if (tfidf.vocabulary.length < params.topics) {
    throw new Error(
      `TF-IDF kept ${tfidf.vocabulary.length} term(s) (minDf ${params.minDf}, maxDf ${params.maxDf}), fewer than ${params.topics} topics: lower minDf or raise maxDf`,
    );
  }
  await ctx.progress?.(30);
  const k = params.topics;
  const nmf = fitNmf(tfidf.matrix, {
    nComponents: k,
    tol: params.nmfTol,
    maxIter: params.nmfMaxIter,
    randomState: params.nmfSeed,
  });
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

  const out = await openAtomicWriter(artifactPath(ctx, ARTIFACTS.ticketsTopics));
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
  const file: TopicsFile = {
    topics,
    vocabularySize: cols,
    nmf: { iterations: nmf.nIter, reconstructionError: nmf.reconstructionError },
  };
  await writeJsonAtomic(artifactPath(ctx, ARTIFACTS.topics), file);
  ctx.log.info(
    `${k} topics over ${labels.length} tickets, vocabulary ${cols}: ${topics.map((t) => `${t.name} (${t.size})`).join(', ')}`,
  );
  return {
    topics: topics.map((t) => ({ name: t.name, size: t.size })),
    vocabularySize: cols,
    nmfIterations: nmf.nIter,
    seconds: secondsSince(start),
  };
}
