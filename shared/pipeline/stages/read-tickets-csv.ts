import { readCsvFile } from '../../core/io/read-csv';

/** The columns later stages read back from `tickets.csv` / `tickets_topics.csv`. */
export interface TicketRows {
  narratives: string[];
  categories: string[];
  processed: string[];
  topics: string[];
}

export async function readTicketRows(file: string, withTopic: boolean): Promise<TicketRows> {
  const rows: TicketRows = { narratives: [], categories: [], processed: [], topics: [] };
  const columns = [
    'complaint_what_happened',
    'category',
    'processed_text',
    ...(withTopic ? ['relevant_topic'] : []),
  ];
  await readCsvFile(file, columns, (row) => {
    rows.narratives.push(row.complaint_what_happened!);
    rows.categories.push(row.category!);
    rows.processed.push(row.processed_text!);
    if (withTopic) rows.topics.push(row.relevant_topic!);
  });
  return rows;
}
