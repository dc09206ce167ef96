/** RFC 4180 CSV: fields quoted only when they hold a comma, quote, CR or LF; quotes doubled. */

const NEEDS_QUOTES = /[",\r\n]/;

export function csvField(value: string): string {
  return NEEDS_QUOTES.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** One CSV line with its trailing "\n". */
export function csvRow(fields: readonly string[]): string {
  return fields.map(csvField).join(',') + '\n';
}

/**
 * Incremental CSV parser: feed it text pieces in order, it calls `onRow` for every complete row.
 * Handles quoted fields with embedded commas, quotes and newlines that span pieces, and CRLF.
 */
export class CsvParser {
  private field = '';
  private row: string[] = [];
  private inQuotes = false;
  /** A quote seen inside a quoted field: either the closing quote or the first of a doubled pair. */
  private pendingQuote = false;
  /**
   * Length of the current field's quoted content once its closing quote is seen, else -1: a "\r" before
   * the row's "\n" is a line-end CR only when it lies past the quoted content.
   */
  private quotedLength = -1;

  constructor(private readonly onRow: (row: string[]) => void) {}

  write(text: string): void {
    let field = this.field;
    let start = 0;
    const n = text.length;
    for (let i = 0; i < n; i++) {
      const c = text.charCodeAt(i);
      if (this.pendingQuote) {
        this.pendingQuote = false;
        if (c === 34 /* " */) {
          field += '"'; // a doubled quote inside a quoted field stands for one quote
          start = i + 1;
          continue;
        }
        this.inQuotes = false;
        this.quotedLength = field.length;
      }
      if (this.inQuotes) {
        if (c === 34) {
          field += text.slice(start, i);
          start = i + 1;
          this.pendingQuote = true;
        }
        continue;
      }
      if (c === 44 /* , */) {
        this.row.push(field + text.slice(start, i));
        field = '';
        this.quotedLength = -1;
        start = i + 1;
      } else if (c === 10 /* \n */) {
        this.row.push(this.withoutLineEndCr(field + text.slice(start, i)));
        field = '';
        start = i + 1;
        this.emit();
      } else if (c === 34 && field.length === 0 && i === start) {
        this.inQuotes = true;
        start = i + 1;
      }
    }
    this.field = field + text.slice(start);
  }

  /** Flush the last row when the input does not end with a newline. */
  end(): void {
    if (this.pendingQuote) {
      this.pendingQuote = false;
      this.inQuotes = false;
      this.quotedLength = this.field.length;
    }
    if (this.inQuotes) throw new Error('CSV ends inside a quoted field: the file is truncated');
    if (this.field.length > 0 || this.row.length > 0 || this.quotedLength >= 0) {
      this.row.push(this.withoutLineEndCr(this.field));
      this.field = '';
      this.emit();
    }
  }

  private withoutLineEndCr(value: string): string {
    const bareCr = value.endsWith('\r') && value.length - 1 >= this.quotedLength;
    return bareCr ? value.slice(0, -1) : value;
  }

  private emit(): void {
    this.onRow(this.row);
    this.row = [];
    this.quotedLength = -1;
  }
}
