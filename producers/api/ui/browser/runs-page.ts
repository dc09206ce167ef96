/**
 * The `/ui` page's script, served as `GET /ui/app.js`: no dependency, no CDN. It reads the API (`GET /runs`,
 * `/runs/:id`, `/runs/:id/timeline`, `/runs/:id/report?live=1`, `/runs/:id/artifacts`) with the token as
 * Bearer when the API asks for one (kept in sessionStorage, never in a URL), calls retry / cancel / delete,
 * and downloads artifacts (fetched with the token, handed to the browser as a blob). The Models,
 * Classifications and Schedules views are lifecycle-pages.ts (`/ui/lifecycle.js`, loaded first): its
 * `lifecycleViews` gets this script's fetch, download and timer, and the hashes it answers for.
 *
 * Type-checked against the DOM library alone (tsconfig.browser.json) and compiled on its own to one classic
 * script, which the API reads from dist/ at start-up. So this file has no `import` or `export` (either would
 * make its output a module that does not run as a plain script); what it needs from the server comes
 * through the page: the state colours are `#chart`'s `data-state-colours`.
 */

/** A run as `GET /runs` lists it: the fields the list and the chart show. */
interface RunRow {
  id: string;
  state: string;
  dataset: string;
  createdAt: string;
  durationSeconds: number | null;
  testAccuracy: number | null;
}

/** `GET /runs/:id`: the fields the run's header shows. */
interface RunHead {
  state: string;
  createdAt: string;
  durationSeconds: number | null;
  progress: number;
}

/** `GET /runs/:id/artifacts`: one row of the artifacts table. */
interface ArtifactRow {
  name: string;
  size: number;
  sha256: string;
  stage: string | null;
}

/** `GET /runs/:id/timeline`: the fields the summary line counts. */
interface RunTimeline {
  entries: { queue: string }[];
  cached: { stage: string }[];
}

