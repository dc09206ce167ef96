/**
 * The `/ui` page's model lifecycle views, served as `GET /ui/lifecycle.js` and loaded before `/ui/app.js`:
 * Models (`#/models`: versions, gate decisions, aliases with their history, promote and rollback),
 * Classifications (`#/classifications`, and one at `#/classifications/<id>`: counts, abstention, drift, the
 * review queue, predictions.csv) and Schedules (`#/schedules`: next tick, last runs, skipped ticks, enable
 * and disable). Everything comes from the API through the kit runs-page.ts hands over (its token-carrying
 * fetch, its timer), and every value reaches the DOM as text.
 *
 * A classic script like runs-page.ts (no import or export): its one global, `lifecycleViews`, is called by
 * runs-page.ts, which type-checks against this file's declarations (both are in tsconfig.browser.json).
 */

/** What runs-page.ts lends the lifecycle views. */
interface UiKit {
  api<T>(method: string, path: string, accept?: string, body?: unknown): Promise<T>;
  /** a file fetched with the token and saved by the browser */
  download(path: string, name: string): Promise<void>;
  el(tag: string, attrs?: Record<string, string>, children?: (Node | string)[]): HTMLElement;
  message(text?: string): void;
  /** shows an error (nothing when the token form is up) */
  failed(err: unknown): void;
  /** runs `fn` now and every `ms` after it settles while the view is shown, until it resolves false */
  every(ms: number, fn: () => Promise<boolean | void>): void;
  badge(state: string): HTMLElement;
  fmtTime(iso: string | null | undefined): string;
  isNeedToken(err: unknown): boolean;
}

/** `GET /models`. */
interface ModelsAnswer {
  models: {
    run: string;
    createdAt: string;
    dataset: string;
    testAccuracy: number | null;
    testF1: number | null;
    aliases: string[];
    gate: GateDecision | null;
  }[];
  aliases: Record<string, { run: string; dangling: boolean; problem?: string }>;
  aliasHistory: Record<string, { run: string; previous: string | null; how: string; at: string }[]>;
}

interface GateDecision {
  promoted: boolean;
  alias: string;
  metric: string;
  challenger: number | null;
  champion: number | null;
  championRun: string | null;
  minDelta: number;
  floor: number | null;
  reason: string;
  tickets: number;
  at: string;
}

/** `GET /classifications` rows. */
interface ClassificationRow {
  id: string;
  model: string;
  dataset: string;
  state: string;
  progress: number;
  createdAt: string;
  tickets: number | null;
  abstentionRate: number | null;
}

/** `GET /classifications/:id`. */
interface ClassificationStatus {
  id: string;
  state: string;
  progress: number;
  dataset: string;
  model: string;
  threshold: number;
  createdAt: string;
  finishedAt: string | null;
  chunks: { total: number; completed: number; failed: number } | null;
  summary: {
    tickets: number;
    counts: Record<string, number>;
    abstained: number;
    abstentionRate: number;
    drift: {
      outOfVocabularyShare: number;
      predictedMix: Record<string, number>;
      trainingMix: Record<string, number>;
    };
  } | null;
  error: string | null;
}

/** `GET /classifications/:id/review`. */
interface ReviewQueue {
  abstained: number;
  reviewed: number;
  tickets: {
    ticketId: string;
    text: string;
    confidence: number;
    top: { label: string; p: number }[];
    reviewed?: string;
  }[];
}

/** `GET /schedules` entries. */
interface ScheduleRow {
  id: string;
  cron?: string;
  everySeconds?: number;
  dataset: string;
  promote?: { alias: string; metric: string; minDelta: number; floor?: number };
  enabled: boolean;
  nextTick: string | null;
  runs: { tick: string; dueAt: string; run?: string; state: string | null }[];
  skipped: { tick: string; dueAt: string; skipped?: string }[];
}

/** Review-queue tickets the classification page shows. */
const REVIEW_PAGE = 20;

