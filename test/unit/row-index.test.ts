import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { csvRow } from '../../shared/core/io/csv';
import {
  IndexedCsvWriter,
  concatIndexedParts,
  readWholeIndex,
  rowIndexKey,
  writeMissingIndex,
} from '../../shared/core/io/row-index';
import { openStore } from '../../shared/core/store/open-store';
import { planBlocks, readBlockRows } from '../../shared/pipeline/stages/blocks/plan-blocks';
import { testConfig } from '../helpers/env';

/** Rows with what breaks naive splitting: quoted commas and newlines, quotes, multi-byte characters. */
function rows(n: number, from = 0): string[][] {
  return Array.from({ length: n }, (_, i) => [
    `ticket ${from + i}${i % 3 === 0 ? ', with "quotes"\nand a newline' : ''}`,
    i % 2 === 0 ? 'Crédit — card' : 'Mortgage',
    `lemma${from + i} noun`,
  ]);
}
const HEADER = csvRow(['narrative', 'category', 'processed']);

describe('row-indexed CSV files', () => {
  it('index every row of parts and of their concatenation, and blocks read back exactly the rows', async () => {
    const store = openStore(testConfig().storage);
    const parts = [rows(7), rows(0, 7), rows(12, 7)];
    const keys: string[] = [];
    for (const [p, part] of parts.entries()) {
      const key = `runs/r/chunks/part-${p}.csv`;
      const out = await IndexedCsvWriter.open(store, key, null);
      for (const r of part) await out.row(csvRow(r));
      await out.commit();
      keys.push(key);
    }
    const joined = await concatIndexedParts(store, keys, 'runs/r/tickets.csv', HEADER);
    const all = parts.flat();
    assert.equal(joined.rows, all.length);
    const bytes = await store.get('runs/r/tickets.csv');
    assert.equal(bytes.toString('utf8'), HEADER + all.map((r) => csvRow(r)).join(''));
    const idx = await readWholeIndex(store, 'runs/r/tickets.csv');
    assert.equal(idx.length, all.length + 1);
    assert.equal(idx[0], Buffer.byteLength(HEADER));
    assert.equal(idx[all.length], bytes.length);

    for (const size of [1, 4, 19, 100]) {
      const plan = await planBlocks(store, 'runs/r/tickets.csv', size);
      assert.equal(plan.blocks.length, Math.ceil(all.length / size), `block size ${size}`);
      const seen: string[][] = [];
      for (const block of plan.blocks) {
        await readBlockRows(store, plan, block, ['narrative', 'category', 'processed'], (row) =>
          seen.push([row.narrative!, row.category!, row.processed!]),
        );
      }
      assert.deepEqual(seen, all, `block size ${size}`);
    }
  });

  it('scan a CSV written without an index into the same index', async () => {
    const store = openStore(testConfig().storage);
    const all = rows(25);
    const out = await IndexedCsvWriter.open(store, 'runs/r/a.csv', HEADER);
    for (const r of all) await out.row(csvRow(r));
    await out.commit();
    await store.put('runs/r/b.csv', HEADER + all.map((r) => csvRow(r)).join(''));
    await writeMissingIndex(store, 'runs/r/b.csv');
    assert.deepEqual(
      await store.get(rowIndexKey('runs/r/b.csv')),
      await store.get(rowIndexKey('runs/r/a.csv')),
    );
    // A header alone: no rows, the index is the header's end twice over.
    await store.put('runs/r/empty.csv', HEADER);
    const plan = await planBlocks(store, 'runs/r/empty.csv', 10);
    assert.deepEqual([plan.rows, plan.blocks.length, plan.header], [0, 0, Buffer.byteLength(HEADER)]);
  });

  it('refuse a block whose index does not match its file, naming the file', async () => {
    const store = openStore(testConfig().storage);
    const all = rows(6);
    const out = await IndexedCsvWriter.open(store, 'runs/r/t.csv', HEADER);
    for (const r of all) await out.row(csvRow(r));
    await out.commit();
    const plan = await planBlocks(store, 'runs/r/t.csv', 4);
    // Another file of the same length under the name: the index no longer cuts it at row ends.
    await store.put(
      'runs/r/t.csv',
      HEADER + 'x'.repeat((await store.get('runs/r/t.csv')).length - HEADER.length),
    );
    await assert.rejects(
      readBlockRows(store, plan, plan.blocks[0]!, ['narrative'], () => undefined),
      /t\.csv.*block 0 should hold 4 rows/,
    );
  });
});
