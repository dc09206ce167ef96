import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { BadInputError } from '../../shared/core/errors';
import {
  readTickets,
  type ReadStats,
  type ReadTicketsOptions,
  type TicketRecord,
} from '../../shared/core/dataset/read-tickets';

import { DEV_FILE, skipUnless } from '../nlp/paths';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'read-tickets-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, content: string | Buffer): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  return file;
}

async function readAll(
  file: string,
  opts?: ReadTicketsOptions,
): Promise<{ recs: TicketRecord[]; stats: ReadStats }> {
  const recs: TicketRecord[] = [];
  const stats = await readTickets(
    file,
    (r) => {
      recs.push(r);
    },
    opts,
  );
  return { recs, stats };
}

/** Asserts readTickets fails with a BadInputError whose message matches every pattern. */
async function rejects(file: string, patterns: RegExp[], opts?: ReadTicketsOptions): Promise<void> {
  await assert.rejects(readAll(file, opts), (err: unknown) => {
    assert.ok(err instanceof BadInputError, `not a BadInputError: ${String(err)}`);
    for (const p of patterns) assert.match(err.message, p);
    return true;
  });
}

function hit(id: string | number, source: Record<string, unknown>): Record<string, unknown> {
  return { _index: 'complaint-public-v2', _type: 'complaint', _id: id, _score: 0, _source: source };
}

const HITS = [
  hit('a1', {
    complaint_what_happened: 'The lender lost my payment.',
    product: 'Mortgage',
    sub_product: 'Conventional fixed mortgage',
  }),
  hit('a2', { complaint_what_happened: '', product: 'Credit card', sub_product: null }),
  hit('a3', {
    complaint_what_happened: 'Collector keeps calling.',
    product: ' Debt collection ',
    sub_product: null,
  }),
  hit('a4', { complaint_what_happened: '  \n\t ', product: 'Credit card' }),
  hit(5, { complaint_what_happened: null, product: '' }),
  hit('a6', { product: 'Student loan' }),
  hit('a7', {
    complaint_what_happened: 'Card fee charged twice — café ☕ 😀',
    product: 'Credit card',
    sub_product: '',
  }),
];

function checkHits(recs: TicketRecord[], stats: ReadStats, format: string): void {
  assert.equal(stats.format, format);
  assert.equal(stats.read, 7);
  assert.equal(stats.kept, 3);
  assert.deepEqual(stats.dropped, { emptyNarrative: 4 });
  assert.deepEqual(recs, [
    {
      index: 0,
      id: 'a1',
      narrative: 'The lender lost my payment.',
      product: 'Mortgage',
      subProduct: 'Conventional fixed mortgage',
    },
    {
      index: 2,
      id: 'a3',
      narrative: 'Collector keeps calling.',
      product: 'Debt collection',
      subProduct: null,
    },
    {
      index: 6,
      id: 'a7',
      narrative: 'Card fee charged twice — café ☕ 😀',
      product: 'Credit card',
      subProduct: null,
    },
  ]);
}

test('JSON array of hits', async () => {
  const file = write('hits.json', JSON.stringify(HITS, null, 2));
  const { recs, stats } = await readAll(file);
  assert.equal(stats.file, file);
  checkHits(recs, stats, 'json');
});

test('JSON Lines of hits, with blank lines and CRLF; index is the line number', async () => {
  const lines = HITS.map((h) => JSON.stringify(h));
  const file = write('hits.jsonl', lines.slice(0, 3).join('\r\n') + '\r\n\r\n' + lines.slice(3).join('\n'));
  const { recs, stats } = await readAll(file);
  assert.equal(stats.format, 'jsonl');
  assert.deepEqual(
    recs.map((r) => r.index),
    [0, 2, 7],
  );
  assert.deepEqual(
    recs.map((r) => r.id),
    ['a1', 'a3', 'a7'],
  );
  assert.equal(stats.read, 7);
});

