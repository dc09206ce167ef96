import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { csvRow } from '../../shared/core/io/csv';
import { readCsv } from '../../shared/core/io/read-csv';
import { Rng } from '../../shared/core/numeric/random';

/** readCsv's bytes cut into pieces of random sizes (multi-byte characters split across pieces too). */
async function readInPieces(
  bytes: Buffer,
  required: string[],
  seed: number,
): Promise<{ rows: Record<string, string>[]; error: string | null }> {
  const rng = new Rng(seed);
  const pieces: Buffer[] = [];
  for (let i = 0; i < bytes.length;) {
    const size = 1 + rng.nextInt(rng.nextInt(2) === 0 ? 7 : 3000);
    pieces.push(bytes.subarray(i, i + size));
    i += size;
  }
  const rows: Record<string, string>[] = [];
  try {
    await readCsv(Readable.from(pieces), 'x.csv', required, (row) => rows.push(row));
    return { rows, error: null };
  } catch (err) {
    return { rows, error: (err as Error).message };
  }
}

/**
 * RFC 4180 a character at a time, as the parsers read it: a field opening with a quote is quoted up to
 * its closing quote (a doubled quote is one quote), and any text after it up to the delimiter joins it;
 * a row's last field drops a CR before its line end (or the input's end); a comma at the input's end
 * ends a last, empty field. The oracle the byte parser is checked against.
 */
function naiveCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    let quoted = '';
    if (text[i] === '"') {
      for (i++; ;) {
        if (i >= n) throw new Error('CSV ends inside a quoted field: the file is truncated');
        if (text[i] === '"' && text[i + 1] === '"') {
          quoted += '"';
          i += 2;
        } else if (text[i] === '"') {
          i++;
          break;
        } else quoted += text[i++];
      }
    }
    let tail = '';
    while (i < n && text[i] !== ',' && text[i] !== '\n') tail += text[i++];
    if (text[i] === ',') {
      row.push(quoted + tail);
      if (++i === n) rows.push([...row, '']);
      continue;
    }
    row.push(quoted + (tail.endsWith('\r') ? tail.slice(0, -1) : tail));
    rows.push(row);
    row = [];
    i++;
  }
  return rows;
}

/** What readCsv gives, from naiveCsv over the whole text: the reference. */
function reference(
  text: string,
  required: string[],
): { rows: Record<string, string>[]; error: string | null } {
  const all: string[][] = [];
  try {
    all.push(...naiveCsv(text));
  } catch (err) {
    return { rows: [], error: (err as Error).message };
  }
  const header = all[0]!;
  const columns = required.map((name) => header.indexOf(name));
  const missing = required.filter((_, i) => columns[i]! < 0);
  if (missing.length > 0)
    return {
      rows: [],
      error: `x.csv: missing column(s) ${missing.join(', ')}; it holds ${header.join(', ')}`,
    };
  const rows: Record<string, string>[] = [];
  for (const [index, row] of all.slice(1).entries()) {
    if (row.length < required.length)
      return {
        rows,
        error: `x.csv: row ${index} has ${row.length} fields, expected at least ${required.length}`,
      };
    rows.push(Object.fromEntries(required.map((name, i) => [name, row[columns[i]!] ?? ''])));
  }
  return { rows, error: null };
}

const ALPHABET = ['a', 'b', 'z', ' ', ',', '"', '\n', '\r', 'é', '€', '😀', 'x1'];

describe('readCsv (byte parser, only the required fields decoded)', () => {
  it('gives what a character-at-a-time parser gives, for random CSVs cut in random pieces', async () => {
    const rng = new Rng(7);
    const word = () =>
      Array.from({ length: rng.nextInt(6) }, () => ALPHABET[rng.nextInt(ALPHABET.length)]).join('');
    for (let t = 0; t < 300; t++) {
      const columns = ['narrative', 'category', 'processed_text', 'topic'].slice(0, 2 + rng.nextInt(3));
      const lines = [csvRow(columns)];
      for (let r = rng.nextInt(12); r > 0; r--) lines.push(csvRow(columns.map(word)));
      let text = lines.join('');
      if (rng.nextInt(3) === 0) text = text.replace(/\n/g, '\r\n'); // CRLF line ends (inside quotes too)
      if (rng.nextInt(3) === 0) text = text.slice(0, -1); // no newline after the last row
      const required = columns.filter(() => rng.nextInt(2) === 0);
      if (required.length === 0) required.push(columns[columns.length - 1]!);
      if (rng.nextInt(2) === 0) required.reverse();
      const want = reference(text, required);
      const got = await readInPieces(Buffer.from(text, 'utf8'), required, t);
      assert.deepEqual(got, want, `case ${t}: ${JSON.stringify(text)} for ${required.join(', ')}`);
    }
  });

  it('reads the edge cases as the character-at-a-time parser does: text after a closing quote, empty lines, a trailing comma', async () => {
    const cases = [
      'a,b\n"x"y,z\n',
      'a,b\n"say ""hi""",\n',
      'a,b\n\n1,2\n',
      'a,b\n1,2,',
      'a,b\r\n1,2\r',
      'a,b\n"open\n',
      'a\nonly\n',
      'b,c\n1,2\n',
    ];
    for (const [i, text] of cases.entries())
      for (const required of [['a', 'b'], ['b'], ['a']])
        assert.deepEqual(
          await readInPieces(Buffer.from(text, 'utf8'), required, i),
          reference(text, required),
          `${JSON.stringify(text)} for ${required.join(', ')}`,
        );
  });

  it('fails on an empty input, naming the file and the header it expected', async () => {
    await assert.rejects(
      readCsv(Readable.from([]), 'x.csv', ['a'], () => undefined),
      /x\.csv: empty CSV, expected a header with a/,
    );
  });
});
