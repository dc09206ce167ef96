/**
 * Splits byte chunks into lines ('\n', an optional '\r' before it is dropped), decoding each line as UTF-8
 * on its own so multi-byte characters cut by a chunk boundary come out whole. A line that is not valid
 * UTF-8, or longer than the record budget (MAX_RECORD_BYTES; a file without newlines is one long line), is
 * a ScanError naming the line and the byte offset.
 */
import { ScanError, UTF8_ADVICE } from './json-array-scanner';
import { formatBytes, MAX_RECORD_BYTES } from './limits';
import { firstInvalidUtf8, isUtf8 } from './utf8';

export interface Line {
  /** 0-based line number. */
  index: number;
  /** File byte offset of the line's first byte. */
  offset: number;
  text: string;
}

export class LineSplitter {
  /** Bytes of the unfinished last line. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private count: number;
  private offset: number;
  private readonly firstLine: number;

  /** `origin`: the file offset of the first byte pushed and the number of the first line (for a slice). */
  constructor(
    private readonly maxLineBytes = MAX_RECORD_BYTES,
    origin: { offset?: number; line?: number } = {},
  ) {
    this.offset = origin.offset ?? 0;
    this.count = this.firstLine = origin.line ?? 0;
  }

  push(chunk: Buffer): Line[] {
    const out: Line[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) break;
      let line = chunk.subarray(start, nl);
      if (this.pendingBytes > 0) {
        this.pending.push(line);
        line = Buffer.concat(this.pending);
        this.pending = [];
        this.pendingBytes = 0;
      }
      this.emit(line, out);
      start = nl + 1;
    }
    if (start < chunk.length) {
      // Copy: the stream may reuse its chunk memory after we return.
      this.pending.push(Buffer.from(chunk.subarray(start)));
      this.pendingBytes += chunk.length - start;
      if (this.pendingBytes > this.maxLineBytes) throw this.tooLong();
    }
    return out;
  }

  /** The last line when the input does not end with a newline. */
  end(): Line[] {
    const out: Line[] = [];
    if (this.pendingBytes > 0) this.emit(Buffer.concat(this.pending), out);
    this.pending = [];
    this.pendingBytes = 0;
    return out;
  }

  private tooLong(): ScanError {
    return new ScanError(
      `the line starting at byte ${this.offset} is longer than the ${formatBytes(this.maxLineBytes)} a ` +
        'record may take (MAX_RECORD_BYTES): it has no newline where one should be',
      this.offset,
      this.count,
    );
  }

  private emit(line: Buffer, out: Line[]): void {
    const bytes = line.length;
    if (bytes > this.maxLineBytes) throw this.tooLong();
    const end = bytes > 0 && line[bytes - 1] === 0x0d ? bytes - 1 : bytes;
    const content = line.subarray(0, end);
    if (!isUtf8(content)) {
      const at = this.offset + Math.max(0, firstInvalidUtf8(content));
      throw new ScanError(`not valid UTF-8 at byte ${at}${UTF8_ADVICE}`, at, this.count);
    }
    let text = content.toString('utf8');
    // A UTF-8 byte order mark decodes to U+FEFF at the start of the first line.
    if (this.count === this.firstLine && this.offset === 0 && text.charCodeAt(0) === 0xfeff)
      text = text.slice(1);
    out.push({ index: this.count++, offset: this.offset, text });
    this.offset += bytes + 1;
  }
}