test('JSON Lines of bare _source objects (id from complaint_id)', async () => {
  const file = write(
    'bare.ndjson',
    [
      {
        complaint_id: 'c1',
        complaint_what_happened: 'Wrong balance on my statement.',
        product: 'Checking or savings account',
        sub_product: 'Checking account',
      },
      { complaint_what_happened: 'Another one.', product: 'Mortgage', sub_product: null },
    ]
      .map((o) => JSON.stringify(o))
      .join('\n') + '\n',
  );
  const { recs } = await readAll(file);
  assert.deepEqual(
    recs.map((r) => [r.id, r.product, r.subProduct]),
    [
      ['c1', 'Checking or savings account', 'Checking account'],
      [null, 'Mortgage', null],
    ],
  );
});

const CSV_HEADER =
  'Date received,Product,Sub-product,Issue,Consumer complaint narrative,Company,Complaint ID\r\n';

test('byte order marks, even cut by chunk boundaries', async () => {
  const bom = Buffer.from([0xef, 0xbb, 0xbf]);
  const files = [
    write('bom.json', Buffer.concat([bom, Buffer.from(JSON.stringify(HITS))])),
    write('bom.jsonl', Buffer.concat([bom, Buffer.from(HITS.map((h) => JSON.stringify(h)).join('\n'))])),
    write(
      'bom.csv',
      Buffer.concat([bom, Buffer.from('Product,Sub-product,Consumer complaint narrative\nP,,text\n')]),
    ),
  ];
  for (const file of files) {
    for (const highWaterMark of [1, 2, 64])
      assert.ok((await readAll(file, { highWaterMark })).stats.kept > 0);
  }
});

test('CFPB CSV export', async () => {
  const file = write(
    'export.csv',
    '\ufeff' +
      CSV_HEADER +
      '2020-01-02,Mortgage,FHA mortgage,Escrow,"They said ""wait"", then, nothing.\r\nSecond paragraph — ünïcödé.",Bank A,101\r\n' +
      '2020-01-03,Credit card,,Fees,,Bank B,102\r\n' +
      '2020-01-04,Debt collection,,Calls,Collector calls at work.,Agency C,103\r\n',
  );
  const { recs, stats } = await readAll(file);
  assert.equal(stats.format, 'csv');
  assert.equal(stats.read, 3);
  assert.deepEqual(stats.dropped, { emptyNarrative: 1 });
  assert.deepEqual(recs, [
    {
      index: 0,
      id: '101',
      narrative: 'They said "wait", then, nothing.\r\nSecond paragraph — ünïcödé.',
      product: 'Mortgage',
      subProduct: 'FHA mortgage',
    },
    {
      index: 2,
      id: '103',
      narrative: 'Collector calls at work.',
      product: 'Debt collection',
      subProduct: null,
    },
  ]);
});

