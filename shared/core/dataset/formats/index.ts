/**
 * The dataset formats, in one table: sniffing walks it, and readTickets and planChunks reach a format's
 * planner and reader only through it. A format's name here is what ReadStats, ChunkPlan and chunk jobs
 * carry. Adding a format: a module implementing DatasetFormatModule (format.ts) and one entry below.
 */
import { badInput, type BadInputError } from '../../errors';
import type { DatasetFile } from '../open-dataset';
import { cfpbCsv } from './cfpb-csv';
import { CLAIM, type DatasetFormatModule, type FileHead } from './format';
import { readHead } from './head';
import { jsonArray } from './json-array';
import { jsonLines } from './json-lines';

/** On a tie between two claims (format.ts's CLAIM), the format listed first wins. */
export const DATASET_FORMATS = {
  json: jsonArray,
  jsonl: jsonLines,
  csv: cfpbCsv,
} as const satisfies Record<string, DatasetFormatModule>;

export type DatasetFormat = keyof typeof DATASET_FORMATS;

export function isDatasetFormat(name: unknown): name is DatasetFormat {
  return typeof name === 'string' && Object.hasOwn(DATASET_FORMATS, name);
}

/** The format whose claim on the file's start and name is surest; none: BadInputError naming the file. */
export async function sniffFormat(ds: DatasetFile): Promise<DatasetFormat> {
  const head = await readHead(ds);
  let best: { format: DatasetFormat; rank: number } | undefined;
  for (const [format, module] of Object.entries(DATASET_FORMATS) as [DatasetFormat, DatasetFormatModule][]) {
    const claim = module.sniff(head);
    if (claim !== undefined && (best === undefined || CLAIM[claim] > best.rank))
      best = { format, rank: CLAIM[claim] };
  }
  if (best === undefined) throw unknownFormat(ds.path, head);
  return best.format;
}

function unknownFormat(file: string, head: FileHead): BadInputError {
  const known = Object.entries(DATASET_FORMATS)
    .map(([name, module]) => `${name} (${module.description})`)
    .join('; ');
  const why =
    head.first === undefined
      ? 'the file is empty or white space only, and its extension names no known format'
      : 'neither its extension nor its first bytes match a known format';
  return badInput({ file }, `unknown dataset format: ${why}. Known formats: ${known}`);
}
