/** The record type readers produce, and the checks that turn one parsed JSON hit into it. */
import { badInput, type BadInputError } from '../errors';

export interface TicketRecord {
  /** 0-based position of the record in the file: array element, line (JSON Lines) or row after the header (CSV). */
  index: number;
  id: string | null;
  narrative: string;
  product: string;
  subProduct: string | null;
}

/** Why a record was skipped without an error. */
export type DropReason = 'emptyNarrative';

/**
 * A parsed JSON record → TicketRecord, or the reason it is dropped. Accepts a Kaggle/Elasticsearch hit
 * (`{_id, _source: {complaint_what_happened, product, sub_product, ...}}`) or, when there is no `_source`
 * but a `complaint_what_happened` key, the bare `_source` object itself (id then from `complaint_id`).
 * Throws BadInputError naming file, record and field for anything else.
 */
export function ticketFromJson(value: unknown, file: string, index: number): TicketRecord | DropReason {
  if (!isObject(value))
    throw badInput({ file, record: index }, `record is ${kindOf(value)}, expected an object`);
  let source: unknown = value['_source'];
  let prefix = '_source.';
  let id = idOf(value['_id']);
  if (source === undefined) {
    if (!('complaint_what_happened' in value)) {
      throw badInput(
        { file, record: index, field: '_source' },
        'missing (expected a hit with _source.complaint_what_happened)',
      );
    }
    source = value;
    prefix = '';
  }
  if (!isObject(source))
    throw badInput({ file, record: index, field: '_source' }, `is ${kindOf(source)}, expected an object`);
  if (prefix === '' || id === null) id = idOf(source['complaint_id']);

  const narrative = source['complaint_what_happened'];
  if (narrative === undefined || narrative === null) return 'emptyNarrative';
  if (typeof narrative !== 'string') {
    throw badInput(
      { file, record: index, field: `${prefix}complaint_what_happened` },
      `is ${kindOf(narrative)}, expected a string or null`,
    );
  }
  if (isBlank(narrative)) return 'emptyNarrative';

  const product = source['product'];
  if (typeof product !== 'string' || isBlank(product)) {
    const problem =
      product === undefined
        ? 'missing'
        : typeof product === 'string'
          ? 'is empty'
          : `is ${kindOf(product)}, expected a string`;
    throw badInput(
      { file, record: index, field: `${prefix}product` },
      `${problem} (required when the narrative is not empty)`,
    );
  }
  const sub = source['sub_product'];
  let subProduct: string | null = null;
  if (typeof sub === 'string') subProduct = isBlank(sub) ? null : sub.trim();
  else if (sub !== undefined && sub !== null) {
    throw badInput(
      { file, record: index, field: `${prefix}sub_product` },
      `is ${kindOf(sub)}, expected a string or null`,
    );
  }
  return { index, id, narrative, product: product.trim(), subProduct };
}

/** True for '' and white space only (the checks use this, never a trimmed copy of a long narrative). */
export function isBlank(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!(
      c === 32 ||
      (c >= 9 && c <= 13) ||
      c === 0xa0 ||
      c === 0xfeff ||
      (c >= 0x2000 && c <= 0x200b) ||
      c === 0x3000 ||
      c === 0x1680 ||
      c === 0x2028 ||
      c === 0x2029 ||
      c === 0x202f ||
      c === 0x205f
    ))
      return false;
  }
  return true;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function idOf(v: unknown): string | null {
  if (typeof v === 'string') return v.length > 0 ? v : null;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return null;
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return `a ${typeof v}`;
}

export function noNarrative(file: string, read: number): BadInputError {
  return badInput({ file }, `no record with a non-empty narrative (${read} records read)`);
}
