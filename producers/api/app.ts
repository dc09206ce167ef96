import express, { NextFunction, Request, Response } from 'express';
import { createBoard } from '../../board/board';
import { ApiDeps, cancel, createRun, getRun, getRuns, ready, remove, prepareRetry, retry } from './handlers';
import { classify, listModels, putAlias } from './models';
import { HandlerResult } from './handler-result';
import { createClassification, getClassificationHandler } from './classifications';
import { listClassifications } from './classification-list';
import { deleteSchedule, enableSchedule, getSchedules, postRollback, postSchedule } from './schedules';
import { ModelRegistry } from '../../shared/runtime/runs/model-registry';
import { RunsContext } from '../../shared/runtime/runs/context';
import { Logger } from '../../shared/core/logger';
import { requireBearer, requireBoardAuth } from './auth';
import { getRunLogs } from './logs';
import { createWebhook, deleteWebhook, listWebhooks, webhookDeliveries } from './webhooks';
import { artifactsRouter } from './artifacts';
import { reviewsRouter } from './reviews';
import { ArtifactStore } from '../../shared/core/store/artifact-store';
import { uiDataRouter, uiPageRouter } from './ui/routes';
import { createApiMetrics } from '../../shared/runtime/metrics/api-metrics';
import { hostGuard, originGuard } from './request-guard';
import { BOARD_CSP, contentSecurityPolicy, securityHeaders } from './security-headers';
import { jsonBody } from './json-body';
import { StoreHealthCheck } from './store-health';
import {
  REDIS_DEADLINE_MS,
  redisDeadline,
  redisDown,
  redisErrors,
  redisProblem,
  underDeadline,
} from './redis-deadline';

interface Route {
  method: 'get' | 'post' | 'put' | 'delete';
  path: string;
  handler: (deps: ApiDeps, req: Request) => Promise<HandlerResult>;
  /** the handler keeps REDIS_DEADLINE_MS itself, rolling back what it started (it is not raced) */
  ownDeadline?: true;
  /** slow work that needs no Redis (hashing a dataset), done before the deadline starts */
  prepare?: (deps: ApiDeps, req: Request) => Promise<void>;
  /** writes to the artifact store: 503 before anything is done while the store cannot be used */
  needsStore?: true;
}

const id = (req: Request) => String(req.params.id);

const ROUTES: Route[] = [
  {
    method: 'post',
    path: '/runs',
    handler: (d, req) => createRun(d, req.body, req.get('Idempotency-Key') ?? undefined, REDIS_DEADLINE_MS),
    ownDeadline: true,
    needsStore: true,
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
  {
    method: 'post',
    path: '/runs/:id/retry',
    handler: (d, req) => retry(d, id(req)),
    prepare: (d, req) => prepareRetry(d, id(req)),
    needsStore: true,
  },
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
    needsStore: true,
  },
  {
    method: 'get',
    path: '/classifications',
    handler: (d, req) => listClassifications(d, req.query as Record<string, unknown>),
  },
  { method: 'get', path: '/classifications/:id', handler: (d, req) => getClassificationHandler(d, id(req)) },
  { method: 'post', path: '/schedules', handler: (d, req) => postSchedule(d, req.body) },
  { method: 'get', path: '/schedules', handler: (d) => getSchedules(d) },
  { method: 'delete', path: '/schedules/:id', handler: (d, req) => deleteSchedule(d, id(req)) },
  { method: 'post', path: '/schedules/:id/disable', handler: (d, req) => enableSchedule(d, id(req), false) },
  { method: 'post', path: '/schedules/:id/enable', handler: (d, req) => enableSchedule(d, id(req), true) },
  {
    method: 'post',
    path: '/models/aliases/:name/rollback',
    handler: (d, req) => postRollback(d, String(req.params.name)),
  },
  { method: 'post', path: '/webhooks', handler: (d, req) => createWebhook(d, req.body) },
  { method: 'get', path: '/webhooks', handler: (d) => listWebhooks(d) },
  { method: 'delete', path: '/webhooks/:id', handler: (d, req) => deleteWebhook(d, id(req)) },
  {
    method: 'get',
    path: '/webhooks/:id/deliveries',
    handler: (d, req) => webhookDeliveries(d, id(req), req.query as Record<string, unknown>),
  },
];

/**
 * Run a handler, answering 503 at once when the Redis connection is down and after
 * `REDIS_DEADLINE_MS` when Redis does not answer (or when it refuses writes, naming why): a client
 * learns in seconds that it should retry, instead of hanging.
 */
async function withRedis(
  deps: ApiDeps,
  work: () => Promise<HandlerResult>,
  race = true,
): Promise<HandlerResult> {
  const down = redisDown(deps);
  if (down !== null) return { status: 503, body: { error: down } };
  try {
    return await (race ? underDeadline(work) : work());
  } catch (err) {
    const problem = redisProblem(deps, err);
    if (problem !== null) return { status: 503, body: { error: problem } };
    throw err;
  }
}

