import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { errorHandler } from '@bull-board/api/dist/handlers/error.js';
import type { Router } from 'express';
import { Queues } from '../shared/runtime/flow/queues';

export interface BoardOptions {
  /**
   * Bull Board's `readOnlyMode` on every queue (`TICKETFLOW_BOARD_READONLY=1`): jobs, logs, flows and
   * counts stay visible; every queue-scoped write route of @bull-board/api 9.x (add, retry, promote, clean,
   * pause/resume, empty, obliterate, concurrency, rate limit, job schedulers, job data/delay/priority,
   * removing children) answers 405 `{"error": {"key": "ERRORS.QUEUE_READ_ONLY"}}`, and the board-wide
   * `PUT /api/queues/pause|resume` skip read-only queues (200, nothing changes). Retries are hidden too.
   */
  readOnly?: boolean;
  /**
   * The answer for an error of a board API route, or null for Bull Board's own (500 with the message):
   * the API answers 503 when Redis is down, hung or refusing writes.
   */
  errorAnswer?: (err: Error) => { status: number; body: unknown } | null;
}

/** Bull Board over every stage queue (and the chunk queue), mounted by the API at `basePath`. */
export function createBoard(queues: Queues, basePath: string, opts: BoardOptions = {}): Router {
  const readOnlyMode = opts.readOnly === true;
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(basePath);
  createBullBoard({
    queues: Object.values(queues).map((q) => new BullMQAdapter(q, { readOnlyMode })),
    serverAdapter,
    options: { uiConfig: { boardTitle: readOnlyMode ? 'ticketflow (read-only)' : 'ticketflow' } },
  });
  const errorAnswer = opts.errorAnswer;
  if (errorAnswer)
    serverAdapter.setErrorHandler(
      (err: Error) => (errorAnswer(err) as ReturnType<typeof errorHandler> | null) ?? errorHandler(err),
    );
  const router = serverAdapter.getRouter() as Router & { disable?: (setting: string) => unknown };
  router.disable?.('x-powered-by'); // an express app of its own: it would name the framework again
  return router;
}
