import { STAGES, StageName, childrenOf, stageDefinition } from '../../pipeline/stages/definitions';
import { describeLabelMap } from '../../core/config/label-map';
import { labelMapSha256 } from '../flow/param-refs';
import { RunsContext } from '../runs/context';
import { RunRecord, StageRecord } from '../runs/record';
import { runTimeline, TimelineEntry } from '../runs/timeline';
import { readRunLogs } from '../runs/run-logs';
import { withLock } from '../runs/run-lock';
import { ARTIFACTS } from '../../pipeline/stages/context';
import { TopicsFile } from '../../pipeline/stages/feature-extraction/feature-extraction';
import { MetricsFile } from '../../pipeline/stages/training/training';
import { SearchFile } from '../../pipeline/stages/training/search-file';
import { runKey } from '../../core/storage';
import { ArtifactNotFound, ArtifactStore } from '../../core/store/artifact-store';
import { stateColour } from './state-colours';

/** The report's file in the run's folder. */
export const REPORT_FILE = 'report.html';

/** The report's key in the artifact store: `runs/<id>/report.html`. */
export function reportKey(runId: string): string {
  return runKey(runId, REPORT_FILE);
}

/** The run's stored report, or null when none was written. */
export async function readStoredReport(store: ArtifactStore, runId: string): Promise<string | null> {
  try {
    return (await store.get(reportKey(runId))).toString('utf8');
  } catch (err) {
    if (err instanceof ArtifactNotFound) return null;
    throw err;
  }
}

/** At most this many log lines in a report. */
const MAX_LOG_LINES = 2000;

export interface RunReportExtras {
  topics?: TopicsFile;
  metrics?: MetricsFile;
  timeline: TimelineEntry[];
  logs?: string[];
  /** the time "now" for bars still running (default: the record's finish, else the current time) */
  now?: Date;
}

/** A stage's colour in the report. */
const stageColour = (stage: StageName): string => stageDefinition(stage).colour;

/** A bar's colour: its child queue's own colour (chunks: a lighter shade of their stage's), else its stage's. */
function barColour(e: Pick<TimelineEntry, 'queue' | 'stage'>): { fill: string; ownColour: boolean } {
  const own = e.queue === e.stage ? undefined : childrenOf(e.stage)?.colour;
  return { fill: own ?? stageColour(e.stage), ownColour: own !== undefined };
}

export function escapeHtml(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}
const h = escapeHtml;

/** Bull Board's page of one job (its UI routes are `/queue/:queueName/:jobId` under the board's base path). */
export function boardJobUrl(queue: string, jobId: string, base = '/board'): string {
  return `${base}/queue/${encodeURIComponent(queue)}/${encodeURIComponent(jobId)}`;
}

