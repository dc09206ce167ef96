/**
 * Regression test for a bug found in shared/core/io/csv.ts while writing the CSV reader (fixed by the lead in
 * a67be70): a quoted field whose content ends with "\r", closed right before the row's "\n", lost that
 * "\r" — the parser took it for the CR of a CRLF split across write() calls.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CsvParser } from '../../shared/core/io/csv';

function parse(pieces: readonly string[]): string[][] {
  const rows: string[][] = [];
  const parser = new CsvParser((row) => rows.push(row));
  for (const p of pieces) parser.write(p);
  parser.end();
  return rows;
}

test('CsvParser keeps a CR at the end of a quoted field', () => {
  assert.deepEqual(parse(['a,"x\r"\nb,c\n']), [
    ['a', 'x\r'],
    ['b', 'c'],
  ]);
  assert.deepEqual(parse(['a,"\r"\n']), [['a', '\r']]);
});

test('CsvParser: CRLF and doubled quotes split across pieces', () => {
  assert.deepEqual(parse(['a,b\r', '\nc,d']), [
    ['a', 'b'],
    ['c', 'd'],
  ]);
  assert.deepEqual(parse(['a,"x"', '""\n']), [['a', 'x"']]);
  assert.deepEqual(parse(['"a"\r\n', '"b,c"\r\n']), [['a'], ['b,c']]);
});
