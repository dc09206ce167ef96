/**
 * Splits byte chunks into lines ('\n', an optional '\r' before it is dropped), decoding each line as UTF-8
 * on its own so multi-byte characters cut by a chunk boundary come out whole.
 */

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
  private count = 0;
  private offset = 0;

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

  private emit(line: Buffer, out: Line[]): void {
    const bytes = line.length;
    const end = bytes > 0 && line[bytes - 1] === 0x0d ? bytes - 1 : bytes;
    let text = line.toString('utf8', 0, end);
    // A UTF-8 byte order mark decodes to U+FEFF at the start of the first line.
    if (this.count === 0 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    out.push({ index: this.count++, offset: this.offset, text });
    this.offset += bytes + 1;
  }
}
