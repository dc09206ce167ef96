/**
 * The bundled sample's records in the layouts real datasets come in, for the `lemmas` warm-up
 * (warm-up.ts). The sample is pretty-printed plain ASCII, one record a line; the CFPB export is one line
 * of Python's json.dumps (", " and ": ", non-ASCII as \u escapes, narratives with \n, \r, \" and \\),
 * and the bench's scaled data is JSON Lines. Code compiled on the sample alone meets those bytes, and
 * real narratives' links, brackets and masks, on a sandbox's first chunk, and V8 compiles it again there
 * (on the dev data, ~0.2 s of CPU a sandbox). Running stage 1 on these copies too takes that off the
 * first chunk. What the copies hold changes nothing a run computes: their output is thrown away.
 */

/** Text added to the narratives, one per record in turn: what the sample's narratives lack. */
const EXTRAS = [
  '\n\nOn XX/XX/XXXX I paid {$20.00} (about $20) [sic] to the bank\u2019s agent under \u00a7 1681.',
  ' See www.example.com, http://example.org/a?b=c or write to help@example.net.\r\n',
  ' The account ending in 1234 was "closed"; fees of $35.00 \u2014 again! xx/xx/xxxx',
  ' An unmatched ( bracket, a { brace and a [ square, the 3rd time, 1,000.00 dollars \\ back.',
  ' Caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u043f\u0440\u0438\u0432\u0435\u0442\u2026 XXXX Xx x.\t\u00a0Done.',
];

/** Python's json.dumps of `value`: ", " and ": " separators, everything past ASCII as \uXXXX escapes. */
export function pythonJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(pythonJson).join(', ')}]`;
  if (value !== null && typeof value === 'object')
    return `{${Object.entries(value)
      .map(([k, v]) => `${asciiJson(k)}: ${pythonJson(v)}`)
      .join(', ')}}`;
  return asciiJson(value);
}

function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * The first `most` records of the sample (its parsed JSON array), each narrative with one of EXTRAS
 * added, as a CFPB-style JSON array and as JSON Lines: file name → bytes.
 */
export function sampleLayouts(records: readonly unknown[], most: number): Map<string, string> {
  const varied = records.slice(0, most).map((r, i) => {
    const source = (r as { _source?: Record<string, unknown> })?._source;
    // Records without a narrative stay so: stage 1's path for them is warmed too.
    if (typeof source?.complaint_what_happened !== 'string' || source.complaint_what_happened.trim() === '')
      return r;
    const narrative = source.complaint_what_happened + EXTRAS[i % EXTRAS.length]!;
    return { ...(r as object), _source: { ...source, complaint_what_happened: narrative } };
  });
  return new Map([
    ['layout-cfpb.json', pythonJson(varied)],
    ['layout-lines.jsonl', varied.map((r) => JSON.stringify(r)).join('\n') + '\n'],
  ]);
}