test('format detection: extension first, else the first bytes; explicit format wins; what no format claims is refused', async () => {
  const lines = HITS.map((h) => JSON.stringify(h)).join('\n');
  assert.equal((await readAll(write('lines-in.json', lines))).stats.format, 'jsonl');
  assert.equal((await readAll(write('array.dat', ' \n' + JSON.stringify(HITS)))).stats.format, 'json');
  assert.equal((await readAll(write('lines.dat', lines))).stats.format, 'jsonl');
  assert.equal((await readAll(write('export.txt', CSV_HEADER + 'd,P,S,I,text,C,1\n'))).stats.format, 'csv');
  assert.equal((await readAll(write('forced.txt', lines), { format: 'jsonl' })).stats.format, 'jsonl');
  // what no format claims is refused, never read as CSV
  const unknown = {
    'notes.txt': 'Meeting notes: the bank, the fee.\n',
    'headless.dat': 'd,P,S,I,text,C,1\n',
  };
  for (const [name, content] of Object.entries(unknown)) {
    await rejects(write(name, content), [
      new RegExp(
        `${name.replace('.', '\\.')}: unknown dataset format: neither its extension nor its first bytes`,
      ),
      /Known formats: json \(.*\); jsonl \(.*\); csv \(/,
    ]);
  }
});

test('multi-byte characters straddling stream chunks, every format', async () => {
  const narrative = '€😀ß日本'.repeat(40);
  const source = { complaint_what_happened: narrative, product: 'Prodüct ✓', sub_product: 'Süb' };
  const files = [
    write('mb.json', JSON.stringify([hit('m', source), hit('n', source)])),
    write('mb.jsonl', JSON.stringify(hit('m', source)) + '\n' + JSON.stringify(hit('n', source))),
    write(
      'mb.csv',
      'Product,Sub-product,Consumer complaint narrative\n' +
        `Prodüct ✓,Süb,"${narrative}"\nProdüct ✓,Süb,${narrative}\n`,
    ),
  ];
  for (const file of files) {
    for (const highWaterMark of [1, 2, 3, 5, 7]) {
      const { recs } = await readAll(file, { highWaterMark });
      assert.equal(recs.length, 2, `${file} @${highWaterMark}`);
      for (const r of recs) {
        assert.equal(r.narrative, narrative, `${file} @${highWaterMark}`);
        assert.equal(r.product, 'Prodüct ✓');
        assert.equal(r.subProduct, 'Süb');
      }
    }
  }
});

test('awaits onRecord promises before delivering the next record', async () => {
  const file = write('await.json', JSON.stringify(HITS));
  const events: string[] = [];
  let busy = false;
  await readTickets(
    file,
    async (r) => {
      assert.equal(busy, false, 'onRecord called while the previous one was pending');
      busy = true;
      events.push(`start ${r.index}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
      events.push(`end ${r.index}`);
      busy = false;
    },
    { highWaterMark: 16 },
  );
  assert.deepEqual(events, ['start 0', 'end 0', 'start 2', 'end 2', 'start 6', 'end 6']);
});

test("onRecord's own errors pass through unchanged", async () => {
  const file = write('throws.json', JSON.stringify(HITS));
  const boom = new Error('boom');
  await assert.rejects(
    readTickets(file, () => {
      throw boom;
    }),
    (err) => err === boom,
  );
  // an I/O error from a downstream write is not reported as a problem with the input
  const writeFailed = Object.assign(new Error('EACCES: permission denied, open chunk-0.json'), {
    code: 'EACCES',
    syscall: 'open',
  });
  await assert.rejects(
    readTickets(file, async () => {
      await Promise.resolve();
      throw writeFailed;
    }),
    (err) => err === writeFailed,
  );
  await assert.rejects(
    readTickets(file, () => {
      throw writeFailed;
    }),
    (err) => err === writeFailed,
  );
});

test('errors: file missing, a directory, empty', async () => {
  await rejects(path.join(dir, 'nope.json'), [/nope\.json/, /no such file/]);
  await rejects(dir, [new RegExp(path.basename(dir)), /is a directory/]);
  await rejects(write('empty.json', ''), [/empty\.json/, /empty/]);
  await rejects(write('empty.csv', ''), [/empty\.csv/, /empty/]);
  await rejects(write('blank.jsonl', '\n\n'), [/blank\.jsonl/, /no record with a non-empty narrative/]);
});

test('errors: not JSON, wrong top level, truncated', async () => {
  await rejects(
    write('bad.json', '[{"_source": {"complaint_what_happened": "x", "product": "P"}}, {"_source": nope}]'),
    [/bad\.json/, /record 1/, /not JSON/, /byte \d+/],
  );
  await rejects(
    write('object.json', '{"hits": {"hits": []}}'),
    [/object\.json/, /top level is not a JSON array/],
    { format: 'json' },
  );
  await rejects(write('es.json', '{\n  "hits": {"hits": []}\n}\n'), [
    /es\.json/,
    /record 0/,
    /not JSON/,
    /read as JSON Lines/,
    /Elasticsearch/,
  ]);
  await rejects(write('string.json', '"just a string"'), [/string\.json/, /top level is not a JSON array/]);
  await rejects(write('trunc.json', '[{"_source": {"complaint_what_happened": "cut off'), [
    /trunc\.json/,
    /record 0/,
    /truncated/,
    /inside a string/,
  ]);
  await rejects(write('trunc2.json', '[{"_source": {"complaint_what_happened": "x", "product": "P"}}, '), [
    /trunc2\.json/,
    /truncated/,
  ]);
  await rejects(write('after.json', '[] []'), [/after\.json/, /after the array's closing/]);
  await rejects(write('bad.jsonl', JSON.stringify(HITS[0]) + '\n{"_source": \n'), [
    /bad\.jsonl/,
    /record 1/,
    /not JSON/,
  ]);
  await rejects(write('trunc.csv', CSV_HEADER + '2020,P,S,I,"never closed,C,1\n'), [
    /trunc\.csv/,
    /record 0/,
    /truncated/,
  ]);
});

test('errors: bad records name the record index and the field', async () => {
  const ok = hit('ok', { complaint_what_happened: 'fine', product: 'P' });
  const cases: [unknown, RegExp[]][] = [
    [5, [/record 1/, /record is a number, expected an object/]],
    [[1], [/record 1/, /an array/]],
    [{ _id: 'x' }, [/record 1/, /field "_source"/, /missing/]],
    [{ _source: 'text' }, [/record 1/, /field "_source"/, /a string, expected an object/]],
    [
      hit('x', { complaint_what_happened: 42, product: 'P' }),
      [/record 1/, /field "_source.complaint_what_happened"/, /a number/],
    ],
    [hit('x', { complaint_what_happened: 'text' }), [/record 1/, /field "_source.product"/, /missing/]],
    [
      hit('x', { complaint_what_happened: 'text', product: ' ' }),
      [/record 1/, /field "_source.product"/, /empty/],
    ],
    [
      hit('x', { complaint_what_happened: 'text', product: 7 }),
      [/record 1/, /field "_source.product"/, /a number/],
    ],
    [
      hit('x', { complaint_what_happened: 'text', product: 'P', sub_product: false }),
      [/record 1/, /field "_source.sub_product"/, /a boolean/],
    ],
  ];
  let n = 0;
  for (const [bad, patterns] of cases) {
    const name = `badrec${n++}.json`;
    await rejects(write(name, JSON.stringify([ok, bad, ok])), [
      new RegExp(name.replace('.', '\\.')),
      ...patterns,
    ]);
  }
  // the same checks apply to JSON Lines, with the line as record index
  await rejects(write('badrec.jsonl', [ok, ok, { _id: 'x' }].map((o) => JSON.stringify(o)).join('\n')), [
    /record 2/,
    /field "_source"/,
  ]);
  // a missing product does not matter when the narrative is empty
  const { stats } = await readAll(
    write('noproduct.json', JSON.stringify([ok, hit('x', { complaint_what_happened: '' })])),
  );
  assert.deepEqual([stats.read, stats.kept], [2, 1]);
});

test('errors: CSV without the required columns names them; ragged rows', async () => {
  await rejects(write('cols.csv', 'Product,Narrative\nP,text\n'), [
    /cols\.csv/,
    /"Consumer complaint narrative"/,
    /"Sub-product"/,
  ]);
  await rejects(write('ragged.csv', 'Product,Sub-product,Consumer complaint narrative\nP,S,text\nP,text\n'), [
    /ragged\.csv/,
    /record 1/,
    /2 fields, the header has 3/,
  ]);
  await rejects(write('noprod.csv', 'Product,Sub-product,Consumer complaint narrative\n,S,text\n'), [
    /noprod\.csv/,
    /record 0/,
    /field "Product"/,
  ]);
});

test('the dev dataset: 15,930 complaints, all kept', { skip: skipUnless(DEV_FILE) }, async () => {
  let nullSub = 0;
  let next = 0;
  const products = new Set<string>();
  const t0 = process.hrtime.bigint();
  const stats = await readTickets(DEV_FILE, (r) => {
    assert.equal(r.index, next++);
    assert.ok(r.narrative.trim().length > 0);
    assert.ok(r.id !== null && r.id.length > 0);
    products.add(r.product);
    if (r.subProduct === null) nullSub++;
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  assert.deepEqual(
    [stats.format, stats.read, stats.kept, stats.dropped.emptyNarrative],
    ['json', 15_930, 15_930, 0],
  );
  // README: 7,759 sub_product null; 63 more are "" (also null for the pipeline)
  assert.equal(nullSub, 7_759 + 63);
  assert.equal(products.size, 24);
  assert.ok(seconds < 30, `${seconds} s`);
});
