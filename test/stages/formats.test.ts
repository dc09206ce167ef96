import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { csvRow } from '../../shared/core/io/csv';
import { BadInputError } from '../../shared/core/errors';
import { DATASET_FORMATS, type DatasetFormat } from '../../shared/core/dataset/formats/index';
import { planChunks } from '../../shared/core/dataset/plan-chunks';
import { readTickets, type TicketRecord } from '../../shared/core/dataset/read-tickets';
import { runTextProcessing } from '../../shared/pipeline/stages/text-processing';
import { runDir } from '../../shared/core/storage';
import { stageContext, tempDir, testConfig } from '../helpers/env';

// Invented tickets with the awkward parts of real data: quotes, commas, newlines (LF and CRLF) inside
// narratives, non-ASCII text, masks, empty narratives and missing sub-products.
const TICKETS = Array.from({ length: 23 }, (_, i) => ({
  id: String(9000 + i),
  narrative:
    i % 7 === 3
      ? ''
      : `On XX/XX/XXXX the "servicer" charged a fee, again ({$${i}.00}).\n` +
        `Ticket ${i}: my mortgage payments, statements and escrow — all wrong. Café receipts prove it.\r\nThe bank ignored my disputes.`,
  product: i % 2 === 0 ? 'Mortgage' : 'Credit card or prepaid card',
  subProduct: i % 3 === 0 ? null : `Sub, "${i % 4}"`,
}));

/** One small dataset of TICKETS per registered format: a format added to the table needs one here. */
function writeFormats(dir: string): Record<DatasetFormat, string> {
  const hits = TICKETS.map((t) => ({
    _id: t.id,
    _source: { complaint_what_happened: t.narrative, product: t.product, sub_product: t.subProduct },
  }));
  const files = {
    json: path.join(dir, 'tickets.json'),
    jsonl: path.join(dir, 'tickets.jsonl'),
    csv: path.join(dir, 'tickets.csv'),
  };
  fs.writeFileSync(
    files.json,
    '[\n' + hits.map((h) => '  ' + JSON.stringify(h, null, 1)).join(',\n') + '\n]\n',
  );
  fs.writeFileSync(files.jsonl, hits.map((h) => JSON.stringify(h)).join('\n') + '\n');
  fs.writeFileSync(
    files.csv,
    csvRow(['Date received', 'Product', 'Sub-product', 'Consumer complaint narrative', 'Complaint ID']) +
      TICKETS.map((t) => csvRow(['2024-01-02', t.product, t.subProduct ?? '', t.narrative, t.id])).join(''),
  );
  return files;
}

describe('text processing reads every format the same way, whatever the chunk size', () => {
  const config = testConfig();
  const dir = tempDir('formats');
  after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(config.storageDir, { recursive: true, force: true });
  });

  it('plans byte ranges that cover each record exactly once', async () => {
    const files = writeFormats(dir);
    for (const [format, file] of Object.entries(files)) {
      const plan = await planChunks(file, 5);
      assert.equal(plan.format, format);
      assert.equal(plan.records, TICKETS.length, format);
      assert.equal(plan.chunks.length, Math.ceil(TICKETS.length / 5));
      plan.chunks.forEach((c, k) => {
        assert.equal(c.firstRecord, 5 * k);
        if (k > 0)
          assert.ok(c.start >= plan.chunks[k - 1]!.end, `${format}: chunk ${k} overlaps the previous one`);
      });
    }
  });

  it('every registered format round-trips the tickets, read whole or chunk by chunk', async () => {
    const files = writeFormats(dir);
    assert.deepEqual(Object.keys(files).sort(), Object.keys(DATASET_FORMATS).sort());
    const expected = TICKETS.flatMap((t, index) =>
      t.narrative === ''
        ? []
        : [{ index, id: t.id, narrative: t.narrative, product: t.product, subProduct: t.subProduct }],
    );
    for (const [format, file] of Object.entries(files)) {
      const whole: TicketRecord[] = [];
      const stats = await readTickets(file, (r) => void whole.push(r));
      assert.equal(stats.format, format);
      assert.deepEqual(whole, expected, `${format}, whole file`);
      const plan = await planChunks(file, 4);
      const chunked: TicketRecord[] = [];
      for (const range of plan.chunks)
        await readTickets(file, (r) => void chunked.push(r), { format: plan.format, range });
      assert.deepEqual(chunked, expected, `${format}, in chunks of 4`);
    }
  });

  it('an unknown format (binary, plain text, empty) fails stage 1 naming the file and the known formats', async () => {
    const binary = Buffer.alloc(4096);
    for (let i = 0; i < binary.length; i++) binary[i] = (i * 151 + 7) % 256;
    const cases = {
      'garbage.bin': binary,
      'notes.txt': 'Meeting notes\nThe bank, the fee, the dispute.\n',
      'empty.dat': '',
    };
    for (const [name, content] of Object.entries(cases)) {
      const file = path.join(dir, name);
      fs.writeFileSync(file, content);
      const ctx = stageContext(config, `unknown-${name}`);
      await assert.rejects(runTextProcessing(ctx, file), (err: unknown) => {
        assert.ok(err instanceof BadInputError, `${name}: not a BadInputError: ${String(err)}`);
        assert.ok(err.message.startsWith(`${file}: unknown dataset format: `), err.message);
        for (const format of Object.keys(DATASET_FORMATS))
          assert.ok(err.message.includes(` ${format} (`), `${name}: the message names ${format}`);
        return true;
      });
    }
  });

  it('gives byte-identical tickets.csv for JSON, JSON Lines and CSV with chunks of 1, 4 and 100', async () => {
    const files = writeFormats(dir);
    const outputs = new Map<string, Buffer>();
    for (const [format, file] of Object.entries(files)) {
      for (const chunkSize of [1, 4, 100]) {
        const runId = `${format}-${chunkSize}`;
        const ctx = { ...stageContext(config, runId), params: { ...config.pipeline, chunkSize } };
        const result = await runTextProcessing(ctx, file);
        assert.equal(result.stats.read, TICKETS.length);
        assert.equal(result.stats.dropped.emptyNarrative, TICKETS.filter((t) => t.narrative === '').length);
        outputs.set(runId, fs.readFileSync(path.join(runDir(config.storageDir, runId), 'tickets.csv')));
      }
    }
    const reference = outputs.get('json-100')!;
    assert.match(
      reference.toString('utf8'),
      /Mortgage \+ Sub, ""2""/,
      'category joins product and sub-product',
    );
    assert.match(
      reference.toString('utf8'),
      /mortgage payment statement escrow/,
      'processed text holds singular noun lemmas',
    );
    for (const [runId, bytes] of outputs)
      assert.ok(bytes.equals(reference), `${runId} differs from json-100`);
  });
});
