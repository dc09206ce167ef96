import type { Readable } from 'node:stream';
import { CsvParser } from './csv';

/** The parser gets text in pieces of about this size, whatever size the source's pieces are. */
const PIECE = 1 << 20;

/**
 * Stream CSV text with a header row from `input` (a byte stream, UTF-8; it is consumed and destroyed);
 * `onRow` receives each data row as a record keyed by the `required` column names. Fails naming `file`
 * when a required column is missing or a row is short.
 */
export async function readCsv(
  input: Readable,
  file: string,
  required: readonly string[],
  onRow: (row: Record<string, string>, index: number) => void,
): Promise<number> {
  let columns: number[] | null = null;
  let index = 0;
  let problem: Error | null = null;
  const parser = new CsvParser((row) => {
    if (problem) return;
    if (columns === null) {
      const found = required.map((name) => row.indexOf(name));
      columns = found;
      const missing = required.filter((_, i) => (found[i] ?? -1) < 0);
      if (missing.length > 0)
        problem = new Error(`${file}: missing column(s) ${missing.join(', ')}; it holds ${row.join(', ')}`);
      return;
    }
    if (row.length < required.length) {
      problem = new Error(
        `${file}: row ${index} has ${row.length} fields, expected at least ${required.length}`,
      );
      return;
    }
    const rec: Record<string, string> = {};
    for (let i = 0; i < required.length; i++) rec[required[i]!] = row[columns[i]!] ?? '';
    onRow(rec, index++);
  });
  input.setEncoding('utf8');
  let pending = '';
  try {
    for await (const piece of input) {
      pending += piece as string;
      if (pending.length < PIECE) continue;
      parser.write(pending);
      pending = '';
      if (problem) break;
    }
  } finally {
    input.destroy();
  }
  if (!problem && pending.length > 0) parser.write(pending);
  if (!problem) parser.end();
  if (problem) throw problem;
  if (columns === null) throw new Error(`${file}: empty CSV, expected a header with ${required.join(', ')}`);
  return index;
}
