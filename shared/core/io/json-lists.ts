import type { ArtifactStore, ArtifactWriter } from '../store/artifact-store';

/**
 * JSON files whose bulk is lists of numbers, one entry per ticket (split.json's row lists,
 * test_predictions.json's rows and probabilities), written and read without a JavaScript array or one
 * string of the whole list: at 1.6M tickets such an array is tens of MB of heap, and the file's text
 * tens of MB more. The bytes written are `jsonBytes`'s (JSON.stringify with a two-space indent, final
 * newline), so readers that parse the whole file still can.
 */

/** Characters gathered before a write. */
const WRITE_CHARS = 1 << 20;

/** A number as JSON.stringify writes it. */
function jsonNumber(x: number): string {
  return Number.isFinite(x) ? String(x) : 'null';
}

/** Fields of one JSON object, written in order into an artifact as `jsonBytes` would write the object. */
export class JsonObjectWriter {
  private text = '{';
  private fields = 0;

  private constructor(private readonly out: ArtifactWriter) {}

  static async open(store: ArtifactStore, key: string): Promise<JsonObjectWriter> {
    return new JsonObjectWriter(await store.openWriter(key));
  }

  private async flush(): Promise<void> {
    await this.out.write(this.text);
    this.text = '';
  }

  private key(name: string): void {
    this.text += `${this.fields++ === 0 ? '' : ','}\n  ${JSON.stringify(name)}: `;
  }

  /** A field of any small value (JSON.stringify's, at this depth; none for a value it would omit). */
  value(name: string, value: unknown): void {
    const text = JSON.stringify(value, null, 2) as string | undefined;
    if (text === undefined) return;
    this.key(name);
    this.text += text.replace(/\n/g, '\n  ');
  }

  /** A field holding `values` as a list of numbers. */
  async numbers(name: string, values: ArrayLike<number>): Promise<void> {
    this.key(name);
    if (values.length === 0) {
      this.text += '[]';
      return;
    }
    this.text += '[';
    for (let i = 0; i < values.length; i++) {
      this.text += `${i === 0 ? '' : ','}\n    ${jsonNumber(values[i]!)}`;
      // Checked here rather than in flush: an await per number would cost more than the writing.
      if (this.text.length >= WRITE_CHARS) await this.flush();
    }
    this.text += '\n  ]';
  }

  /** A field holding `values` (row-major, `width` a row) as a list of lists of `width` numbers. */
  async rows(name: string, values: ArrayLike<number>, width: number): Promise<void> {
    this.key(name);
    const n = width === 0 ? 0 : values.length / width;
    if (!Number.isInteger(n)) throw new Error(`${values.length} values are not rows of ${width}`);
    if (n === 0) {
      this.text += '[]';
      return;
    }
    this.text += '[';
    for (let r = 0; r < n; r++) {
      this.text += `${r === 0 ? '' : ','}\n    [`;
      for (let c = 0; c < width; c++)
        this.text += `${c === 0 ? '' : ','}\n      ${jsonNumber(values[r * width + c]!)}`;
      this.text += '\n    ]';
      if (this.text.length >= WRITE_CHARS) await this.flush();
    }
    this.text += '\n  ]';
  }

  /** Ends the object and makes the artifact visible, whole. */
  async commit(): Promise<void> {
    this.text += this.fields === 0 ? '}\n' : '\n}\n';
    await this.flush();
    await this.out.commit();
  }

  async abort(): Promise<void> {
    await this.out.abort();
  }
}

/** Writes an object through a JsonObjectWriter: committed when `fill` resolves, nothing left when it throws. */
export async function writeJsonObject(
  store: ArtifactStore,
  key: string,
  fill: (w: JsonObjectWriter) => Promise<void>,
): Promise<void> {
  const w = await JsonObjectWriter.open(store, key);
  try {
    await fill(w);
    await w.commit();
  } catch (err) {
    await w.abort();
    throw err;
  }
}

/** An object read by readJsonObject: its fields of integer lists as typed arrays, the others as parsed. */
export interface JsonObjectWithLists {
  lists: Map<string, Int32Array>;
  values: Map<string, unknown>;
}

