import fs from 'node:fs';
import { readCsv } from '../../shared/core/io/read-csv';

/** readCsv over a local file: tests read a file-backed run's CSV artifacts by path. */
export function readCsvFile(
  file: string,
  required: readonly string[],
  onRow: (row: Record<string, string>, index: number) => void,
): Promise<number> {
  return readCsv(fs.createReadStream(file), file, required, onRow);
}
