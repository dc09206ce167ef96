/**
 * The sample in real datasets' layouts (shared/pipeline/warm-up-layouts.ts), which the `lemmas` warm-up
 * runs stage 1 on: each copy must be the format it stands for, hold the sample's records, and carry the
 * bytes the sample lacks (escapes, separators), or the warm-up compiles nothing new.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pythonJson, sampleLayouts } from '../../shared/pipeline/warm-up-layouts';
import { WARM_UP_SAMPLE } from '../../shared/pipeline/warm-up';
import { readTickets } from '../../shared/core/dataset/read-tickets';

interface SampleRecord {
  _source: { complaint_what_happened: string };
}

describe('warm-up layouts', () => {
  it("pythonJson writes json.dumps's separators and escapes past ASCII, and parses back", () => {
    const value = { a: [1, 'x'], 'caf\u00e9': 'it\u2019s "q" \\ \n', n: null, t: true };
    const text = pythonJson(value);
    assert.equal(text, '{"a": [1, "x"], "caf\\u00e9": "it\\u2019s \\"q\\" \\\\ \\n", "n": null, "t": true}');
    assert.match(text, /^[\x20-\x7e]*$/);
    assert.deepEqual(JSON.parse(text), value);
  });

  it('gives a JSON array and JSON Lines of the first records, narratives extended, read as stage 1 reads', async () => {
    const records = JSON.parse(fs.readFileSync(WARM_UP_SAMPLE, 'utf8')) as SampleRecord[];
    // The first 100 hold records without a narrative (the 78th, 80th and 88th), which stay without one.
    const layouts = sampleLayouts(records, 100);
    assert.deepEqual([...layouts.keys()], ['layout-cfpb.json', 'layout-lines.jsonl']);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warm-up-layouts-'));
    try {
      const expected = records
        .slice(0, 100)
        .map((r) => r._source.complaint_what_happened)
        .filter((n) => n.trim() !== '');
      assert.ok(expected.length < 100 && expected.length > 90);
      for (const [name, bytes] of layouts) {
        const file = path.join(dir, name);
        fs.writeFileSync(file, bytes);
        const narratives: string[] = [];
        const stats = await readTickets(file, (t) => void narratives.push(t.narrative));
        assert.equal(stats.format, name.endsWith('.jsonl') ? 'jsonl' : 'json', name);
        assert.equal(narratives.length, expected.length, name);
        narratives.forEach((n, i) => {
          assert.ok(n.startsWith(expected[i]!), `${name} record ${i}`);
          assert.ok(n.length > expected[i]!.length, `${name} record ${i} has no extra text`);
        });
        // What the sample's bytes lack and real datasets hold.
        for (const piece of ['\\n', '\\"', '\\\\', '{$20.00}', 'www.example.com'])
          assert.ok(bytes.includes(piece), `${name} lacks ${piece}`);
      }
      const cfpb = layouts.get('layout-cfpb.json')!;
      assert.ok(!cfpb.includes('\n'), 'one line, as the CFPB export');
      assert.ok(
        cfpb.includes('"_source": {') && cfpb.includes('\\u2019'),
        'json.dumps separators and escapes',
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
