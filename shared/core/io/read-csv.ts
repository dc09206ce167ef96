import fs from 'node:fs';
import { CsvParser } from './csv';

/**
 * Stream a CSV file with a header row; `onRow` receives each data row as a record keyed by the
 * `required` column names. Fails with the file name when a required column is missing or a row is short.
 */
export async function readCsvFile(
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
  const stream = fs.createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 });
  for await (const piece of stream) {
    parser.write(piece as string);
    if (problem) break;
  }
  stream.destroy();
  if (!problem) parser.end();
  if (problem) throw problem;
  if (columns === null) throw new Error(`${file}: empty CSV, expected a header with ${required.join(', ')}`);
  return index;
}
