import fsp from 'node:fs/promises';

/**
 * A `labelMap` from a file: a JSON object (raw label → class), or a TSV whose first line is a header
 * and whose other lines hold a raw label and its class in the first two columns (further columns, such
 * as a note, are ignored), like `product-labels.tsv`. Errors name the file and line.
 */
export async function readLabelMapFile(file: string): Promise<Record<string, string>> {
  const text = await fsp.readFile(file, 'utf8');
  if (/^\s*\{/.test(text)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new Error(`${file}: not valid JSON: ${(err as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new Error(`${file}: must be a JSON object of raw label → class`);
    return parsed as Record<string, string>;
  }
  return parseLabelMapTsv(text, file);
}

export function parseLabelMapTsv(text: string, file = 'label map'): Record<string, string> {
  const map: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const [raw, cls] = line.split('\t');
    if (raw === undefined || cls === undefined || raw.trim() === '' || cls.trim() === '')
      throw new Error(`${file}:${i + 1}: expected "raw label<TAB>class", got ${JSON.stringify(line)}`);
    const key = raw.trim();
    if (Object.hasOwn(map, key) && map[key] !== cls.trim())
      throw new Error(`${file}:${i + 1}: "${key}" is mapped twice, to "${map[key]}" and "${cls.trim()}"`);
    Object.defineProperty(map, key, {
      value: cls.trim(),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  if (Object.keys(map).length === 0)
    throw new Error(`${file}: no "raw label<TAB>class" line after the header`);
  return map;
}
