/**
 * The review queue's routes: GET and POST /classifications/:id/review, GET /reviews/export. Not raced
 * against the Redis deadline like the other routes: they read predictions.csv and the input dataset,
 * which takes seconds on a large classification; Redis errors still answer 503 (redisErrors).
 */
import express, { NextFunction, Request, Response, Router } from 'express';
import { BadInputError, DataUnavailableError, StorageError } from '../../shared/core/errors';
import { LockBusy } from '../../shared/runtime/runs/run-lock';
import {
  ClassificationNotCompleted,
  NoSuchClassification,
  REVIEW_LIMITS,
  parseReviewBody,
  reviewQueue,
  saveReviews,
} from '../../shared/runtime/classify/review';
import {
  ExportNeedsFileDataRoot,
  NothingReviewed,
  exportFilter,
  exportReviews,
} from '../../shared/runtime/classify/review-export';
import { ApiDeps } from './handlers';
import { answerError, errorResult, HandlerResult } from './handler-result';

const STATUSES = [
  [BadInputError, 400],
  [NoSuchClassification, 404],
  [ClassificationNotCompleted, 409],
  [NothingReviewed, 409],
  [ExportNeedsFileDataRoot, 501],
  [LockBusy, 503],
  [DataUnavailableError, 503],
  [StorageError, 507],
] as const;

function limitOf(query: Record<string, unknown>): number | HandlerResult {
  const raw = query.limit;
  if (raw === undefined) return REVIEW_LIMITS.default;
  const n = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 1 && n <= REVIEW_LIMITS.max))
    return errorResult(400, `"limit" must be a whole number from 1 to ${REVIEW_LIMITS.max}`);
  return n;
}

async function answer(res: Response, work: () => Promise<HandlerResult>): Promise<void> {
  let result: HandlerResult;
  try {
    result = await work();
  } catch (err) {
    result = answerError(err, STATUSES);
  }
  res.status(result.status).json(result.body);
}

export function reviewsRouter(deps: ApiDeps): Router {
  const router = express.Router();
  const id = (req: Request) => String(req.params.id);
  router.get('/classifications/:id/review', (req: Request, res: Response, next: NextFunction) => {
    answer(res, async () => {
      const limit = limitOf(req.query as Record<string, unknown>);
      if (typeof limit !== 'number') return limit;
      return { status: 200, body: await reviewQueue(deps, id(req), limit) };
    }).catch(next);
  });
  router.post(
    '/classifications/:id/review',
    express.text({ type: ['text/csv', 'application/csv'], limit: '1mb' }),
    (req: Request, res: Response, next: NextFunction) => {
      answer(res, async () => {
        const labels = parseReviewBody(req.body);
        const problem = await deps.storeHealth.problem();
        if (problem !== null) return errorResult(503, problem);
        return { status: 200, body: await saveReviews(deps, id(req), labels) };
      }).catch(next);
    },
  );
  router.get('/reviews/export', (req: Request, res: Response, next: NextFunction) => {
    answer(res, async () => {
      const only = exportFilter(req.query as Record<string, unknown>);
      return { status: 200, body: await exportReviews(deps, only) };
    }).catch(next);
  });
  return router;
}
