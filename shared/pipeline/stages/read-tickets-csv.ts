import { readCsv } from '../../core/io/read-csv';
import { RunArtifacts, artifactKey } from './context';

/** The columns later stages read back from `tickets.csv` / `tickets_topics.csv`. */
export interface TicketRows {
  narratives: string[];
  categories: string[];
  processed: string[];
  topics: string[];
}

/** The rows of the run's `name` (`tickets.csv`, or `tickets_topics.csv` with its topic column). */
export async function readTicketRows(
  ctx: RunArtifacts,
  name: string,
  withTopic: boolean,
): Promise<TicketRows> {
  const key = artifactKey(ctx, name);
  const rows: TicketRows = { narratives: [], categories: [], processed: [], topics: [] };
  const columns = [
    'complaint_what_happened',
    'category',
    'processed_text',
    ...(withTopic ? ['relevant_topic'] : []),
  ];
  await readCsv(await ctx.store.openRead(key), key, columns, (row) => {
    rows.narratives.push(row.complaint_what_happened!);
    rows.categories.push(row.category!);
    rows.processed.push(row.processed_text!);
    if (withTopic) rows.topics.push(row.relevant_topic!);
  });
  return rows;
}
