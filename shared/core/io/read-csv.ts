import type { Readable } from 'node:stream';
import { CsvByteParser } from './csv-bytes';

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
  let header = false;
  let index = 0;
  let problem: Error | null = null;
  const parser = new CsvByteParser((values, fields) => {
    if (problem) return;
    if (!header) {
      header = true;
      const found = required.map((name) => values.indexOf(name));
      const missing = required.filter((_, i) => (found[i] ?? -1) < 0);
      if (missing.length > 0)
        problem = new Error(
          `${file}: missing column(s) ${missing.join(', ')}; it holds ${values.join(', ')}`,
        );
      // Rows from now on decode only the required fields, in `required`'s order.
      else parser.choose(found);
      return;
    }
    if (fields < required.length) {
      problem = new Error(`${file}: row ${index} has ${fields} fields, expected at least ${required.length}`);
      return;
    }
    const rec: Record<string, string> = {};
    for (let i = 0; i < required.length; i++) rec[required[i]!] = values[i]!;
    onRow(rec, index++);
  });
  try {
    for await (const piece of input) {
      parser.write(typeof piece === 'string' ? Buffer.from(piece, 'utf8') : (piece as Buffer));
      if (problem) break;
    }
  } finally {
    input.destroy();
  }
  if (!problem) parser.end();
  if (problem) throw problem;
  if (!header) throw new Error(`${file}: empty CSV, expected a header with ${required.join(', ')}`);
  return index;
}
