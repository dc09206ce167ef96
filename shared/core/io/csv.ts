import { CsvByteParser } from './csv-bytes';

/** RFC 4180 CSV: fields quoted only when they hold a comma, quote, CR or LF; quotes doubled. */

const NEEDS_QUOTES = /[",\r\n]/;

function csvField(value: string): string {
  return NEEDS_QUOTES.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** One CSV line with its trailing "\n". */
export function csvRow(fields: readonly string[]): string {
  return fields.map(csvField).join(',') + '\n';
}

/**
 * Incremental CSV parser over text: feed it text pieces in order, it calls `onRow` with every complete
 * row's fields. The one RFC 4180 loop is CsvByteParser's (csv-bytes.ts: quoted fields with embedded
 * commas, quotes and newlines that span pieces, CRLF, a last row without newline), here on the text's
 * UTF-8 bytes with every field decoded.
 */
export class CsvParser {
  private readonly bytes: CsvByteParser;

  constructor(onRow: (row: string[]) => void) {
    this.bytes = new CsvByteParser((values) => onRow(values));
  }

  write(text: string): void {
    this.bytes.write(Buffer.from(text, 'utf8'));
  }

  /** Flush the last row when the input does not end with a newline. */
  end(): void {
    this.bytes.end();
  }
}