/**
 * Run a handler that writes to the artifact store only while the store can be used (StoreHealthCheck):
 * otherwise 503 naming the store and why, before anything is read or written. A store lost since its last
 * check fails the handler (which rolls back what it wrote): 503 too, not 500.
 */
async function withStore(
  deps: ApiDeps,
  needsStore: boolean,
  work: () => Promise<HandlerResult>,
): Promise<HandlerResult> {
  if (!needsStore) return work();
  const problem = await deps.storeHealth.problem();
  if (problem !== null) return { status: 503, body: { error: problem } };
  try {
    return await work();
  } catch (err) {
    const lost = deps.storeHealth.failed(err);
    if (lost === null) throw err;
    return { status: 503, body: { error: lost } };
  }
}

/**
 * The express adapter: routes call framework-free handlers; one error handler answers JSON. Every response
 * carries the security headers; every request but `GET /healthz` must name a host the API answers to, and
 * state-changing ones must not come from another site's page (request-guard.ts). With `config.apiToken`
 * set, everything but `GET /healthz` needs the token: the API as Bearer, Bull Board as Bearer or Basic
 * (checked before any body is read); `config.boardReadOnly` makes the board read-only.
 */
export function createApp(
  runs: RunsContext,
  log: Logger,
  artifacts: ArtifactStore = runs.artifacts,
): express.Express {
  const deps: ApiDeps = {
    ...runs,
    registry: new ModelRegistry(runs),
    storeHealth: new StoreHealthCheck(runs.artifacts, runs.config.storage),
  };
  const app = express();
  app.disable('x-powered-by');
  const token = deps.config.apiToken;
  app.use(securityHeaders());
  // Before the Host check: container and orchestrator probes address the API by names no browser
  // uses, and the answer holds nothing but the uptime.
  app.get('/healthz', (_req, res) => {
    res.json({ ok: true, uptimeSeconds: Math.round(process.uptime()) });
  });
  app.use(hostGuard(deps.config), originGuard(deps.config));
  app.use(uiPageRouter()); // the page and its script hold no data: the script sends the token itself
  const board = createBoard(deps.queues, '/board', {
    readOnly: deps.config.boardReadOnly,
    errorAnswer: (err) => {
      const problem = redisProblem(deps, err);
      return problem === null ? null : { status: 503, body: { error: problem } };
    },
  });
  const boardApiDeadline = redisDeadline(deps);
  const boardStack = [
    contentSecurityPolicy(BOARD_CSP),
    jsonBody('100kb'),
    (req: Request, res: Response, next: NextFunction) =>
      /^\/api(\/|$)/i.test(req.path) ? boardApiDeadline(req, res, next) : next(),
    board,
  ];
  if (token !== null) {
    app.use('/board', requireBoardAuth(token), ...boardStack);
    app.use(requireBearer(token));
  } else app.use('/board', ...boardStack);
  // Behind the token guard when there is one; the timer includes reading the body.
  const metrics = createApiMetrics(deps);
  app.get('/metrics', metrics.handler);
  app.post('/classify', metrics.timeClassify);
  app.use(jsonBody('1mb'));
  for (const route of ROUTES) {
    app[route.method](route.path, (req: Request, res: Response, next: NextFunction) => {
      withStore(deps, route.needsStore === true, async () => {
        if (route.prepare) await route.prepare(deps, req);
        return withRedis(deps, () => route.handler(deps, req), !route.ownDeadline);
      }).then((r) => res.status(r.status).json(r.body), next);
    });
  }
  app.use(uiDataRouter(deps));
  app.use(reviewsRouter(deps));
  app.use(artifactsRouter(deps, artifacts));
  app.use(redisErrors(deps));
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
        'GET /runs/:id/artifacts',
        'GET /runs/:id/artifacts/:name',
        'GET /ui',
        'POST /runs/:id/retry',
        'POST /runs/:id/cancel',
        'DELETE /runs/:id',
        'GET /healthz',
        'GET /readyz',
        'GET /metrics',
        'GET /models',
        'PUT /models/aliases/:name',
        'POST /models/aliases/:name/rollback',
        'POST /schedules',
        'GET /schedules',
        'DELETE /schedules/:id',
        'POST /schedules/:id/disable',
        'POST /schedules/:id/enable',
        'POST /classify',
        'POST /classifications',
        'GET /classifications?limit=',
        'GET /classifications/:id',
        'GET /classifications/:id/artifacts',
        'GET /classifications/:id/artifacts/:name',
        'GET /classifications/:id/review?limit=',
        'POST /classifications/:id/review',
        'GET /reviews/export?classification=',
        'POST /webhooks',
        'GET /webhooks',
        'DELETE /webhooks/:id',
        'GET /webhooks/:id/deliveries?limit=',
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
