import { readJson } from '../storage';
import { ARTIFACTS, StageContext, artifactPath } from './context';
import { readTicketRows } from './read-tickets-csv';
import { TopicsFile } from './feature-extraction';

/** Processed texts with their topic labels (indices into `names`), as stage 2 wrote them. */
export interface LabelledTexts {
  texts: string[];
  labels: Int32Array;
  names: string[];
}

export async function readLabelledTexts(ctx: StageContext): Promise<LabelledTexts> {
  const topics = await readJson<TopicsFile>(artifactPath(ctx, ARTIFACTS.topics));
  const names = topics.topics.map((t) => t.name);
  const index = new Map(names.map((n, i) => [n, i]));
  const file = artifactPath(ctx, ARTIFACTS.ticketsTopics);
  const rows = await readTicketRows(file, true);
  const labels = new Int32Array(rows.topics.length);
  rows.topics.forEach((name, r) => {
    const label = index.get(name);
    if (label === undefined)
      throw new Error(
        `${file}: row ${r} has topic "${name}", which topics.json does not list: rerun feature extraction`,
      );
    labels[r] = label;
  });
  return { texts: rows.processed, labels, names };
}

/** Tickets per topic label: `counts[label]`, for labels 0 … k − 1. */
export function classCounts(labels: Int32Array, k: number): number[] {
  const counts = new Array<number>(k).fill(0);
  for (const label of labels) counts[label] = (counts[label] ?? 0) + 1;
  return counts;
}

/** Labels present in `counts` (count > 0), largest first, then by label. */
export function presentClasses(counts: readonly number[]): number[] {
  return counts
    .map((c, label) => ({ c, label }))
    .filter((x) => x.c > 0)
    .sort((a, b) => b.c - a.c || a.label - b.label)
    .map((x) => x.label);
}
