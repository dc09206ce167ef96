/**
 * Reviewed tickets exported as a dataset a run trains on: a JSON array of hits in the Kaggle schema
 * (`_id`, `_source.complaint_what_happened`, `_source.product`, …) written into the data root as
 * `reviews/reviews-<timestamp>.json`. The pipeline's `labelField` reads `product` (or `Product +
 * Sub-product`) only, so each hit's `_source.product` is its reviewed label; `_source.reviewed_label`
 * repeats it, and `_source.original_product` / `original_sub_product` keep what the input dataset said.
 */
import { DEFAULT_PIPELINE_PARAMS, PipelineParams } from '../../core/config/pipeline-params';
import { BadInputError } from '../../core/errors';
import { writeDatasetFile } from '../../core/dataset/write-dataset';
import { RunsContext } from '../runs/context';
import { isClassificationId } from './batch';
import { readPredictions, ticketTexts } from './predictions-reader';
import { NoSuchClassification, REVIEWS_FILE, completedClassification, reviewedLabels } from './review';

/** The data root folder exports are written to. */
export const REVIEWS_FOLDER = 'reviews';

/** A class with fewer reviewed tickets than this is merged into "other" by the run (its `minClassSize`). */
export const MIN_REVIEWED_CLASS_SIZE = 5;

/** An export's data root is not a local folder (TICKETFLOW_DATA_URL names an S3 prefix). */
export class ExportNeedsFileDataRoot extends Error {
  override readonly name = 'ExportNeedsFileDataRoot';
}

/** Nothing reviewed yet (in the classification named, or in any). */
export class NothingReviewed extends Error {
  override readonly name = 'NothingReviewed';
}

/** The last export's copy in the data root, under a name a schedule can train on. */
export const LATEST_REVIEWS = `${REVIEWS_FOLDER}/latest.json`;

export interface ReviewExport {
  /** the dataset's name in the data root: what `POST /runs` takes as `dataset` */
  dataset: string;
  /**
   * `reviews/latest.json`: the same bytes under a name that stays, for a schedule to train on (its
   * dataset is fixed; each export replaces this one)
   */
  latest: string;
  tickets: number;
  /** reviewed tickets per label */
  labels: Record<string, number>;
  /** the classifications the tickets come from */
  classifications: string[];
  /** the params of a run that learns the reviewed labels */
  train: Partial<PipelineParams>;
}

interface Hit {
  _id: string;
  _source: {
    complaint_what_happened: string;
    product: string;
    sub_product: null;
    reviewed_label: string;
    original_product: string;
    original_sub_product: string | null;
    classification: string;
  };
}

/** `reviews-20261205-143012-123`: sorts by time; milliseconds keep two exports a second apart. */
const stamp = (d: Date) =>
  d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace('T', '-')
    .replace(/\.(\d{3})Z$/, '-$1');

/**
 * Write the reviewed tickets of one classification (`only`) or of every classification with reviews as a
 * dataset in the data root. NoSuchClassification for an unknown `only`, NothingReviewed when there is no
 * reviewed ticket, ExportNeedsFileDataRoot for an S3 data root.
 */
export async function exportReviews(ctx: RunsContext, only?: string): Promise<ReviewExport> {
  if (ctx.config.data.kind !== 'file') {
    throw new ExportNeedsFileDataRoot(
      'exporting reviews writes a dataset file into the data root, and TICKETFLOW_DATA_URL names an S3 prefix: export from an API whose data root is a folder (TICKETFLOW_DATA_DIR)',
    );
  }
  let ids: string[];
  if (only !== undefined) {
    if (!isClassificationId(only)) throw new NoSuchClassification(`there is no classification ${only}`);
    ids = [only];
  } else {
    // Redis's set, and every reviews.json in the store: the files outlive a Redis that lost its data.
    const files = (await ctx.artifacts.list('classifications/')).flatMap((e) => {
      const [top, id, name, ...rest] = e.key.split('/');
      return top === 'classifications' && name === REVIEWS_FILE && rest.length === 0 ? [id!] : [];
    });
    const members = await ctx.redis.smembers(ctx.keys.reviewed);
    ids = [...new Set([...members, ...files])].filter(isClassificationId).sort();
  }

  const hits: Hit[] = [];
  const used: string[] = [];
  for (const id of ids) {
    const { record } = await completedClassification(ctx, id);
    const labels = await reviewedLabels(ctx, id);
    if (labels.size === 0) continue;
    // A ticket id the input holds twice is exported once, from its first row.
    const rows = new Map<number, string>();
    const seen = new Set<string>();
    await readPredictions(
      ctx.artifacts,
      id,
      () => undefined,
      (r) => {
        if (!labels.has(r.ticketId) || seen.has(r.ticketId)) return;
        seen.add(r.ticketId);
        rows.set(r.row, r.ticketId);
      },
    );
    const texts = await ticketTexts(ctx.config, record, rows);
    for (const [row, ticketId] of [...rows].sort((a, b) => a[0] - b[0])) {
      const t = texts.get(row)!;
      const label = labels.get(ticketId)!;
      hits.push({
        _id: ticketId,
        _source: {
          complaint_what_happened: t.text,
          product: label,
          sub_product: null,
          reviewed_label: label,
          original_product: t.product,
          original_sub_product: t.subProduct,
          classification: id,
        },
      });
    }
    used.push(id);
  }
  if (hits.length === 0) {
    throw new NothingReviewed(
      only !== undefined
        ? `classification ${only} has no reviewed ticket: POST /classifications/${only}/review first`
        : 'no classification has reviewed tickets: POST /classifications/<id>/review first',
    );
  }
  const counts = Object.create(null) as Record<string, number>;
  for (const h of hits) counts[h._source.product] = (counts[h._source.product] ?? 0) + 1;
  const dataset = `${REVIEWS_FOLDER}/reviews-${stamp(new Date())}.json`;
  const bytes = JSON.stringify(hits) + '\n';
  await writeDatasetFile(ctx.config.dataDir, dataset, bytes);
  await writeDatasetFile(ctx.config.dataDir, LATEST_REVIEWS, bytes);
  const smallest = Math.min(...Object.values(counts));
  return {
    dataset,
    latest: LATEST_REVIEWS,
    tickets: hits.length,
    labels: counts,
    classifications: used,
    train: {
      labels: 'category',
      labelField: 'product',
      // Reviewed classes are small: keep each with enough tickets for the split and the search's folds.
      minClassSize: Math.min(
        DEFAULT_PIPELINE_PARAMS.minClassSize,
        Math.max(MIN_REVIEWED_CLASS_SIZE, smallest),
      ),
    },
  };
}

/** BadInputError for a `classification` query parameter that is not one string. */
export function exportFilter(query: Record<string, unknown>): string | undefined {
  const c = query.classification;
  if (c === undefined) return undefined;
  if (typeof c !== 'string' || c === '')
    throw new BadInputError('"classification" must be a classification id');
  return c;
}