(() => {
  const FINAL = new Set(['completed', 'failed', 'cancelled']);
  const TOKEN_KEY = 'ticketflow-api-token';
  const UNKNOWN_COLOUR = '#616161';
  let timer: number | null = null;
  let view: object | null = null;
  let lastFragment = '';

  function $(id: string): HTMLElement;
  function $<T extends HTMLElement>(id: string, type: { new (): T }): T;
  function $(id: string, type: { new (): HTMLElement } = HTMLElement): HTMLElement {
    const e = document.getElementById(id);
    if (!(e instanceof type)) throw new Error(`the page has no ${type.name} #${id}`);
    return e;
  }
  function el(
    tag: string,
    attrs: Record<string, string> = {},
    children: (Node | string)[] = [],
  ): HTMLElement {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === 'text') e.textContent = v;
      else if (k === 'class') e.className = v;
      else e.setAttribute(k, v);
    }
    for (const c of children) e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    return e;
  }
  function svgEl(tag: string, attrs: Record<string, string | number> = {}): SVGElement {
    const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    return e;
  }
  function message(text?: string): void {
    $('message').textContent = text || '';
  }
  function token(): string | null {
    try {
      return sessionStorage.getItem(TOKEN_KEY);
    } catch {
      return null;
    }
  }

  /** The server's one table of state colours, which the page carries as data. */
  const STATE_COLOURS = ((): Record<string, string> => {
    const json = $('chart').dataset.stateColours;
    if (json === undefined) throw new Error('the page has no #chart[data-state-colours]');
    return JSON.parse(json);
  })();
  const colourOf = (state: string): string =>
    (Object.prototype.hasOwnProperty.call(STATE_COLOURS, state) && STATE_COLOURS[state]) || UNKNOWN_COLOUR;

  /** Thrown when the API answered 401: the token form is up, so there is nothing else to say. */
  class NeedToken extends Error {}

  async function api<T>(
    method: string,
    path: string,
    accept = 'application/json',
    send?: unknown,
  ): Promise<T> {
    const headers: Record<string, string> = { accept };
    const t = token();
    if (t) headers.authorization = 'Bearer ' + t;
    if (send !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(path, {
      method,
      headers,
      cache: 'no-store',
      ...(send !== undefined ? { body: JSON.stringify(send) } : {}),
    });
    if (res.status === 401) {
      askToken();
      throw new NeedToken();
    }
    const isJson = (res.headers.get('content-type') || '').indexOf('json') >= 0;
    const body: unknown = await (isJson ? res.json() : res.text());
    if (!res.ok) {
      const error =
        typeof body === 'object' && body !== null ? (body as { error?: unknown }).error : undefined;
      throw new Error(typeof error === 'string' && error ? error : 'HTTP ' + res.status);
    }
    return body as T;
  }
  /** An artifact fetched with the token and saved by the browser under its own name. */
  async function download(path: string, name: string): Promise<void> {
    const headers: Record<string, string> = {};
    const t = token();
    if (t) headers.authorization = 'Bearer ' + t;
    const res = await fetch(path, { headers, cache: 'no-store' });
    if (res.status === 401) {
      askToken();
      throw new NeedToken();
    }
    if (!res.ok) throw new Error(name + ': HTTP ' + res.status);
    const url = URL.createObjectURL(await res.blob());
    const a = el('a', { href: url, download: name.slice(name.lastIndexOf('/') + 1) });
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }
  function failed(err: unknown): void {
    if (err instanceof NeedToken) return;
    message(err instanceof Error ? err.message || String(err) : String(err));
  }
  /** Hides every view (the runs list, a run, the lifecycle pages). */
  function hideViews(): void {
    for (const section of Array.from(document.querySelectorAll<HTMLElement>('main > section')))
      section.hidden = true;
  }
  function askToken(): void {
    stop();
    $('token-form').hidden = false;
    hideViews();
    $('token').focus();
  }
  $('token-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const input = $('token', HTMLInputElement);
    try {
      sessionStorage.setItem(TOKEN_KEY, input.value.trim());
    } catch {
      /* private mode: the token lasts until the page reloads */
    }
    input.value = '';
    $('token-form').hidden = true;
    route();
  });
  $('forget-token').addEventListener('click', (ev) => {
    ev.preventDefault();
    try {
      sessionStorage.removeItem(TOKEN_KEY);
    } catch {
      /* private mode: nothing was kept */
    }
    route();
  });

  function stop(): void {
    if (timer !== null) {
      clearTimeout(timer);
      timer = null;
    }
  }
  /** Runs `fn` now and every `ms` after it settles while this view is shown, until it resolves `false`. */
  function every(ms: number, fn: () => Promise<boolean | void>): void {
    stop();
    const mine = {};
    view = mine;
    const tick = (): void => {
      fn().then(
        (again) => {
          if (view === mine && again !== false) timer = window.setTimeout(tick, ms);
        },
        (err: unknown) => {
          failed(err);
          if (view === mine && !(err instanceof NeedToken)) timer = window.setTimeout(tick, ms);
        },
      );
    };
    tick();
  }

  function fmtSeconds(s: number | null | undefined): string {
    if (s === null || s === undefined || !isFinite(s)) return '–';
    if (s < 60) return s.toFixed(s < 10 ? 2 : 1) + ' s';
    const m = Math.floor(s / 60);
    return m + ' min ' + Math.round(s - m * 60) + ' s';
  }
  const fmtTime = (iso: string | null | undefined): string => (iso ? new Date(iso).toLocaleString() : '–');
  const badge = (state: string): HTMLElement =>
    el('span', { class: 'badge state-' + state, 'data-testid': 'state', text: state });
  function duration(r: { durationSeconds: number | null; createdAt: string }, now: number): number {
    if (r.durationSeconds !== null && r.durationSeconds !== undefined) return r.durationSeconds;
    return (now - Date.parse(r.createdAt)) / 1000;
  }
  /** The run id in `#/runs/<id>` as it stands in the address (still URI-encoded), or null. */
  function hashRunId(): string | null {
    const m = /^#\/runs\/([^/]+)/.exec(location.hash);
    return m?.[1] ?? null;
  }
  const openRun = (id: string): void => {
    location.hash = '#/runs/' + encodeURIComponent(id);
  };

  // ---- the list and the chart of runs over time ----
  function drawChart(runs: RunRow[]): void {
    const box = $('chart');
    box.textContent = '';
    const W = 1068,
      H = 220,
      L = 56,
      R = 16,
      T = 10,
      B = 28;
    const svg = svgEl('svg', {
      width: W,
      height: H,
      viewBox: '0 0 ' + W + ' ' + H,
      role: 'img',
      'aria-label': 'runs over time',
    });
    box.appendChild(svg);
    if (runs.length === 0) {
      const t = svgEl('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle' });
      t.textContent = 'no runs yet';
      svg.appendChild(t);
      return;
    }
    const now = Date.now();
    const points = runs.map((r) => ({ r, x: Date.parse(r.createdAt), y: duration(r, now) }));
    const xs = points.map((p) => p.x);
    let x0 = Math.min(...xs),
      x1 = Math.max(...xs);
    const pad = Math.max(5000, (x1 - x0) * 0.05);
    x0 -= pad;
    x1 += pad;
    const yMax = Math.max(1, ...points.map((p) => p.y)) * 1.15;
    const X = (ms: number): number => L + ((ms - x0) / (x1 - x0)) * (W - L - R);
    const Y = (s: number): number => H - B - (s / yMax) * (H - T - B);
    const steps = [0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200];
    const yStep = steps.filter((s) => yMax / s <= 5)[0] ?? 3600 * Math.ceil(yMax / 18000);
    for (let v = 0; v <= yMax; v += yStep) {
      svg.appendChild(svgEl('line', { x1: L, x2: W - R, y1: Y(v), y2: Y(v), stroke: '#eaeef2' }));
      const lt = svgEl('text', { x: L - 6, y: Y(v) + 4, 'text-anchor': 'end' });
      lt.textContent = fmtSeconds(v);
      svg.appendChild(lt);
    }
    const xsteps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 43200, 86400, 604800];
    const span = (x1 - x0) / 1000;
    const xStep = (xsteps.filter((s) => span / s <= 8)[0] ?? 2592000) * 1000;
    for (let tx = Math.ceil(x0 / xStep) * xStep; tx <= x1; tx += xStep) {
      svg.appendChild(svgEl('line', { x1: X(tx), x2: X(tx), y1: T, y2: H - B, stroke: '#f3f4f6' }));
      const xt = svgEl('text', { x: X(tx), y: H - 8, 'text-anchor': 'middle' });
      const d = new Date(tx);
      xt.textContent =
        span > 86400
          ? d.toLocaleDateString() + ' ' + d.toLocaleTimeString().slice(0, 5)
          : d.toLocaleTimeString();
      svg.appendChild(xt);
    }
    svg.appendChild(svgEl('line', { x1: L, x2: W - R, y1: H - B, y2: H - B, stroke: '#8c959f' }));
    for (const { r, x, y } of points) {
      const colour = colourOf(r.state);
      const g = svgEl('g', { class: 'dot', 'data-run-id': r.id, 'data-state': r.state });
      g.appendChild(
        svgEl('line', {
          x1: X(x),
          x2: X(x),
          y1: H - B,
          y2: Y(y),
          stroke: colour,
          'stroke-width': 3,
          'stroke-opacity': 0.35,
        }),
      );
      g.appendChild(
        svgEl('circle', { cx: X(x), cy: Y(y), r: 6, fill: colour, stroke: '#fff', 'stroke-width': 1.5 }),
      );
      const title = svgEl('title');
      title.textContent = r.id + ' · ' + r.state + ' · ' + r.dataset + ' · ' + fmtSeconds(y);
      g.appendChild(title);
      g.addEventListener('click', () => openRun(r.id));
      svg.appendChild(g);
    }
  }

  function drawList(runs: RunRow[]): void {
    const body = $('runs-body');
    body.textContent = '';
    const now = Date.now();
    for (const r of runs) {
      const accuracy =
        r.testAccuracy === null || r.testAccuracy === undefined
          ? '–'
          : (r.testAccuracy * 100).toFixed(1) + ' %';
      const tr = el('tr', { class: 'run-row', 'data-run-id': r.id, 'data-state': r.state }, [
        el('td', {}, [badge(r.state)]),
        el('td', {}, [el('a', { href: '#/runs/' + encodeURIComponent(r.id), text: r.id })]),
        el('td', { text: r.dataset }),
        el('td', { text: fmtTime(r.createdAt) }),
        el('td', { class: 'num', text: fmtSeconds(duration(r, now)) + (FINAL.has(r.state) ? '' : ' …') }),
        el('td', { class: 'num', text: accuracy }),
      ]);
      tr.addEventListener('click', (ev) => {
        // The run's link changes the hash itself.
        if (!(ev.target instanceof Element && ev.target.tagName === 'A')) openRun(r.id);
      });
      body.appendChild(tr);
    }
    $('count').textContent = runs.length + ' run(s)';
  }

  function showList(): void {
    $('list-view').hidden = false;
    $('run-view').hidden = true;
    $('live').textContent = '';
    every(2000, async () => {
      const state = $('state-filter', HTMLSelectElement).value;
      const page = await api<{ runs: RunRow[] }>(
        'GET',
        '/runs?limit=200' + (state ? '&state=' + encodeURIComponent(state) : ''),
      );
      message('');
      drawChart(page.runs);
      drawList(page.runs);
    });
  }
  $('state-filter').addEventListener('change', () => showList());

  // ---- one run, live ----
  function setButtons(r: RunHead): void {
    $('btn-retry', HTMLButtonElement).disabled = !(r.state === 'failed' || r.state === 'cancelled');
    $('btn-cancel', HTMLButtonElement).disabled = !(r.state === 'waiting' || r.state === 'active');
    $('btn-delete', HTMLButtonElement).disabled = !FINAL.has(r.state);
  }

  /** The run's artifacts, each a download link; none (yet) when the run has no objects. */
  function drawArtifacts(base: string, artifacts: ArtifactRow[]): void {
    const body = $('artifacts-body');
    body.textContent = '';
    if (artifacts.length === 0)
      body.appendChild(el('tr', {}, [el('td', { colspan: '4', class: 'muted', text: 'none yet' })]));
    for (const a of artifacts) {
      // Each segment encoded: a nested name (search/cv-1-0.json) keeps its "/" as a path separator.
      const href = base + '/artifacts/' + a.name.split('/').map(encodeURIComponent).join('/');
      const link = el('a', { href, text: a.name, 'data-artifact': a.name });
      link.addEventListener('click', (ev) => {
        ev.preventDefault();
        download(href, a.name).catch(failed);
      });
      body.appendChild(
        el('tr', { 'data-artifact': a.name }, [
          el('td', {}, [link]),
          el('td', { text: a.stage ?? '' }),
          el('td', { class: 'num', text: String(a.size) }),
          el('td', {}, [el('code', { class: 'sha', title: a.sha256, text: a.sha256.slice(0, 16) })]),
        ]),
      );
    }
  }

  function showRun(id: string): void {
    $('list-view').hidden = true;
    $('run-view').hidden = false;
    $('report').textContent = '';
    $('run-state').textContent = '';
    $('artifacts-body').textContent = '';
    lastFragment = '';
    let listedAt = '';
    const base = '/runs/' + encodeURIComponent(id);
    every(1000, async () => {
      const [r, tl, fragment] = await Promise.all([
        api<RunHead>('GET', base),
        api<RunTimeline>('GET', base + '/timeline'),
        api<string>('GET', base + '/report?live=1', 'text/html'),
      ]);
      message('');
      const runState = $('run-state');
      runState.textContent = '';
      runState.appendChild(badge(r.state));
      runState.setAttribute('data-state', r.state);
      $('run-progress').style.width = r.progress + '%';
      $('run-progress-text').textContent = r.progress + ' % · ' + fmtSeconds(duration(r, Date.now()));
      // By queue: chunk jobs apart from their text-processing parent.
      const stages: Record<string, number> = {};
      for (const e of tl.entries) stages[e.queue] = (stages[e.queue] ?? 0) + 1;
      $('timeline-summary').textContent =
        tl.entries.length +
        ' job attempt(s): ' +
        Object.entries(stages)
          .map(([s, n]) => s + ' ' + n)
          .join(', ') +
        (tl.cached.length ? ' · cached: ' + tl.cached.map((c) => c.stage).join(', ') : '');
      setButtons(r);
      if (fragment !== lastFragment) {
        lastFragment = fragment;
        // The API's own rendering of the run (every value escaped there), under the page's CSP.
        $('report').innerHTML = fragment;
      }
      const live = !FINAL.has(r.state);
      $('live').textContent = live ? '● live' : '';
      // Listed again only when the run's state changes (a listing stats and may hash every object), and
      // apart from the tick: the header never waits for it.
      if (r.state !== listedAt) {
        listedAt = r.state;
        api<{ artifacts: ArtifactRow[] }>('GET', base + '/artifacts').then(
          (listing) => drawArtifacts(base, listing.artifacts),
          (err: unknown) => (err instanceof NeedToken ? undefined : drawArtifacts(base, [])),
        );
      }
      return live;
    });
  }

  function act(method: 'POST' | 'DELETE', suffix: string, confirmText?: string): void {
    const raw = hashRunId();
    if (raw === null) return;
    const id = decodeURIComponent(raw);
    if (confirmText && !window.confirm(confirmText)) return;
    api(method, '/runs/' + encodeURIComponent(id) + suffix).then(() => {
      if (method === 'DELETE') location.hash = '#/';
      else showRun(id);
    }, failed);
  }
  $('btn-retry').addEventListener('click', () => act('POST', '/retry'));
  $('btn-cancel').addEventListener('click', () =>
    act('POST', '/cancel', 'Cancel this run? Every job stops.'),
  );
  $('btn-delete').addEventListener('click', () =>
    act('DELETE', '', 'Delete this run, its jobs and artifacts?'),
  );
  $('report-link').addEventListener('click', (ev) => {
    ev.preventDefault();
    const raw = hashRunId();
    if (raw === null) return;
    api<string>('GET', '/runs/' + raw + '/report', 'text/html').then((html) => {
      const url = URL.createObjectURL(new Blob([html], { type: 'text/html' }));
      window.open(url, '_blank', 'noopener');
    }, failed);
  });

  const showLifecycle = lifecycleViews({
    api,
    download,
    el,
    message,
    failed,
    every,
    badge,
    fmtTime,
    isNeedToken: (err) => err instanceof NeedToken,
  });

  function route(): void {
    message('');
    $('forget-token').hidden = !token();
    for (const a of Array.from(document.querySelectorAll<HTMLAnchorElement>('nav.views a'))) {
      const href = a.getAttribute('href') ?? '';
      const here = href === '#/' ? /^#?\/?(runs\/.*)?$/.test(location.hash) : location.hash.startsWith(href);
      a.classList.toggle('here', here);
    }
    hideViews();
    if (showLifecycle(location.hash)) {
      $('live').textContent = '';
      return;
    }
    const raw = hashRunId();
    if (raw !== null) showRun(decodeURIComponent(raw));
    else showList();
  }
  window.addEventListener('hashchange', route);
  route();
})();
