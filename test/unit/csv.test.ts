import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CsvParser, csvRow } from '../../shared/core/io/csv';

function parseInPieces(text: string, size: number): string[][] {
  const rows: string[][] = [];
  const p = new CsvParser((r) => rows.push(r));
  for (let i = 0; i < text.length; i += size) p.write(text.slice(i, i + size));
  p.end();
  return rows;
}

describe('CSV', () => {
  const rows = [
    ['plain', 'with, comma', 'with "quotes"'],
    ['multi\nline', '', '"'],
    ['crlf\r\ninside', 'x', 'ünïcödé'],
  ];
  const text = rows.map(csvRow).join('');

  it('quotes only when needed and round-trips through the parser in any piece size', () => {
    assert.equal(csvRow(['a', 'b c']), 'a,b c\n');
    assert.equal(csvRow(['a,b', 'say "hi"']), '"a,b","say ""hi"""\n');
    for (const size of [1, 2, 3, 7, 1000])
      assert.deepEqual(parseInPieces(text, size), rows, `piece size ${size}`);
  });

  it('reads CRLF line ends and a last row without newline', () => {
    assert.deepEqual(parseInPieces('a,b\r\nc,d', 1), [
      ['a', 'b'],
      ['c', 'd'],
    ]);
    assert.deepEqual(parseInPieces('a,b\r\nc,d', 100), [
      ['a', 'b'],
      ['c', 'd'],
    ]);
  });

  it('refuses a file that ends inside a quoted field', () => {
    const p = new CsvParser(() => undefined);
    p.write('a,"unterminated');
    assert.throws(() => p.end(), /truncated/);
  });
});
