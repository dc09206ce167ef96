import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { readTickets } from '../../shared/core/dataset/read-tickets';
import { readCsvFile } from '../helpers/read-csv-file';
import { tempDir } from '../helpers/env';

describe('a file whose last line has no newline keeps its last record', () => {
  const dir = tempDir('no-newline');
  const header = 'Consumer complaint narrative,Product,Sub-product';
  const rows = [
    '"My card was charged twice.",Credit card,General-purpose credit card',
    '"The bank closed my account, without notice.",Checking or savings account,Checking account',
    '"My mortgage payment was lost.",Mortgage,Conventional home mortgage',
  ];

  it('CFPB CSV export', async () => {
    const file = path.join(dir, 'export.csv');
    fs.writeFileSync(file, [header, ...rows].join('\n'));
    const narratives: string[] = [];
    const stats = await readTickets(file, (r) => {
      narratives.push(r.narrative);
    });
    assert.equal(stats.kept, 3);
    assert.equal(narratives[2], 'My mortgage payment was lost.');
  });

  it('JSON Lines', async () => {
    const file = path.join(dir, 'hits.jsonl');
    const hits = rows.map((_, i) =>
      JSON.stringify({ _source: { complaint_what_happened: `narrative ${i}`, product: 'Bank' } }),
    );
    fs.writeFileSync(file, hits.join('\n'));
    const narratives: string[] = [];
    await readTickets(file, (r) => {
      narratives.push(r.narrative);
    });
    assert.deepEqual(narratives, ['narrative 0', 'narrative 1', 'narrative 2']);
  });

  it('an artifact CSV (tickets.csv) read back', async () => {
    const file = path.join(dir, 'tickets.csv');
    fs.writeFileSync(file, 'complaint_what_happened,category,processed_text\na,b,c\nd,e,f\ng,h,i');
    const seen: string[] = [];
    await readCsvFile(file, ['complaint_what_happened'], (row) => seen.push(row.complaint_what_happened!));
    assert.deepEqual(seen, ['a', 'd', 'g']);
  });
});
