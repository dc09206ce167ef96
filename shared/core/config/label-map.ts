import { openRegular } from '../dataset/open-dataset';

/** Far above any real label map (product-labels.tsv is 1.5 KB); it is stored in the run's record. */
const MAX_LABEL_MAP_BYTES = 16 * 1024 * 1024;

/**
 * A `labelMap` from a file: a JSON object (raw label → class), or a TSV whose first line is a header
 * (column names, like `raw_product<TAB>label5<TAB>note`) and whose other lines hold a raw label and its
 * class in the first two columns (further columns, such as a note, are ignored), like
 * `product-labels.tsv`. The file must be a regular file: it is opened without blocking (a FIFO would
 * block its reader forever) and checked with fstat before anything is read. Errors name the file and
 * line.
 */
export async function readLabelMapFile(file: string): Promise<Record<string, string>> {
  const text = await readRegularFile(file);
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

async function readRegularFile(file: string): Promise<string> {
  const { handle, st } = await openRegular(file, 'label map');
  try {
    if (st.size > MAX_LABEL_MAP_BYTES)
      throw new Error(`${file}: ${st.size} bytes: a label map is at most ${MAX_LABEL_MAP_BYTES} bytes`);
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

/**
 * Whether a TSV's first line names its columns: the first column's name begins with "raw" (`raw`,
 * `raw_product`, `raw label`), or the second is named `class`, `category` or `label…` (`label5`).
 */
export function isLabelMapHeader(line: string): boolean {
  const [first = '', second = ''] = line.split('\t').map((c) => c.trim());
  return /^raw(?:$|[\s_-])/i.test(first) || /^(?:class|category|label[\w-]*)$/i.test(second);
}

export function parseLabelMapTsv(text: string, file = 'label map'): Record<string, string> {
  const map: Record<string, string> = {};
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  // A first line read as a header when it is a mapping would silently drop that mapping: it must be
  // recognisably a header.
  const header = lines[0] ?? '';
  if (!isLabelMapHeader(header))
    throw new Error(
      `${file}:1: expected a header line naming the columns, like "raw<TAB>class" (or "raw_product<TAB>label5<TAB>note"), got ${JSON.stringify(header)}: a label-map TSV starts with its header, the first line is never read as a mapping`,
    );
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

const PLURALS: Record<string, string> = {
  product: 'products',
  category: 'categories',
  value: 'values',
  class: 'classes',
};
const count = (n: number, noun: string) => `${n} ${n === 1 ? noun : PLURALS[noun]}`;

/**
 * A label map in a few words: "26 products → 5 classes, from product-labels.tsv" (the file when known:
 * the CLI read it; a run submitted over the API has none). `labelField` names what the keys are.
 */
export function describeLabelMap(map: Record<string, string>, labelField: string, file?: string): string {
  const what = labelField === 'product' || labelField === 'category' ? labelField : 'value';
  const classes = new Set(Object.values(map)).size;
  return `${count(Object.keys(map).length, what)} → ${count(classes, 'class')}${file ? `, from ${file}` : ''}`;
}
