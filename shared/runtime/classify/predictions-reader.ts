/** Reading a completed classification's `predictions.csv` (and its input tickets) back, row by row. */
import { CsvParser } from '../../core/io/csv';
import { openDatasetSource } from '../../core/dataset/open-dataset-source';
import { readTickets } from '../../core/dataset/read-tickets';
import { BadInputError } from '../../core/errors';
import { ArtifactStore } from '../../core/store/artifact-store';
import { TicketflowConfig } from '../../core/config/config';
import { CLASSIFICATION_FILES, ClassificationRecord, classificationKey } from './batch';

/** One row of predictions.csv: `row` is its 0-based position, the same as its ticket's among kept tickets. */
export interface PredictionRow {
  row: number;
  ticketId: string;
  confidence: number;
  abstained: boolean;
  /** in the order of `classes` */
  probabilities: number[];
}

/**
 * Stream `classifications/<id>/predictions.csv` through the store: `onHeader` gets the model's classes (its
 * `p_<class>` columns), then `onRow` every row. Columns are found by name in the header.
 */
export async function readPredictions(
  store: ArtifactStore,
  id: string,
  onHeader: (classes: string[]) => void,
  onRow: (row: PredictionRow) => void,
): Promise<number> {
  const key = classificationKey(id, CLASSIFICATION_FILES.predictions);
  let at: { id: number; confidence: number; abstained: number; p: number[] } | null = null;
  let rows = 0;
  const parser = new CsvParser((fields) => {
    if (at === null) {
      const col = (name: string) => {
        const i = fields.indexOf(name);
        if (i < 0) throw new Error(`${key} has no column ${name}: ${fields.join(', ')}`);
        return i;
      };
      const p = fields.flatMap((f, i) => (f.startsWith('p_') ? [i] : []));
      at = { id: col('ticket_id'), confidence: col('confidence'), abstained: col('abstained'), p };
      onHeader(p.map((i) => fields[i]!.slice(2)));
      return;
    }
    if (fields.length === 1 && fields[0] === '') return;
    const c = at;
    onRow({
      row: rows++,
      ticketId: fields[c.id]!,
      confidence: Number(fields[c.confidence]),
      abstained: fields[c.abstained] === 'true',
      probabilities: c.p.map((i) => Number(fields[i])),
    });
  });
  const decoder = new TextDecoder();
  for await (const piece of await store.openRead(key))
    parser.write(decoder.decode(piece as Uint8Array, { stream: true }));
  parser.write(decoder.decode());
  parser.end();
  return rows;
}

/** Thrown from the record callback to stop reading a dataset once every wanted ticket is read. */
const ALL_FOUND = new Error('every wanted ticket is read');

/**
 * The narratives of the kept tickets at the given positions (`rows`, positions among kept tickets, as in
 * predictions.csv), read from the classification's input dataset through this process's dataset source,
 * as the chunk jobs read it. BadInputError when the dataset no longer holds those tickets under the ids
 * predictions.csv gives them (it changed since the classification).
 */
export async function ticketTexts(
  config: TicketflowConfig,
  record: ClassificationRecord,
  rows: ReadonlyMap<number, string>,
): Promise<Map<number, { text: string; product: string; subProduct: string | null }>> {
  const out = new Map<number, { text: string; product: string; subProduct: string | null }>();
  if (rows.size === 0) return out;
  const file = await openDatasetSource(config).open(record.dataset);
  let kept = 0;
  try {
    await readTickets(file, (rec) => {
      const row = kept++;
      const ticketId = rows.get(row);
      if (ticketId === undefined) return;
      const id = rec.id ?? String(rec.index);
      if (id !== ticketId) {
        throw new BadInputError(
          `dataset ${record.dataset} changed since classification ${record.id}: its ticket ${row} is "${id}", predictions.csv says "${ticketId}"`,
        );
      }
      out.set(row, { text: rec.narrative, product: rec.product, subProduct: rec.subProduct });
      // The rest of the file holds none of them: stop reading.
      if (out.size === rows.size) throw ALL_FOUND;
    });
  } catch (err) {
    if (err !== ALL_FOUND) throw err;
  } finally {
    await file.close();
  }
  const missing = [...rows].find(([row]) => !out.has(row));
  if (missing !== undefined) {
    throw new BadInputError(
      `dataset ${record.dataset} changed since classification ${record.id}: it no longer holds ticket "${missing[1]}"`,
    );
  }
  return out;
}