/**
 * The lifecycle views: returns the router runs-page.ts calls on every hash change, which shows the view
 * the hash names and answers true, or answers false for a hash of the runs views.
 */
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- called by runs-page.ts, another classic script
function lifecycleViews(kit: UiKit): (hash: string) => boolean {
  const { el } = kit;
  const FINAL = new Set(['completed', 'failed']);

  function section(): HTMLElement {
    const e = document.getElementById('lifecycle-view');
    if (!e) throw new Error('the page has no #lifecycle-view');
    e.hidden = false;
    return e;
  }
  /** Replaces the view's content, keeping nothing of the previous view. */
  function fill(children: Node[]): void {
    const box = section();
    box.textContent = '';
    for (const c of children) box.appendChild(c);
  }
  const pct = (x: number | null | undefined, digits = 1): string =>
    x === null || x === undefined || !isFinite(x) ? '–' : (x * 100).toFixed(digits) + ' %';
  const score = (x: number | null | undefined): string =>
    x === null || x === undefined || !isFinite(x) ? '–' : x.toFixed(4);
  const runLink = (run: string): HTMLElement =>
    el('a', { href: '#/runs/' + encodeURIComponent(run), text: run });
  const table = (testid: string, head: string[], rows: HTMLElement[], empty: string): HTMLElement => {
    const body = el('tbody', {}, rows);
    if (rows.length === 0)
      body.appendChild(
        el('tr', {}, [el('td', { colspan: String(head.length), class: 'muted', text: empty })]),
      );
    return el('table', { class: 'runs', 'data-testid': testid }, [
      el('thead', {}, [
        el(
          'tr',
          {},
          head.map((h) => el('th', { text: h })),
        ),
      ]),
      body,
    ]);
  };
  const cell = (text: string, cls = ''): HTMLElement => el('td', cls ? { class: cls, text } : { text });
  const button = (text: string, attrs: Record<string, string>, onClick: () => void): HTMLElement => {
    const b = el('button', { type: 'button', ...attrs, text });
    b.addEventListener('click', onClick);
    return b;
  };

  // ---- models ----
  /** The gate's verdict, both scores against the bar, and its reason, one line each. */
  function gateCell(g: GateDecision): HTMLElement {
    const bar = 'min Δ ' + g.minDelta + (g.floor !== null ? ', floor ' + g.floor : '');
    return el(
      'td',
      {
        class: g.promoted ? 'gate promoted' : 'gate held',
        'data-testid': 'gate',
        'data-promoted': String(g.promoted),
        title: 'decided ' + kit.fmtTime(g.at) + ' on ' + g.tickets + ' test tickets',
      },
      [
        el('strong', {
          'data-testid': 'verdict',
          text: (g.promoted ? 'promoted to ' : 'not promoted to ') + g.alias,
        }),
        el('div', {
          text: g.metric + ' ' + score(g.challenger) + ' vs champion ' + score(g.champion) + ' (' + bar + ')',
        }),
        el('div', { class: 'muted', 'data-testid': 'reason', text: g.reason }),
      ],
    );
  }

  function drawModels(m: ModelsAnswer, reload: () => void): void {
    const versions = m.models.map((v) => {
      const alias = el('input', {
        value: 'production',
        size: '10',
        'aria-label': 'alias',
        'data-testid': 'promote-alias',
      }) as HTMLInputElement;
      const promote = button('promote to alias', { 'data-testid': 'promote' }, () => {
        const name = alias.value.trim();
        if (!name) return kit.message('name the alias to promote ' + v.run + ' to');
        kit
          .api('PUT', '/models/aliases/' + encodeURIComponent(name), undefined, { run: v.run })
          .then(reload, kit.failed);
      });
      const gate = v.gate ? gateCell(v.gate) : cell('–', 'muted');
      return el('tr', { 'data-run-id': v.run }, [
        el('td', {}, [runLink(v.run)]),
        cell(kit.fmtTime(v.createdAt)),
        cell(v.dataset),
        el('td', { class: 'num', 'data-testid': 'accuracy', text: pct(v.testAccuracy) }),
        el('td', { class: 'num', 'data-testid': 'f1', text: pct(v.testF1) }),
        el(
          'td',
          { 'data-testid': 'aliases' },
          v.aliases.map((a) => el('span', { class: 'tag', text: a })),
        ),
        gate,
        el('td', { class: 'nowrap' }, [alias, promote]),
      ]);
    });
    const aliases = Object.keys(m.aliases)
      .sort()
      .map((name) => {
        const a = m.aliases[name]!;
        const history = (m.aliasHistory[name] ?? []).map((h) =>
          el('tr', { 'data-how': h.how }, [
            cell(kit.fmtTime(h.at)),
            el('td', {}, [runLink(h.run)]),
            el('td', {}, h.previous ? [runLink(h.previous)] : ['–']),
            el('td', { class: 'how-' + h.how, text: h.how }),
          ]),
        );
        const rollback = button('rollback', { class: 'danger', 'data-testid': 'rollback' }, () => {
          if (!window.confirm('Roll alias ' + name + ' back to the run it named before its last move?'))
            return;
          kit
            .api('POST', '/models/aliases/' + encodeURIComponent(name) + '/rollback')
            .then(reload, kit.failed);
        });
        return el('div', { class: 'alias', 'data-alias': name, 'data-run-id': a.run }, [
          el('h3', {}, [
            el('span', { class: 'tag', text: name }),
            ' → ',
            runLink(a.run),
            a.dangling ? el('span', { class: 'warn', text: ' dangling: ' + (a.problem ?? '') }) : '',
            ' ',
            rollback,
          ]),
          table('alias-history', ['moved', 'run', 'previous', 'how'], history, 'no recorded moves'),
        ]);
      });
    fill([
      el('h2', { text: 'Model versions' }),
      el('p', { class: 'muted', text: 'Every completed run is a version, newest first.' }),
      table(
        'versions',
        ['run', 'created', 'dataset', 'test accuracy', 'test F1', 'aliases', 'promotion gate', ''],
        versions,
        'no completed run yet',
      ),
      el('h2', { text: 'Aliases' }),
      ...(aliases.length ? aliases : [el('p', { class: 'muted', text: 'no alias yet' })]),
    ]);
  }

  function showModels(): void {
    const load = (): void =>
      kit.every(0, async () => {
        drawModels(await kit.api<ModelsAnswer>('GET', '/models'), load);
        kit.message('');
        return false;
      });
    load();
  }

  // ---- classifications ----
  function showClassifications(): void {
    kit.every(3000, async () => {
      const page = await kit.api<{ classifications: ClassificationRow[] }>(
        'GET',
        '/classifications?limit=100',
      );
      kit.message('');
      const rows = page.classifications.map((c) =>
        el('tr', { 'data-classification-id': c.id, 'data-state': c.state }, [
          el('td', {}, [kit.badge(c.state)]),
          el('td', {}, [el('a', { href: '#/classifications/' + encodeURIComponent(c.id), text: c.id })]),
          el('td', {}, [runLink(c.model)]),
          cell(c.dataset),
          cell(kit.fmtTime(c.createdAt)),
          cell(c.progress + ' %', 'num'),
          cell(c.tickets === null ? '–' : String(c.tickets), 'num'),
          el('td', { class: 'num', 'data-testid': 'abstention', text: pct(c.abstentionRate) }),
        ]),
      );
      fill([
        el('h2', { text: 'Batch classifications' }),
        table(
          'classifications',
          ['state', 'classification', 'model', 'dataset', 'created', 'progress', 'tickets', 'abstained'],
          rows,
          'no classification yet (POST /classifications)',
        ),
      ]);
    });
  }

  function drawClassification(id: string, c: ClassificationStatus, review: ReviewQueue | null): void {
    const base = '/classifications/' + encodeURIComponent(id);
    const head = el('div', { class: 'actions' }, [
      el('span', { 'data-testid': 'classification-state', 'data-state': c.state }, [kit.badge(c.state)]),
      el('span', { class: 'progress' }, [el('i', { style: 'width:' + c.progress + '%' })]),
      el('span', { class: 'muted', text: c.progress + ' %' }),
    ]);
    if (c.state === 'completed') {
      head.appendChild(
        button('download predictions.csv', { 'data-testid': 'download-predictions' }, () => {
          kit.download(base + '/artifacts/predictions.csv', 'predictions.csv').catch(kit.failed);
        }),
      );
    }
    const facts = el('dl', { class: 'facts' });
    const fact = (k: string, v: Node | string): void => {
      facts.appendChild(el('dt', { text: k }));
      facts.appendChild(el('dd', {}, [v]));
    };
    fact('model', runLink(c.model));
    fact('dataset', c.dataset);
    fact('threshold', c.threshold.toFixed(3));
    fact('created', kit.fmtTime(c.createdAt));
    fact('finished', kit.fmtTime(c.finishedAt));
    if (c.chunks) fact('chunks', c.chunks.completed + ' of ' + c.chunks.total + ' done');
    const parts: Node[] = [
      el('p', {}, [el('a', { href: '#/classifications', text: '← all classifications' })]),
      el('h2', { text: id }),
      head,
      facts,
    ];
    if (c.error) parts.push(el('p', { class: 'warn', text: c.error }));
    const s = c.summary;
    if (s) {
      parts.push(
        el('p', { 'data-testid': 'abstention-rate' }, [
          el('strong', { text: 'Abstention rate ' + pct(s.abstentionRate) }),
          ' (' + s.abstained + ' of ' + s.tickets + ' tickets answered needs_review)',
        ]),
      );
      const counts = Object.keys(s.counts).map((label) =>
        el('tr', { 'data-label': label }, [
          cell(label),
          cell(String(s.counts[label]), 'num'),
          cell(pct(s.tickets ? s.counts[label]! / s.tickets : 0), 'num'),
        ]),
      );
      parts.push(
        el('h2', { text: 'Tickets per label' }),
        table('counts', ['label', 'tickets', 'share'], counts, ''),
      );
      const d = s.drift;
      const drift = Object.keys(d.trainingMix).map((label) => {
        const train = d.trainingMix[label] ?? 0;
        const seen = d.predictedMix[label] ?? 0;
        const delta = seen - train;
        return el('tr', { 'data-label': label }, [
          cell(label),
          cell(pct(train), 'num'),
          cell(pct(seen), 'num'),
          cell(
            (delta >= 0 ? '+' : '') + (delta * 100).toFixed(1) + ' pt',
            Math.abs(delta) >= 0.1 ? 'num warn' : 'num',
          ),
        ]);
      });
      parts.push(
        el('h2', { text: 'Drift against the training mix' }),
        el('p', {
          class: 'muted',
          'data-testid': 'oov',
          text:
            'Words the model does not know: ' +
            pct(d.outOfVocabularyShare) +
            ' of the tickets’ tokens. Predicted mix: each class’s share of the most probable classes, before abstention.',
        }),
        table('drift', ['class', 'training mix', 'predicted mix', 'difference'], drift, ''),
      );
    }
    if (review) {
      const rows = review.tickets.map((t) =>
        el('tr', { 'data-ticket-id': t.ticketId }, [
          cell(t.ticketId),
          cell(t.confidence.toFixed(3), 'num'),
          cell(t.top.map((x) => x.label + ' ' + x.p.toFixed(2)).join(' · ')),
          cell(t.reviewed ?? '–'),
          el('td', { class: 'ticket-text', title: t.text, text: t.text }),
        ]),
      );
      parts.push(
        el('h2', { text: 'Review queue' }),
        el('p', {
          class: 'muted',
          text:
            review.abstained +
            ' abstained, ' +
            review.reviewed +
            ' reviewed; the ' +
            review.tickets.length +
            ' least confident below (POST ' +
            base +
            '/review takes reviewed labels).',
        }),
        table('review', ['ticket', 'confidence', 'top 2', 'reviewed', 'text'], rows, 'nothing abstained'),
      );
    }
    fill(parts);
  }

  function showClassification(id: string): void {
    const base = '/classifications/' + encodeURIComponent(id);
    kit.every(1000, async () => {
      const c = await kit.api<ClassificationStatus>('GET', base);
      const review =
        c.state === 'completed'
          ? await kit.api<ReviewQueue>('GET', base + '/review?limit=' + REVIEW_PAGE)
          : null;
      kit.message('');
      drawClassification(id, c, review);
      return !FINAL.has(c.state);
    });
  }

  // ---- schedules ----
  function showSchedules(): void {
    const load = (): void =>
      kit.every(5000, async () => {
        const page = await kit.api<{ schedules: ScheduleRow[] }>('GET', '/schedules');
        kit.message('');
        const rows = page.schedules.map((s) => {
          const path = '/schedules/' + encodeURIComponent(s.id) + (s.enabled ? '/disable' : '/enable');
          const toggle = button(s.enabled ? 'disable' : 'enable', { 'data-testid': 'toggle' }, () => {
            kit.api('POST', path).then(load, kit.failed);
          });
          const runs = el(
            'td',
            { 'data-testid': 'schedule-runs' },
            s.runs.length
              ? s.runs.map((r) =>
                  el('div', { 'data-run-id': r.run ?? '' }, [
                    kit.badge(r.state ?? 'unknown'),
                    ' ',
                    r.run ? runLink(r.run) : '–',
                    el('span', { class: 'muted', text: ' ' + kit.fmtTime(r.dueAt) }),
                  ]),
                )
              : ['–'],
          );
          const skipped = el(
            'td',
            { 'data-testid': 'schedule-skipped' },
            s.skipped.length
              ? s.skipped.map((k) =>
                  el('div', { class: 'muted', text: kit.fmtTime(k.dueAt) + ': ' + (k.skipped ?? '') }),
                )
              : ['–'],
          );
          const gate = s.promote
            ? s.promote.alias +
              ' if ' +
              s.promote.metric +
              ' gains ≥ ' +
              s.promote.minDelta +
              (s.promote.floor !== undefined ? ', floor ' + s.promote.floor : '')
            : '–';
          return el('tr', { 'data-schedule-id': s.id, 'data-enabled': String(s.enabled) }, [
            cell(s.id),
            cell(s.cron !== undefined ? 'cron ' + s.cron + ' (UTC)' : 'every ' + s.everySeconds + ' s'),
            cell(s.dataset),
            cell(gate),
            el('td', { 'data-testid': 'next-tick', text: s.enabled ? kit.fmtTime(s.nextTick) : 'disabled' }),
            el('td', { 'data-testid': 'enabled', text: s.enabled ? 'yes' : 'no' }),
            runs,
            skipped,
            el('td', {}, [toggle]),
          ]);
        });
        fill([
          el('h2', { text: 'Training schedules' }),
          table(
            'schedules',
            [
              'schedule',
              'when',
              'dataset',
              'promotion gate',
              'next tick',
              'enabled',
              'last runs',
              'skipped ticks',
              '',
            ],
            rows,
            'no schedule yet (POST /schedules)',
          ),
        ]);
      });
    load();
  }

  /** The id in `#/classifications/<id>`, or null when there is none or it is not valid URI encoding. */
  function classificationId(hash: string): string | null {
    try {
      return decodeURIComponent(hash.slice('#/classifications/'.length)) || null;
    } catch {
      return null;
    }
  }

  return (hash: string): boolean => {
    if (hash === '#/models') showModels();
    else if (hash.startsWith('#/classifications/') && classificationId(hash) !== null)
      showClassification(classificationId(hash)!);
    else if (hash === '#/classifications' || hash.startsWith('#/classifications/')) showClassifications();
    else if (hash === '#/schedules') showSchedules();
    else return false;
    return true;
  };
}
