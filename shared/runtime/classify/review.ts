/**
 * The review queue of a batch classification: its abstained tickets, least confident first, with their
 * text and the model's two most probable classes; reviewed labels posted back for them.
 *
 * Reviewed labels live in a Redis hash per classification (ticket id → label: concurrent reviews add to
 * it without losing each other's labels) and are copied, after every change and under a lock, to the
 * artifact `classifications/<id>/reviews.json`, which outlives Redis: a classification whose hash is
 * gone is read from that file, and the hash is filled from it before the next change.
 */
import { BadInputError } from '../../core/errors';
import { CsvParser } from '../../core/io/csv';
import { RunsContext } from '../runs/context';
import { withLock } from '../runs/run-lock';
import {
  ClassificationRecord,
  ClassificationStatus,
  classificationKey,
  getClassification,
  readJsonOrNull,
  CLASSIFICATION_FILES,
} from './batch';
import { readPredictions, ticketTexts } from './predictions-reader';

export const REVIEW_LIMITS = { default: 50, max: 1000 } as const;

/** The artifact holding a classification's reviewed labels. */
export const REVIEWS_FILE = 'reviews.json';

/** No classification has this id. */
export class NoSuchClassification extends Error {
  override readonly name = 'NoSuchClassification';
}

/** The classification has not completed (it is waiting, running or failed). */
export class ClassificationNotCompleted extends Error {
  override readonly name = 'ClassificationNotCompleted';
}

/** `reviews.json`. */
export interface ReviewsFile {
  classification: string;
  /** run id of the model that classified */
  model: string;
  /** ticket id → reviewed label */
  labels: Record<string, string>;
  updatedAt: string;
}

export interface ReviewTicket {
  ticketId: string;
  text: string;
  confidence: number;
  /** the two most probable classes, most probable first */
  top: { label: string; p: number }[];
  /** the label a reviewer gave it, if any */
  reviewed?: string;
}

export interface ReviewQueue {
  classification: string;
  model: string;
  threshold: number;
  /** abstained tickets in all */
  abstained: number;
  /** tickets of this classification with a reviewed label */
  reviewed: number;
  tickets: ReviewTicket[];
}

/** The classification's record, when it has completed: NoSuchClassification, ClassificationNotCompleted. */
export async function completedClassification(
  ctx: RunsContext,
  id: string,
): Promise<{ record: ClassificationRecord; status: ClassificationStatus }> {
  const status = await getClassification(ctx, id);
  if (status === null) throw new NoSuchClassification(`there is no classification ${id}`);
  if (status.state !== 'completed') {
    throw new ClassificationNotCompleted(
      `classification ${id} is ${status.state}: only a completed classification has a review queue`,
    );
  }
  const record = await ctx.artifacts.getJson<ClassificationRecord>(
    classificationKey(id, CLASSIFICATION_FILES.record),
  );
  return { record, status };
}

/** A classification's reviewed labels: ticket id → label, from Redis, else from `reviews.json`. */
export async function reviewedLabels(ctx: RunsContext, id: string): Promise<Map<string, string>> {
  const fromRedis = await ctx.redis.hgetall(ctx.keys.reviews(id));
  const entries = Object.entries(fromRedis);
  if (entries.length > 0) return new Map(entries);
  const file = await readJsonOrNull<ReviewsFile>(ctx.artifacts, classificationKey(id, REVIEWS_FILE));
  return new Map(file ? Object.entries(file.labels) : []);
}

/** Order of the queue: least confident first, then by position in the input. */
const before = (a: { confidence: number; row: number }, b: { confidence: number; row: number }) =>
  a.confidence - b.confidence || a.row - b.row;

/**
 * The `limit` least confident abstained tickets of a completed classification (ties by input order),
 * each with its text (read from the classification's dataset), confidence, top-2 classes and reviewed
 * label. Holds at most 2 × `limit` rows while reading predictions.csv, whatever its size.
 */
export async function reviewQueue(ctx: RunsContext, id: string, limit: number): Promise<ReviewQueue> {
  const { record } = await completedClassification(ctx, id);
  const reviewed = await reviewedLabels(ctx, id);
  let classes: string[] = [];
  let kept: { row: number; ticketId: string; confidence: number; top: { label: string; p: number }[] }[] = [];
  let abstained = 0;
  const trim = () => {
    kept.sort(before);
    kept = kept.slice(0, limit);
  };
  await readPredictions(
    ctx.artifacts,
    id,
    (c) => (classes = c),
    (r) => {
      if (!r.abstained) return;
      abstained++;
      const order = r.probabilities.map((p, c) => ({ label: classes[c]!, p, c }));
      // Most probable first; equal probabilities in class order, like the model's argmax.
      order.sort((a, b) => b.p - a.p || a.c - b.c);
      kept.push({
        row: r.row,
        ticketId: r.ticketId,
        confidence: r.confidence,
        top: order.slice(0, 2).map(({ label, p }) => ({ label, p })),
      });
      if (kept.length >= 2 * limit) trim();
    },
  );
  trim();
  const texts = await ticketTexts(ctx.config, record, new Map(kept.map((k) => [k.row, k.ticketId])));
  return {
    classification: id,
    model: record.model,
    threshold: record.threshold,
    abstained,
    reviewed: reviewed.size,
    tickets: kept.map((k) => {
      const label = reviewed.get(k.ticketId);
      return {
        ticketId: k.ticketId,
        text: texts.get(k.row)!.text,
        confidence: k.confidence,
        top: k.top,
        ...(label !== undefined ? { reviewed: label } : {}),
      };
    }),
  };
}

