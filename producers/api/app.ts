import express, { NextFunction, Request, Response } from 'express';
import { createBoard } from '../../board/board';
import { ApiDeps, HandlerResult, cancel, createRun, getRun, getRuns, ready, remove, retry } from './handlers';
import { classify, listModels, putAlias } from './models';
import { createClassification, getClassificationHandler } from './classifications';
import { ModelRegistry } from '../../shared/model/registry';
import { RunsContext } from '../../shared/runs/context';
import { Logger } from '../../shared/logger';
import { requireBearer, requireBoardAuth } from './auth';
import { getRunLogs } from './logs';
import { uiDataRouter, uiPageRouter } from './ui/routes';
import { createApiMetrics } from '../../shared/metrics/api-metrics';

interface Route {
  method: 'get' | 'post' | 'put' | 'delete';
  path: string;
  handler: (deps: ApiDeps, req: Request) => Promise<HandlerResult>;
  /** the handler keeps REDIS_DEADLINE_MS itself, rolling back what it started (it is not raced) */
  ownDeadline?: true;
}

const id = (req: Request) => String(req.params.id);

const ROUTES: Route[] = [
  {
    method: 'post',
    path: '/runs',
    handler: (d, req) => createRun(d, req.body, req.get('Idempotency-Key') ?? undefined, REDIS_DEADLINE_MS),
    ownDeadline: true,
  },
  { method: 'get', path: '/runs', handler: (d, req) => getRuns(d, req.query as Record<string, unknown>) },
  { method: 'get', path: '/runs/:id', handler: (d, req) => getRun(d, id(req)) },
  {
    method: 'get',
    path: '/runs/:id/logs',
    handler: (d, req) => getRunLogs(d, id(req), req.query as Record<string, unknown>),
  },
  {
    method: 'delete',
    path: '/runs/:id',
    handler: (d, req) => remove(d, id(req), req.query as Record<string, unknown>),
  },
  { method: 'post', path: '/runs/:id/retry', handler: (d, req) => retry(d, id(req)) },
  { method: 'post', path: '/runs/:id/cancel', handler: (d, req) => cancel(d, id(req)) },
  { method: 'get', path: '/readyz', handler: (d) => ready(d) },
  { method: 'get', path: '/models', handler: (d) => listModels(d.registry) },
  {
    method: 'put',
    path: '/models/aliases/:name',
    handler: (d, req) => putAlias(d.registry, String(req.params.name), req.body),
  },
  { method: 'post', path: '/classify', handler: (d, req) => classify(d.registry, req.body) },
  {
    method: 'post',
    path: '/classifications',
    handler: (d, req) => createClassification(d, d.registry, req.body),
  },
  { method: 'get', path: '/classifications/:id', handler: (d, req) => getClassificationHandler(d, id(req)) },
];

/** A request that needs Redis answers 503 when Redis has not answered within this time. */
export const REDIS_DEADLINE_MS = 2000;

class RedisUnavailable extends Error {}

/**
 * Run a handler, answering 503 at once when the Redis connection is down and after
 * `REDIS_DEADLINE_MS` when Redis does not answer: a client learns in seconds that it should retry,
 * instead of hanging.
 */
async function withRedis(
  deps: ApiDeps,
  work: () => Promise<HandlerResult>,
  race = true,
): Promise<HandlerResult> {
  const unavailable = (why: string): HandlerResult => ({
    status: 503,
    body: { error: `Redis at ${deps.config.redisUrl} ${why}: try again shortly` },
  });
  if (deps.redis.status !== 'ready') return unavailable(`is unreachable (connection ${deps.redis.status})`);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    if (race) timer = setTimeout(() => reject(new RedisUnavailable()), REDIS_DEADLINE_MS);
  });
  try {
    return await (race ? Promise.race([work(), deadline]) : work());
  } catch (err) {
    // The connection's own command timeout (shorter than the deadline) says the same.
    if (err instanceof RedisUnavailable || /Command timed out/.test((err as Error).message)) {
      return unavailable(`did not answer in time`);
    }
    if (deps.redis.status !== 'ready')
      return unavailable(`became unreachable (connection ${deps.redis.status})`);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The express adapter: routes call framework-free handlers; one error handler answers JSON. With
 * `config.apiToken` set, everything but `GET /healthz` needs the token: the API as Bearer, Bull Board as
 * Bearer or Basic (checked before any body is read); `config.boardReadOnly` makes the board read-only.
 */
export function createApp(runs: RunsContext, log: Logger): express.Express {
  const deps: ApiDeps = { ...runs, registry: new ModelRegistry(runs) };
  const app = express();
  app.disable('x-powered-by');
  const token = deps.config.apiToken;
  app.get('/healthz', (_req, res) => {
    res.json({ ok: true, uptimeSeconds: Math.round(process.uptime()) });
  });
  app.use(uiPageRouter()); // the page and its script hold no data: the script sends the token itself
  const board = createBoard(deps.queues, '/board', { readOnly: deps.config.boardReadOnly });
  if (token !== null) {
    app.use('/board', requireBoardAuth(token), board);
    app.use(requireBearer(token));
  } else app.use('/board', board);
  // Behind the token guard when there is one; the timer includes reading the body.
  const metrics = createApiMetrics(deps);
  app.get('/metrics', metrics.handler);
  app.post('/classify', metrics.timeClassify);
  app.use(express.json({ limit: '1mb' }));
  for (const route of ROUTES) {
    app[route.method](route.path, (req: Request, res: Response, next: NextFunction) => {
      withRedis(deps, () => route.handler(deps, req), !route.ownDeadline).then(
        (r) => res.status(r.status).json(r.body),
        next,
      );
    });
  }
  app.use(uiDataRouter(deps));
  app.get('/', (_req, res) => {
    res.json({
      service: 'ticketflow',
      endpoints: [
        'POST /runs',
        'GET /runs?state=&limit=&cursor=',
        'GET /runs/:id',
        'GET /runs/:id/report',
        'GET /runs/:id/logs',
        'GET /runs/:id/timeline',
        'GET /ui',
        'POST /runs/:id/retry',
        'POST /runs/:id/cancel',
        'DELETE /runs/:id',
        'GET /healthz',
        'GET /readyz',
        'GET /metrics',
        'GET /models',
        'PUT /models/aliases/:name',
        'POST /classify',
        'POST /classifications',
        'GET /classifications/:id',
        'GET /board',
      ],
    });
  });
  app.use((_req: Request, res: Response) => {
    res.status(404).json({ error: 'not found: see GET / for the endpoints' });
  });
  app.use(
    (err: Error & { type?: string; status?: number }, _req: Request, res: Response, _next: NextFunction) => {
      if (err.type === 'entity.parse.failed') {
        res.status(400).json({ error: `the body is not valid JSON: ${err.message}` });
        return;
      }
      if (err.status && err.status >= 400 && err.status < 500) {
        res.status(err.status).json({ error: err.message });
        return;
      }
      log.error(`request failed: ${err.stack ?? err.message}`);
      res.status(500).json({ error: `internal error: ${err.message}` });
    },
  );
  return app;
}
