import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../core/config/config';
import { DEFAULT_PIPELINE_PARAMS, PipelineParams } from '../core/config/pipeline-params';
import { csvRow } from '../core/io/csv';
import { IndexedCsvWriter } from '../core/io/row-index';
import { createLogger } from '../core/logger';
import { FileStore } from '../core/store/file-store';
import { runFeatureExtraction } from './stages/feature-extraction/feature-extraction';
import { ARTIFACTS, StageContext, TICKETS_COLUMNS, artifactKey } from './stages/context';
import { runTextProcessing } from './stages/text-processing';
import { runTransformSplit } from './stages/transform-split/transform-split';
import type { WarmUpKind } from './stages/stage-definition';
import { searchGrid } from './stages/training/search-grid';
import { sampleLayouts } from './warm-up-layouts';
import { runRefit } from './stages/training/training';

/**
 * V8 compiles a function to optimised code only once it has run hot, so a fresh process's first chunk or
 * block runs 1.5–3× slower than its later ones (on the dev data: a 2,000-ticket chunk 0.31 s against
 * 0.10 s, a 16,000-row block's document frequencies 0.48 s against 0.29 s). A worker forks its sandboxes
 * when it starts (workers/start-workers.ts): running the code they serve once there, on a few hundred
 * tickets of the bundled sample in a temporary folder, takes that cost off the first run's path. (A
 * classification sandbox is not warmed: its lemmatizer and caches belong to the model it loads.)
 *
 * What each kind of sandbox runs:
 * - `lemmas`: stage 1 over the whole sample, which also fills the lemmatizer's word → lemma caches, then
 *   over some of its records in the layouts real datasets come in (a chunk sandbox);
 * - `blocks`: stages 2 and 3 in this process, with topic and then category labels (their block tasks);
 * - `training`: the same, then the refit of each estimator (the search's folds and refits).
 */

/** The bundled sample, whose first tickets a warm-up runs on (none when it is not installed). */
export const WARM_UP_SAMPLE = path.join(PROJECT_ROOT, 'shared', 'sample', 'complaints-sample.json');
/** Tickets a warm-up runs on: enough for every hot loop to be compiled, a fraction of a second. */
export const WARM_UP_TICKETS = 400;
/** Sample records the `lemmas` warm-up also runs in each real layout (sampleLayouts). */
const LAYOUT_RECORDS = 600;

/**
 * Runs `kind`'s code once on the sample's first WARM_UP_TICKETS tickets; resolves with what it ran on
 * (0 tickets when the sample is not there: nothing to warm with). Leaves nothing behind.
 */
export async function warmUp(kind: WarmUpKind, sample = WARM_UP_SAMPLE): Promise<{ tickets: number }> {
  // Stage 1 reads the sample itself; the others get its first tickets as stage 1's rows.
  const tickets = kind === 'lemmas' ? null : readSample(sample, WARM_UP_TICKETS);
  if (tickets === null ? !fs.existsSync(sample) : tickets.length === 0) return { tickets: 0 };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticketflow-warm-up-'));
  const store = new FileStore(dir);
  try {
    const log = createLogger('error', { component: 'warm-up' });
    const base: StageContext = { store, runId: 'warm-up', params: warmUpParams({}), log };
    if (tickets === null) {
      // Stage 1 on the whole sample, in chunks, through this process's lemmatizer (processChunk's): its
      // word → lemma caches fill with the sample's words (~0.5 s).
      const params = warmUpParams({ chunkSize: 300 });
      const text = await runTextProcessing({ ...base, params }, sample);
      // Then a few of its records in the layouts real datasets have (warm-up-layouts.ts).
      const records = sampleRecords(sample);
      const layouts = records.length > 0 ? [...sampleLayouts(records, LAYOUT_RECORDS)] : [];
      for (const [i, [name, bytes]] of layouts.entries()) {
        const file = path.join(dir, name);
        fs.writeFileSync(file, bytes);
        await runTextProcessing({ ...base, runId: `warm-up-layout-${i}`, params }, file);
      }
      return { tickets: text.rows };
    }
    await writeTickets(base, tickets);
    await runFeatureExtraction(base);
    for (const labels of ['topics', 'category'] as const) {
      const ctx = { ...base, params: warmUpParams({ labels }) };
      await runTransformSplit(ctx);
      if (kind === 'training') await runRefit(ctx, searchGrid(ctx.params).at(-1)!);
    }
    return { tickets: tickets.length };
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function warmUpParams(overrides: Partial<PipelineParams>): PipelineParams {
  // One candidate per label kind; category labels as they come (no label map), none too rare to keep.
  return { ...DEFAULT_PIPELINE_PARAMS, searchC: [1], searchNgrams: [2], minClassSize: 1, ...overrides };
}

interface SampleTicket {
  narrative: string;
  product: string;
}

/** The sample's records as parsed (none when it cannot be read or is not a JSON array). */
function sampleRecords(file: string): unknown[] {
  let records: unknown;
  try {
    records = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return [];
  }
  return Array.isArray(records) ? records : [];
}

function readSample(file: string, most: number): SampleTicket[] {
  const out: SampleTicket[] = [];
  for (const r of sampleRecords(file) as {
    _source?: { complaint_what_happened?: unknown; product?: unknown };
  }[]) {
    const s = r?._source;
    if (typeof s?.complaint_what_happened !== 'string' || s.complaint_what_happened.trim() === '') continue;
    out.push({
      narrative: s.complaint_what_happened,
      product: typeof s.product === 'string' ? s.product : '',
    });
    if (out.length === most) break;
  }
  return out;
}

/**
 * The tickets as stage 1 would write them, with the narrative's lower-cased words standing in for its
 * noun lemmas: the tagger is the `lemmas` warm-up's, and a block sandbox never loads it.
 */
async function writeTickets(ctx: StageContext, tickets: readonly SampleTicket[]): Promise<void> {
  const out = await IndexedCsvWriter.open(
    ctx.store,
    artifactKey(ctx, ARTIFACTS.tickets),
    csvRow(TICKETS_COLUMNS),
  );
  try {
    for (const t of tickets) {
      const words = t.narrative.toLowerCase().match(/[a-z]{3,}/g) ?? [];
      await out.row(csvRow([t.narrative, t.product, words.filter((w) => w !== 'xxxx').join(' ')]));
    }
    await out.commit();
  } catch (err) {
    await out.abort();
    throw err;
  }
}