/**
 * A review request's body → ticket id → label: JSON `{"labels": {"<ticket id>": "<label>", …}}`, or CSV
 * text with the header `ticket_id,label`. BadInputError naming what is wrong.
 */
export function parseReviewBody(body: unknown): Map<string, string> {
  const labels = new Map<string, string>();
  const add = (ticketId: unknown, label: unknown, where: string) => {
    if (typeof ticketId !== 'string' || ticketId === '')
      throw new BadInputError(`${where}: the ticket id must be a non-empty string`);
    if (typeof label !== 'string' || label === '')
      throw new BadInputError(`${where}: the label of ticket "${ticketId}" must be a non-empty string`);
    labels.set(ticketId, label);
  };
  if (typeof body === 'string') {
    let header: string[] | null = null;
    let line = 0;
    const parser = new CsvParser((fields) => {
      line++;
      if (fields.length === 1 && fields[0] === '') return;
      if (header === null) {
        header = fields.map((f) => f.trim());
        if (header[0] !== 'ticket_id' || header[1] !== 'label' || header.length !== 2)
          throw new BadInputError(
            `the CSV body's header must be "ticket_id,label", got "${fields.join(',')}"`,
          );
        return;
      }
      if (fields.length !== 2)
        throw new BadInputError(`CSV line ${line} has ${fields.length} fields, expected ticket_id,label`);
      add(fields[0], fields[1], `CSV line ${line}`);
    });
    try {
      parser.write(body);
      parser.end();
    } catch (err) {
      if (err instanceof BadInputError) throw err;
      throw new BadInputError(`the CSV body cannot be read: ${(err as Error).message}`);
    }
    if (header === null) throw new BadInputError('the CSV body is empty: send the header ticket_id,label');
  } else {
    const given =
      typeof body === 'object' && body !== null && !Array.isArray(body)
        ? (body as Record<string, unknown>).labels
        : undefined;
    if (typeof given !== 'object' || given === null || Array.isArray(given)) {
      throw new BadInputError(
        'the body must be JSON {"labels": {"<ticket id>": "<label>", …}} or text/csv with the header ticket_id,label',
      );
    }
    for (const [ticketId, label] of Object.entries(given)) add(ticketId, label, '"labels"');
  }
  if (labels.size === 0) throw new BadInputError('the body names no ticket to review');
  return labels;
}

/**
 * Store reviewed labels for tickets of a completed classification: each label must be one of the model's
 * classes and each ticket one of the classification's tickets (BadInputError naming the first that is
 * not). Added to the Redis hash, then `reviews.json` is rewritten from it under the classification's
 * review lock. Returns the tickets labelled by this request and the classification's reviewed tickets.
 */
export async function saveReviews(
  ctx: RunsContext,
  id: string,
  labels: ReadonlyMap<string, string>,
): Promise<{ reviewed: number; total: number }> {
  const { record } = await completedClassification(ctx, id);
  let classes: string[] = [];
  const unknown = new Set(labels.keys());
  await readPredictions(
    ctx.artifacts,
    id,
    (c) => {
      classes = c;
      const allowed = new Set(c);
      for (const [ticketId, label] of labels) {
        if (!allowed.has(label)) {
          throw new BadInputError(
            `ticket "${ticketId}": label ${JSON.stringify(label)} is not one of the model's classes (${c.map((x) => JSON.stringify(x)).join(', ')})`,
          );
        }
      }
    },
    (r) => unknown.delete(r.ticketId),
  );
  const stranger = unknown.values().next();
  if (!stranger.done)
    throw new BadInputError(`ticket "${stranger.value}" is not a ticket of classification ${id}`);
  if (classes.length === 0) throw new Error(`classification ${id}: predictions.csv names no class`);

  const key = ctx.keys.reviews(id);
  return withLock(ctx.redis, ctx.keys.lock(`${id}:reviews`), async () => {
    if ((await ctx.redis.exists(key)) === 0) {
      // Redis lost the hash (or never had it): start from the durable copy.
      const earlier = await reviewedLabels(ctx, id);
      if (earlier.size > 0) await ctx.redis.hset(key, Object.fromEntries(earlier));
    }
    await ctx.redis.hset(key, Object.fromEntries(labels));
    await ctx.redis.sadd(ctx.keys.reviewed, id);
    const all = await ctx.redis.hgetall(key);
    const file: ReviewsFile = {
      classification: id,
      model: record.model,
      labels: Object.assign(Object.create(null) as Record<string, string>, all),
      updatedAt: new Date().toISOString(),
    };
    await ctx.artifacts.putJson(classificationKey(id, REVIEWS_FILE), file);
    return { reviewed: labels.size, total: Object.keys(all).length };
  });
}