export function formatSeconds(s: number | null | undefined): string {
  if (s === null || s === undefined || !Number.isFinite(s)) return '–';
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - m * 60)} s`;
}

const pct = (x: number | null | undefined) =>
  x === null || x === undefined || !Number.isFinite(x) ? '–' : `${(x * 100).toFixed(1)} %`;

const badge = (state: string) =>
  `<span class="badge state-${h(state)}" style="background:${stateColour(state)}">${h(state)}</span>`;

/** The report's stylesheet, scoped under `.run-report` so the UI can embed the fragment. */
export const REPORT_CSS = `
.run-report{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;max-width:1100px;margin:0 auto;padding:16px}
.run-report h1{font-size:20px;margin:0 0 8px;word-break:break-all}
.run-report h2{font-size:16px;margin:24px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
.run-report table{border-collapse:collapse;margin:4px 0}
.run-report th,.run-report td{border:1px solid #d0d7de;padding:3px 8px;text-align:left;vertical-align:top}
.run-report td code{white-space:pre-wrap;word-break:break-word}
.run-report table.params{max-width:100%;table-layout:fixed;width:100%}
.run-report table.params th{width:160px}
.run-report pre{white-space:pre-wrap;word-break:break-word}
.run-report th{background:#f6f8fa;font-weight:600}
.run-report td.num{text-align:right;font-variant-numeric:tabular-nums}
.run-report .badge{display:inline-block;color:#fff;border-radius:10px;padding:0 8px;font-size:12px;font-weight:600}
.run-report .kv{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px}
.run-report .kv dt{color:#57606a}.run-report .kv dd{margin:0}
.run-report pre{background:#f6f8fa;border:1px solid #d0d7de;padding:8px;overflow:auto;font-size:12px;max-height:420px}
.run-report .tag{display:inline-block;background:#ddf4ff;color:#0969da;border-radius:4px;padding:0 5px;margin:1px;font-size:12px}
.run-report .warnings li{color:#9a6700}
.run-report .error{color:#c62828;font-weight:600}
.run-report .muted{color:#57606a}
.run-report .legend span{display:inline-block;margin-right:14px;font-size:12px}
.run-report .legend i{display:inline-block;width:12px;height:12px;vertical-align:-2px;margin-right:4px;border-radius:2px}
.run-report svg text{font:11px system-ui,sans-serif;fill:#1f2328}
.run-report .timeline-bar.outcome-failed{stroke:#c62828;stroke-width:2}
.run-report .timeline-bar.outcome-retried{stroke:#c62828;stroke-width:1.5;stroke-dasharray:3 2}
.run-report .timeline-bar.outcome-active{stroke:#1565c0;stroke-width:1.5}
.run-report .topics{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:12px}
.run-report .topic{border:1px solid #d0d7de;border-radius:6px;padding:8px}
.run-report .topic-name{font-weight:600}
.run-report .bar{height:12px;background:#4e79a7;border-radius:2px;display:inline-block;vertical-align:middle}
.run-report .words{margin:6px 0 0;padding:0;list-style:none;columns:2;font-size:12px}
.run-report .confusion td{text-align:right;min-width:48px;font-variant-numeric:tabular-nums}
.run-report .confusion th.corner{background:#fff;font-size:11px;color:#57606a}
.run-report .scroll{overflow-x:auto}
`;

function header(r: RunRecord): string {
  const accuracy = r.metrics?.test.accuracy ?? null;
  return `<header><h1>Run <span data-testid="run-id">${h(r.id)}</span> ${badge(r.state)}</h1>
<dl class="kv" data-testid="run-header">
<dt>dataset</dt><dd>${h(r.dataset)} <span class="muted">(${r.datasetBytes.toLocaleString('en')} bytes, sha256 ${h(r.datasetSha256.slice(0, 12))}…)</span></dd>
<dt>created</dt><dd>${h(r.createdAt)}</dd>
<dt>started</dt><dd>${h(r.startedAt ?? '–')}</dd>
<dt>finished</dt><dd>${h(r.finishedAt ?? '–')}</dd>
<dt>duration</dt><dd data-testid="run-duration">${formatSeconds(r.durationSeconds)}</dd>
<dt>progress</dt><dd>${r.progress} %</dd>
<dt>generation</dt><dd>${r.generation}</dd>
<dt>test accuracy</dt><dd data-testid="run-accuracy">${pct(accuracy)}</dd>
${r.metrics ? `<dt>test F1 (weighted)</dt><dd>${pct(r.metrics.test.f1)}</dd><dt>test ROC-AUC</dt><dd>${r.metrics.test.rocAuc === null ? '–' : r.metrics.test.rocAuc.toFixed(3)}</dd>` : ''}
<dt>code version</dt><dd>${h(r.codeVersion)}</dd>
</dl>
${r.error ? `<p class="error" data-testid="run-error">${h(r.error.stage)}: ${h(r.error.message)}</p>` : ''}
</header>`;
}

/** A parameter's value as the table shows it: a label map (thousands of entries, maybe) summarised. */
function parameterValue(r: RunRecord, k: string, v: unknown): string {
  if (k === 'labelMap' && r.params.labelMap)
    return `${h(describeLabelMap(r.params.labelMap, r.params.labelField))} <span class="muted">SHA-256 <code>${labelMapSha256(r.params.labelMap).slice(0, 12)}…</code> (the whole map: GET /runs/${h(r.id)}, params.labelMap)</span>`;
  return `<code>${h(JSON.stringify(v))}</code>`;
}

function parameters(r: RunRecord): string {
  const rows = Object.entries(r.params)
    .map(([k, v]) => `<tr><th>${h(k)}</th><td data-param="${h(k)}">${parameterValue(r, k, v)}</td></tr>`)
    .join('');
  return `<section id="parameters"><h2>Parameters</h2><table class="params">${rows}<tr><th>cache</th><td><code>${r.cache}</code></td></tr></table></section>`;
}

function stageRow(s: StageRecord): string {
  const chunks = s.chunks
    ? `<br><span class="muted">chunks ${s.chunks.completed}/${s.chunks.total} done, ${s.chunks.failed} failed, ${s.chunks.reused} reused</span>`
    : '';
  const job =
    s.jobId !== null
      ? `<a href="${h(boardJobUrl(s.stage, s.jobId))}" data-testid="board-link">${h(s.jobId)}</a>`
      : '–';
  return `<tr data-stage="${h(s.stage)}" class="stage-row">
<td><i style="display:inline-block;width:10px;height:10px;background:${stageColour(s.stage)};border-radius:2px"></i> ${h(s.stage)}</td>
<td>${badge(s.state)}${s.failedReason ? `<br><span class="error">${h(s.failedReason)}</span>` : ''}${chunks}</td>
<td>${s.tags.map((t) => `<span class="tag">${h(t)}</span>`).join(' ')}</td>
<td class="num">${s.attemptsStarted} / ${s.attemptsMade} <span class="muted">of ${s.maxAttempts}</span></td>
<td class="num">${s.stalls}</td>
<td>${s.cached ? `cached from ${h(s.cachedFrom ?? '?')}` : '–'}</td>
<td class="num" data-testid="stage-seconds">${s.seconds === null ? '–' : s.seconds.toFixed(2)}${typeof s.refitSeconds === 'number' ? `<br><span class="muted">refit <span data-testid="refit-seconds">${s.refitSeconds.toFixed(2)}</span></span>` : ''}</td>
<td>${h(s.worker ?? '–')}</td>
<td>${job}</td></tr>`;
}

function stagesTable(r: RunRecord): string {
  return `<section id="stages"><h2>Stages</h2><div class="scroll"><table data-testid="stages">
<tr><th>stage</th><th>state</th><th>tags</th><th>attempts started / made</th><th>stalls</th><th>cache</th><th title="from the stage's start to its end, its child jobs included">seconds</th><th>worker</th><th>job (Bull Board)</th></tr>
${r.stages.map(stageRow).join('\n')}</table></div></section>`;
}

interface ReadStatsLike {
  read?: number;
  kept?: number;
  dropped?: Record<string, number>;
  file?: string;
  format?: string;
}

function recordsSection(r: RunRecord): string {
  const result = r.stages.find((s) => s.stage === 'text-processing')?.result as
    { stats?: ReadStatsLike; rows?: number; chunks?: number } | null | undefined;
  const stats = result?.stats;
  if (!stats) return `<section id="records"><h2>Records</h2><p class="muted">not read yet</p></section>`;
  const dropped = Object.entries(stats.dropped ?? {});
  const droppedTotal = dropped.reduce((a, [, n]) => a + n, 0);
  return `<section id="records"><h2>Records</h2><table data-testid="records">
<tr><th>read</th><td class="num" data-testid="records-read">${stats.read ?? '–'}</td></tr>
<tr><th>kept</th><td class="num" data-testid="records-kept">${stats.kept ?? '–'}</td></tr>
<tr><th>dropped</th><td class="num" data-testid="records-dropped">${droppedTotal}</td></tr>
${dropped.map(([why, n]) => `<tr><td>&nbsp;&nbsp;${h(why)}</td><td class="num">${n}</td></tr>`).join('')}
${result?.chunks !== undefined ? `<tr><th>chunks</th><td class="num">${result.chunks}</td></tr>` : ''}
</table>${stats.format ? `<p class="muted">format ${h(stats.format)}</p>` : ''}</section>`;
}

function niceStep(span: number): number {
  const steps = [0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];
  return steps.find((s) => span / s <= 10) ?? 3600 * Math.ceil(span / 36000);
}

/** The timeline as an SVG Gantt chart: a row per worker, a bar per attempt, coloured by stage. */
export function timelineSvg(entries: readonly TimelineEntry[], now: Date): string {
  if (entries.length === 0) return '<p class="muted" data-testid="timeline-empty">no job has started yet</p>';
  const nowMs = now.getTime();
  const bars = entries.map((e) => {
    const start = Date.parse(e.startedAt);
    const end = e.finishedAt ? Date.parse(e.finishedAt) : Math.max(nowMs, start);
    return { e, start, end: Math.max(end, start) };
  });
  const t0 = Math.min(...bars.map((b) => b.start));
  const t1 = Math.max(...bars.map((b) => b.end), t0 + 100);
  const span = (t1 - t0) / 1000;
  // Rows: one per worker (unknown workers of earlier attempts get their own row); lanes where bars overlap.
  const workerOf = (e: TimelineEntry) => e.worker ?? 'worker not recorded';
  const workers = [...new Set(bars.map((b) => workerOf(b.e)))].sort((a, b) =>
    a === 'worker not recorded' ? 1 : b === 'worker not recorded' ? -1 : a.localeCompare(b),
  );
  const laneH = 14;
  const labelW = 250;
  const plotW = 760;
  const top = 24;
  const x = (ms: number) => labelW + ((ms - t0) / (t1 - t0)) * plotW;
  let y = top;
  const rows: string[] = [];
  const grid: string[] = [];
  for (const [wi, worker] of workers.entries()) {
    const mine = bars.filter((b) => workerOf(b.e) === worker).sort((a, b) => a.start - b.start);
    const laneEnds: number[] = [];
    const placed = mine.map((b) => {
      let lane = laneEnds.findIndex((end) => end <= b.start);
      if (lane < 0) lane = laneEnds.push(0) - 1;
      laneEnds[lane] = b.end;
      return { ...b, lane };
    });
    const height = Math.max(1, laneEnds.length) * (laneH + 2) + 6;
    rows.push(
      `<rect x="0" y="${y}" width="${labelW + plotW + 10}" height="${height}" fill="${wi % 2 ? '#ffffff' : '#f6f8fa'}"/>`,
      `<text x="4" y="${y + 14}" data-testid="timeline-worker"><title>${h(worker)}</title>${h(worker.length > 40 ? worker.slice(0, 39) + '…' : worker)}</text>`,
    );
    for (const b of placed) {
      const e = b.e;
      const bx = x(b.start);
      const bw = Math.max(2, x(b.end) - bx);
      const by = y + 3 + b.lane * (laneH + 2);
      const { fill: colour, ownColour } = barColour(e);
      const fill = e.outcome === 'retried' || e.outcome === 'failed' ? `url(#hatch-${e.stage})` : colour;
      const label = `${e.jobId} · attempt ${e.attempt} · ${e.outcome} · ${((b.end - b.start) / 1000).toFixed(2)} s${e.message ? ` · ${e.message}` : ''}`;
      rows.push(
        `<a href="${h(boardJobUrl(e.queue, e.jobId))}"><rect class="timeline-bar outcome-${e.outcome}" data-stage="${h(e.stage)}" data-queue="${h(e.queue)}" data-job-id="${h(e.jobId)}" data-attempt="${e.attempt}" data-outcome="${e.outcome}"${e.chunk !== undefined ? ` data-chunk="${e.chunk}"` : ''} x="${bx.toFixed(1)}" y="${by}" width="${bw.toFixed(1)}" height="${laneH}" rx="2" fill="${fill}"${ownColour ? ` stroke="${stageColour(e.stage)}" stroke-width="0.5"` : ''}><title>${h(label)}</title></rect></a>`,
      );
    }
    y += height;
  }
  const step = niceStep(span);
  for (let s = 0; s <= span + 1e-9; s += step) {
    const gx = labelW + (s / span) * plotW;
    grid.push(
      `<line x1="${gx.toFixed(1)}" y1="${top - 4}" x2="${gx.toFixed(1)}" y2="${y}" stroke="#d0d7de" stroke-width="1"/>`,
      `<text x="${gx.toFixed(1)}" y="${top - 8}" text-anchor="middle">${Number(s.toFixed(1))} s</text>`,
    );
  }
  const hatches = STAGES.map(
    (s) =>
      `<pattern id="hatch-${s}" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#ffffff"/><rect width="3" height="6" fill="${stageColour(s)}"/></pattern>`,
  ).join('');
  const width = labelW + plotW + 10;
  const legend = [
    ...STAGES.map((s) => `<span><i style="background:${stageColour(s)}"></i>${h(s)}</span>`),
    ...STAGES.flatMap((s) => {
      const children = childrenOf(s);
      return children?.colour === undefined
        ? []
        : [`<span><i style="background:${children.colour}"></i>${h(children.queue)}</span>`];
    }),
    `<span><i style="background:repeating-linear-gradient(45deg,#888 0 3px,#fff 3px 6px);outline:1px dashed #c62828"></i>failed / retried attempt</span>`,
  ].join('');
  return `<div class="legend">${legend}</div><div class="scroll"><svg class="timeline" data-testid="timeline" width="${width}" height="${y + 6}" viewBox="0 0 ${width} ${y + 6}" role="img" aria-label="stage timeline"><defs>${hatches}</defs>${rows.join('')}${grid.join('')}</svg></div>`;
}

function timelineSection(r: RunRecord, entries: readonly TimelineEntry[], now: Date): string {
  const cached = r.stages.filter((s) => s.cached);
  const retried = entries.filter((e) => e.outcome === 'retried').length;
  return `<section id="timeline"><h2>Timeline</h2>
${timelineSvg(entries, now)}
<p class="muted">${entries.length} attempt(s) on ${new Set(entries.map((e) => e.worker ?? '?')).size} worker row(s)${retried ? `, ${retried} retried` : ''}. Click a bar to open its job in Bull Board.</p>
${cached.length ? `<p data-testid="timeline-cached">cached (no bars): ${cached.map((s) => `${h(s.stage)} from run ${h(s.cachedFrom ?? '?')}`).join('; ')}</p>` : ''}
</section>`;
}

function topicsSection(topics: TopicsFile | undefined): string {
  if (!topics) return '';
  const max = Math.max(1, ...topics.topics.map((t) => t.size));
  const total = topics.topics.reduce((a, t) => a + t.size, 0) || 1;
  const cards = topics.topics
    .map(
      (t) => `<div class="topic" data-topic-id="${t.id}">
<div><span class="topic-name">${h(t.name)}</span> <span class="muted">#${t.id}</span></div>
<div><span class="bar topic-size" style="width:${Math.max(2, Math.round((t.size / max) * 220))}px"></span> <span class="num">${t.size} tickets (${((t.size / total) * 100).toFixed(1)} %)</span></div>
<ol class="words">${t.topWords.map((w) => `<li class="topic-word">${h(w)}</li>`).join('')}</ol></div>`,
    )
    .join('');
  return `<section id="topics"><h2>Topics</h2>
<p class="muted">${topics.topics.length} topics; vocabulary ${topics.vocabularySize} terms; NMF ${topics.nmf.iterations} iterations, reconstruction error ${topics.nmf.reconstructionError.toFixed(3)}. Bars: tickets per topic; words: the topic's top words by NMF weight, highest first.</p>
<div class="topics" data-testid="topics">${cards}</div></section>`;
}

function heat(value: number, max: number, diagonal: boolean): string {
  if (value === 0) return 'color:#8c959f';
  const a = max > 0 ? value / max : 0;
  const [r, g, b] = diagonal ? [46, 125, 50] : [198, 40, 40];
  return `background:rgba(${r},${g},${b},${(0.08 + a * 0.8).toFixed(2)});color:${a > 0.55 ? '#fff' : '#1f2328'}`;
}

function metricsSection(metrics: MetricsFile | undefined): string {
  if (!metrics) return '';
  const cm = metrics.test.confusionMatrix;
  let matrix = '';
  if (cm) {
    const max = Math.max(0, ...cm.flat());
    const head = metrics.classes.map((c) => `<th>${h(c)}</th>`).join('');
    const body = cm
      .map(
        (row, i) =>
          `<tr><th>${h(metrics.classes[i] ?? i)}</th>${row
            .map((n, j) => `<td data-row="${i}" data-col="${j}" style="${heat(n, max, i === j)}">${n}</td>`)
            .join('')}</tr>`,
      )
      .join('');
    matrix = `<h3>Confusion matrix (test split)</h3><div class="scroll"><table class="confusion" data-testid="confusion">
<tr><th class="corner">true ↓ / predicted →</th>${head}</tr>${body}</table></div>`;
  }
  const split = (name: string, m: MetricsFile['train']) =>
    `<tr><th>${name}</th><td class="num">${m.rows}</td><td class="num">${pct(m.accuracy)}</td><td class="num">${pct(m.precision)}</td><td class="num">${pct(m.recall)}</td><td class="num">${pct(m.f1)}</td><td class="num">${m.rocAuc === null ? '–' : m.rocAuc.toFixed(3)}</td></tr>`;
  const thresholds = metrics.thresholds?.length
    ? `<h3>Threshold trade-off (test split)</h3><table data-testid="thresholds"><tr><th>threshold</th><th>coverage</th><th>accuracy of answered</th></tr>
${metrics.thresholds
  .map((t) => {
    const chosen = metrics.threshold && Math.abs(metrics.threshold.value - t.threshold) < 1e-12;
    return `<tr${chosen ? ' style="font-weight:700;background:#fff8c5"' : ''}><td class="num">${t.threshold.toFixed(3)}${chosen ? ' (chosen)' : ''}</td><td class="num">${pct(t.coverage)}</td><td class="num">${pct(t.accuracy)}</td></tr>`;
  })
  .join('')}</table>
${metrics.threshold ? `<p class="muted">default threshold ${metrics.threshold.value.toFixed(3)} for target precision ${pct(metrics.threshold.targetPrecision)}: coverage ${pct(metrics.threshold.coverage)}, precision ${pct(metrics.threshold.precision)}</p>` : ''}`
    : '';
  return `<section id="metrics"><h2>Model</h2>
<table data-testid="metrics"><tr><th>split</th><th>rows</th><th>accuracy</th><th>precision</th><th>recall</th><th>F1</th><th>ROC-AUC</th></tr>
${split('train', metrics.train)}${split('test', metrics.test)}</table>
${matrix}
${metrics.test.report ? `<h3>Classification report (test split)</h3><pre data-testid="classification-report">${h(metrics.test.report)}</pre>` : ''}
${searchTable(metrics.search)}
${thresholds}</section>`;
}

/** The model search: every candidate's CV mean ± std and time, the winner highlighted. */
function searchTable(search: SearchFile | undefined): string {
  if (!search) return '';
  const rows = search.candidates
    .map(
      (c) =>
        `<tr data-candidate="${c.id}"${c.winner ? ' data-winner="true" style="font-weight:700;background:#fff8c5"' : ''}><td class="num">${c.id}</td><td>${c.ngrams === 1 ? 'words' : `1–${c.ngrams}-grams`}</td><td>${h(c.classWeight)}</td><td class="num">${c.C}</td><td class="num">${c.meanScore.toFixed(4)} ± ${c.stdScore.toFixed(4)}</td><td class="num">${c.seconds.toFixed(2)}</td><td>${c.winner ? 'chosen' : ''}</td></tr>`,
    )
    .join('');
  return `<h3>Model search (stratified ${search.folds}-fold CV on the training split, by ${search.score === 'macroF1' ? 'macro-F1' : 'accuracy'})</h3>
<div class="scroll"><table data-testid="search"><tr><th>id</th><th>features</th><th>class weight</th><th>C</th><th>CV ${search.score === 'macroF1' ? 'macro-F1' : 'accuracy'}</th><th>seconds</th><th></th></tr>${rows}</table></div>`;
}

function warningsSection(r: RunRecord, topics?: TopicsFile, metrics?: MetricsFile): string {
  const all = [
    ...new Set([
      ...r.warnings,
      ...(topics?.warnings ?? []).map((w) => `feature-extraction: ${w}`),
      ...(metrics?.warnings ?? []).map((w) => `training: ${w}`),
    ]),
  ];
  return `<section id="warnings"><h2>Warnings</h2>${all.length ? `<ul class="warnings" data-testid="warnings">${all.map((w) => `<li>${h(w)}</li>`).join('')}</ul>` : '<p class="muted">none</p>'}</section>`;
}

function eventsSection(r: RunRecord): string {
  const details = r.events.some((e) => e.detail);
  return `<section id="events"><h2>Events</h2><table>${r.events
    .map(
      (e) =>
        `<tr><td>${h(e.at)}</td><td>${h(e.event)}</td>${details ? `<td>${h(e.detail ?? '')}</td>` : ''}</tr>`,
    )
    .join('')}</table></section>`;
}

function logsSection(logs: readonly string[] | undefined): string {
  if (!logs || logs.length === 0) return '';
  return `<section id="logs"><h2>Log</h2><pre data-testid="logs">${h(logs.join('\n'))}</pre></section>`;
}

/** The report's sections without a document around them (the UI embeds this; it carries its own style). */
export function renderRunReportFragment(record: RunRecord, extras: RunReportExtras): string {
  const now = extras.now ?? (record.finishedAt ? new Date(record.finishedAt) : new Date());
  return `<div class="run-report" data-run-id="${h(record.id)}" data-state="${h(record.state)}"><style>${REPORT_CSS}</style>
${header(record)}
${parameters(record)}
${stagesTable(record)}
${recordsSection(record)}
${timelineSection(record, extras.timeline, now)}
${topicsSection(extras.topics)}
${metricsSection(extras.metrics ?? record.metrics ?? undefined)}
${warningsSection(record, extras.topics, extras.metrics)}
${eventsSection(record)}
${logsSection(extras.logs)}
</div>`;
}

/** One self-contained HTML document (inline CSS and SVG, no script, no external URL) about a run. */
export function renderRunReport(record: RunRecord, extras: RunReportExtras): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>ticketflow run ${h(record.id)} (${h(record.state)})</title></head>
<body style="margin:0;background:#fff">
${renderRunReportFragment(record, extras)}
<footer class="run-report muted" style="font-size:12px">written ${h(new Date().toISOString())} by ticketflow</footer>
</body></html>
`;
}

async function readOptionalJson<T>(store: ArtifactStore, key: string): Promise<T | undefined> {
  try {
    return await store.getJson<T>(key);
  } catch {
    return undefined;
  }
}

/** Everything a report shows, read from storage and BullMQ. Null when the run does not exist. */
export async function gatherRunReport(ctx: RunsContext, record: RunRecord): Promise<RunReportExtras> {
  const [topics, metrics, timeline, logs] = await Promise.all([
    readOptionalJson<TopicsFile>(ctx.artifacts, runKey(record.id, ARTIFACTS.topics)),
    readOptionalJson<MetricsFile>(ctx.artifacts, runKey(record.id, ARTIFACTS.metrics)),
    runTimeline(ctx, record),
    readRunLogs(ctx, record.id, { withChunks: false }),
  ]);
  return {
    timeline,
    // The first lines of the stage jobs: enough to tell the story of a run of any size.
    logs: (logs?.lines ?? [])
      .slice(0, MAX_LOG_LINES)
      .map((l) => `[${l.jobId ?? '-'}] ${l.at ?? ''} ${l.line}`),
    ...(topics ? { topics } : {}),
    ...(metrics ? { metrics } : {}),
  };
}

/**
 * Write `runs/<id>/report.html` (atomically) from the run's record, its artifacts (topics.json,
 * metrics.json) and its jobs (timeline and logs, while BullMQ keeps them). Call it when a run reaches a
 * final state; writing it again later overwrites it. Throws when the run has no record.
 */
export async function writeRunReport(ctx: RunsContext, runId: string): Promise<void> {
  const record = await ctx.store.read(runId);
  if (!record) throw new Error(`no run with id ${JSON.stringify(runId)}`);
  const html = renderRunReport(record, await gatherRunReport(ctx, record));
  // Under the run's lock, and only while the run still exists: a report rendered just before the run was
  // deleted must not bring its folder back.
  await withLock(ctx.redis, ctx.keys.lock(runId), async () => {
    if (!(await ctx.store.read(runId))) return;
    await ctx.artifacts.put(reportKey(runId), html);
  });
}
