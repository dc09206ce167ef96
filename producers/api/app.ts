import express, { NextFunction, Request, Response } from 'express';
import { createBoard } from '../../board/board';
import { ApiDeps, HandlerResult, createRun, getRun, getRuns } from './handlers';
import { Logger } from '../../shared/logger';

interface Route {
  method: 'get' | 'post';
  path: string;
  handler: (deps: ApiDeps, req: Request) => Promise<HandlerResult>;
}

const ROUTES: Route[] = [
  { method: 'post', path: '/runs', handler: (deps, req) => createRun(deps, req.body) },
  { method: 'get', path: '/runs', handler: (deps, req) => getRuns(deps, req.query.limit) },
  { method: 'get', path: '/runs/:id', handler: (deps, req) => getRun(deps, String(req.params.id)) },
];

/** The express adapter: routes call framework-free handlers; one error handler answers JSON. */
export function createApp(deps: ApiDeps, log: Logger): express.Express {
  const app = express();
  app.use(express.json({ limit: '1mb' }));
  for (const route of ROUTES) {
    app[route.method](route.path, (req: Request, res: Response, next: NextFunction) => {
      route.handler(deps, req).then((r) => res.status(r.status).json(r.body), next);
    });
  }
  app.use('/board', createBoard(deps.queues, '/board'));
  app.get('/', (_req, res) => {
    res.json({
      service: 'ticketflow',
      endpoints: ['POST /runs', 'GET /runs', 'GET /runs/:id', 'GET /board'],
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