const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const ZERO = 0x30;
const NINE = 0x39;

/**
 * Parses `bytes`, one JSON object, reading the fields named in `lists` as lists of int32 integers
 * straight into typed arrays; any other field's value must be a scalar or small JSON value and is
 * parsed as usual. Fails naming `where` and the byte offset on anything else.
 */
export function readJsonObject(
  bytes: Uint8Array,
  where: string,
  lists: readonly string[],
): JsonObjectWithLists {
  let i = 0;
  const fail = (what: string): never => {
    throw new Error(`${where}: ${what} at byte ${i}; rerun the stage that wrote it`);
  };
  const space = () => {
    while (i < bytes.length) {
      const b = bytes[i]!;
      if (b !== SPACE && b !== LF && b !== CR && b !== TAB) break;
      i++;
    }
  };
  const expect = (b: number, what: string) => {
    space();
    if (bytes[i] !== b) fail(`expected ${what}`);
    i++;
  };
  /** Steps from just after a string's opening quote to its closing quote (or the end), past escapes. */
  const toClosingQuote = () => {
    while (i < bytes.length && bytes[i] !== QUOTE) i += bytes[i] === BACKSLASH ? 2 : 1;
  };
  const textFrom = (start: number) =>
    Buffer.from(bytes.buffer, bytes.byteOffset + start, i - start).toString();
  const string = (): string => {
    expect(QUOTE, 'a field name');
    const start = i - 1;
    toClosingQuote();
    if (i >= bytes.length) fail('unterminated string');
    i++;
    return JSON.parse(textFrom(start)) as string;
  };
  const integers = (): Int32Array => {
    expect(OPEN_BRACKET, '"["');
    let out = new Int32Array(1024);
    let n = 0;
    space();
    if (bytes[i] === CLOSE_BRACKET) {
      i++;
      return out.subarray(0, 0);
    }
    for (;;) {
      space();
      const negative = bytes[i] === MINUS;
      if (negative) i++;
      const start = i;
      let v = 0;
      while (i < bytes.length && bytes[i]! >= ZERO && bytes[i]! <= NINE) v = v * 10 + bytes[i++]! - ZERO;
      if (i === start || (i - start > 1 && bytes[start] === ZERO)) fail('expected an integer');
      if (negative) v = -v;
      if (v !== (v | 0)) fail(`integer ${v} out of the int32 range`);
      if (n === out.length) {
        const grown = new Int32Array(2 * n);
        grown.set(out);
        out = grown;
      }
      out[n++] = v;
      space();
      if (bytes[i] === COMMA) {
        i++;
        continue;
      }
      if (bytes[i] === CLOSE_BRACKET) {
        i++;
        return out.slice(0, n);
      }
      fail('expected "," or "]" after a list entry');
    }
  };
  // Any other value: its extent (strings and nesting followed), then JSON.parse of those bytes.
  const other = (): unknown => {
    space();
    const start = i;
    let depth = 0;
    while (i < bytes.length) {
      const b = bytes[i]!;
      if (b === QUOTE) {
        i++;
        toClosingQuote();
      } else if (b === OPEN_BRACKET || b === OPEN_BRACE) depth++;
      else if (b === CLOSE_BRACKET || b === CLOSE_BRACE) {
        if (depth === 0) break;
        depth--;
      } else if (b === COMMA && depth === 0) break;
      i++;
    }
    const text = textFrom(start);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return fail('expected a JSON value');
    }
  };

  const out: JsonObjectWithLists = { lists: new Map(), values: new Map() };
  expect(OPEN_BRACE, 'a JSON object');
  space();
  if (bytes[i] === CLOSE_BRACE) i++;
  else
    for (;;) {
      const name = string();
      expect(COLON, '":"');
      if (lists.includes(name)) out.lists.set(name, integers());
      else out.values.set(name, other());
      space();
      if (bytes[i] === COMMA) {
        i++;
        continue;
      }
      expect(CLOSE_BRACE, '"," or "}"');
      break;
    }
  space();
  if (i !== bytes.length) fail('unexpected bytes after the object');
  for (const name of lists) if (!out.lists.has(name)) fail(`no "${name}" field in the object`);
  return out;
}
