/**
 * The run pages: `GET /ui` (a page and its script, no data in them: served without the token; the script
 * asks for the token and sends it as Bearer), `GET /runs/:id/report` (the run's report.html, or with
 * `?live=1` the report's sections rendered now, for the page) and `GET /runs/:id/timeline` (JSON).
 */
import fs from 'node:fs';
import path from 'node:path';
import express, { NextFunction, Request, Response, Router } from 'express';
import { RUN_ID_PATTERN } from '../../../shared/core/storage';
import {
  gatherRunReport,
  readStoredReport,
  reportKey,
  renderRunReport,
  renderRunReportFragment,
} from '../../../shared/runtime/report/run-report';
import { RunsContext } from '../../../shared/runtime/runs/context';
import { isFinal } from '../../../shared/runtime/runs/record';
import { readRun } from '../../../shared/runtime/runs/sync';
import { runTimeline } from '../../../shared/runtime/runs/timeline';
import { UI_HTML } from './page';
import { REPORT_CSP, UI_CSP } from '../security-headers';
import { redisDeadline } from '../redis-deadline';
import { logLost } from '../../../shared/core/logger';

/** The page's script, compiled from browser/runs-page.ts by `npm run build` (tsconfig.browser.json). */
export const UI_SCRIPT_FILE = path.join(__dirname, 'browser', 'runs-page.js');

/** The lifecycle views' script (models, classifications, schedules), loaded before the page script. */
export const LIFECYCLE_SCRIPT_FILE = path.join(__dirname, 'browser', 'lifecycle-pages.js');

/** The compiled page script's text; an error naming the file and the build when it is missing. */
export function readUiScript(file: string = UI_SCRIPT_FILE): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    const cause = err instanceof Error ? err.message : String(err);
    throw new Error(`the /ui page script ${file} cannot be read (${cause}): build it with npm run build`);
  }
}

/**
 * The page and its script: mounted before the token guard (they hold no data). The script is read here,
 * when the app is made, so a build without it stops the API at start-up rather than at a browser.
 */
export function uiPageRouter(
  scriptFile: string = UI_SCRIPT_FILE,
  lifecycleFile: string = LIFECYCLE_SCRIPT_FILE,
): Router {
  const script = readUiScript(scriptFile);
  const lifecycle = readUiScript(lifecycleFile);
  const router = express.Router();
  router.get(['/ui', '/ui/'], (_req, res) => {
    res.set('Content-Security-Policy', UI_CSP).set('Cache-Control', 'no-cache').type('html').send(UI_HTML);
  });
  router.get('/ui/app.js', (_req, res) => {
    res.set('Cache-Control', 'no-cache').type('application/javascript').send(script);
  });
  router.get('/ui/lifecycle.js', (_req, res) => {
    res.set('Cache-Control', 'no-cache').type('application/javascript').send(lifecycle);
  });
  return router;
}

type Handler = (ctx: RunsContext, req: Request, res: Response) => Promise<void>;

/** A route that reads Redis: 503 when it is down or does not answer in time (redis-deadline.ts). */
function route(ctx: RunsContext, handler: Handler) {
  return [
    redisDeadline(ctx),
    (req: Request, res: Response, next: NextFunction) => void handler(ctx, req, res).catch(next),
  ];
}

const notFound = (res: Response, id: string) =>
  res.status(404).json({ error: `no run with id ${JSON.stringify(id)}` });

async function report(ctx: RunsContext, req: Request, res: Response): Promise<void> {
  const id = String(req.params.id);
  if (!RUN_ID_PATTERN.test(id)) return void notFound(res, id);
  const live = req.query.live === '1';
  if (live) {
    const record = await readRun(ctx, id);
    if (!record) return void notFound(res, id);
    const html = renderRunReportFragment(record, await gatherRunReport(ctx, record));
    res.set('Content-Security-Policy', REPORT_CSP).set('Cache-Control', 'no-store').type('html').send(html);
    return;
  }
  let html = await readStoredReport(ctx.artifacts, id).catch(() => null);
  if (html === null) {
    const record = await readRun(ctx, id);
    if (!record) return void notFound(res, id);
    if (!isFinal(record.state)) {
      res.status(404).json({
        error: `run ${id} is ${record.state}: its report is written when it ends (the page /ui follows it live)`,
      });
      return;
    }
    // A final run whose report was never written (or was removed): render it now, and keep it.
    html = renderRunReport(record, await gatherRunReport(ctx, record));
    await ctx.artifacts
      .put(reportKey(id), html)
      .catch(logLost(`caching the report ${reportKey(id)} in ${ctx.artifacts.url}`));
  }
  res.set('Content-Security-Policy', REPORT_CSP).set('Cache-Control', 'no-cache').type('html').send(html);
}

async function timeline(ctx: RunsContext, req: Request, res: Response): Promise<void> {
  const id = String(req.params.id);
  if (!RUN_ID_PATTERN.test(id)) return void notFound(res, id);
  const record = await readRun(ctx, id);
  if (!record) return void notFound(res, id);
  const entries = await runTimeline(ctx, record);
  res.set('Cache-Control', 'no-store').json({
    id,
    state: record.state,
    generation: record.generation,
    entries,
    cached: record.stages.filter((s) => s.cached).map((s) => ({ stage: s.stage, cachedFrom: s.cachedFrom })),
  });
}

/** `GET /runs/:id/report` and `GET /runs/:id/timeline`: mounted behind the token guard. */
export function uiDataRouter(ctx: RunsContext): Router {
  const router = express.Router();
  router.get('/runs/:id/report', route(ctx, report));
  router.get('/runs/:id/timeline', route(ctx, timeline));
  return router;
}
