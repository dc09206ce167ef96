import { RUN_STATES } from '../../../shared/runtime/runs/record';
import { STATE_BADGE_CSS, STATE_COLOURS } from '../../../shared/runtime/report/state-colours';
import { escapeHtml } from '../../../shared/runtime/report/run-report';

/** The chart's legend: one swatch per run state, coloured as the chart's points. */
const CHART_LEGEND = RUN_STATES.map(
  (state) => `<span><i style="background:${STATE_COLOURS[state]}"></i>${state}</span>`,
).join('');

/** The state colours for the page script's chart, as the `data-state-colours` of `#chart`. */
const CHART_COLOURS = escapeHtml(JSON.stringify(STATE_COLOURS));

/**
 * `GET /ui`: the page's markup and style; everything it shows comes from the API through `/ui/app.js`
 * (browser/runs-page.ts) and `/ui/lifecycle.js` (browser/lifecycle-pages.ts, which fills
 * `#lifecycle-view`), and the one table it needs from the server, the state colours, as data.
 */
export const UI_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>ticketflow</title>
<style>
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;background:#fff}
header.top{display:flex;align-items:center;gap:16px;padding:10px 16px;background:#24292f;color:#fff}
header.top a{color:#fff;text-decoration:none;font-weight:600}
header.top .right{margin-left:auto;display:flex;gap:12px;align-items:center;font-size:13px}
header.top .right a{font-weight:400;opacity:.85}
main{max-width:1100px;margin:0 auto;padding:16px}
h2{font-size:16px;margin:16px 0 8px}
.badge{display:inline-block;color:#fff;border-radius:10px;padding:0 8px;font-size:12px;font-weight:600}
${STATE_BADGE_CSS}
table.runs{border-collapse:collapse;width:100%}
table.runs th,table.runs td{border-bottom:1px solid #d0d7de;padding:5px 8px;text-align:left}
table.runs th{background:#f6f8fa;font-weight:600}
table.runs tr.run-row{cursor:pointer}
table.runs tr.run-row:hover{background:#f3f8ff}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.muted{color:#57606a}
.toolbar{display:flex;gap:10px;align-items:center;margin:8px 0}
#chart svg text{font:11px system-ui,sans-serif;fill:#57606a}
#chart .dot{cursor:pointer}
.legend span{margin-right:12px;font-size:12px}
.legend i{display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:4px;vertical-align:-1px}
button{font:inherit;padding:4px 12px;border:1px solid #d0d7de;border-radius:6px;background:#f6f8fa;cursor:pointer}
button:disabled{opacity:.45;cursor:default}
button.danger{color:#c62828}
.actions{display:flex;gap:8px;align-items:center;margin:8px 0}
.progress{height:8px;background:#eaeef2;border-radius:4px;overflow:hidden;width:260px;display:inline-block;vertical-align:middle}
.progress i{display:block;height:100%;background:#1565c0}
#message{margin:8px 0;color:#c62828}
#token-form{border:1px solid #d0d7de;border-radius:6px;padding:12px;max-width:520px}
#token-form input{width:100%;box-sizing:border-box;padding:4px;font:inherit;margin:6px 0}
.run-report{padding:0 !important}
code.sha{font-size:12px}
nav.views{display:flex;gap:4px}
header.top nav.views a{font-weight:400;padding:2px 10px;border-radius:6px;opacity:.85}
header.top nav.views a.here{background:#57606a;opacity:1}
h3{font-size:14px;margin:14px 0 6px}
.tag{display:inline-block;background:#ddf4ff;color:#0969da;border-radius:10px;padding:0 8px;margin-right:4px;font-size:12px}
td.gate{font-size:12px;max-width:340px}
#lifecycle-view td.num{text-align:right;white-space:nowrap}
#lifecycle-view th{vertical-align:bottom}
td.gate.promoted{color:#1a7f37}
td.gate.held{color:#9a6700}
td.nowrap{white-space:nowrap}
td.nowrap input{font:inherit;padding:2px 4px;margin-right:4px}
.warn{color:#c62828}
td.how-gate{color:#1a7f37}
td.how-rollback{color:#9a6700}
td.ticket-text{max-width:420px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:8px 0}
dl.facts dt{color:#57606a}
dl.facts dd{margin:0}
</style>
</head>
<body>
<header class="top"><a href="#/">ticketflow</a><nav class="views"><a href="#/">Runs</a>
<a href="#/models">Models</a><a href="#/classifications">Classifications</a><a href="#/schedules">Schedules</a></nav>
<span class="right"><span id="live" class="muted"></span><a href="/board" target="_blank" rel="noopener">Bull Board</a>
<a href="#" id="forget-token" hidden>forget token</a></span></header>
<main>
<div id="message" role="alert"></div>
<form id="token-form" hidden>
<strong>This API needs its token</strong>
<p class="muted">Enter TICKETFLOW_API_TOKEN. It is kept in this tab only (sessionStorage) and sent as
<code>Authorization: Bearer</code>; never in a URL.</p>
<input id="token" type="password" autocomplete="off" placeholder="API token"><button type="submit">Use token</button>
</form>
<section id="list-view" hidden>
<h2>Runs over time</h2>
<div class="legend">${CHART_LEGEND}
<span class="muted">x: start time, y: duration</span></div>
<div id="chart" data-testid="runs-chart" data-state-colours="${CHART_COLOURS}"></div>
<div class="toolbar"><label>State <select id="state-filter" data-testid="state-filter">
<option value="">all</option><option>waiting</option><option>active</option><option>completed</option>
<option>failed</option><option>cancelled</option><option>deleting</option></select></label><span id="count" class="muted"></span></div>
<table class="runs" data-testid="runs"><thead><tr><th>state</th><th>run</th><th>dataset</th><th>created</th>
<th>duration</th><th>test accuracy</th></tr></thead><tbody id="runs-body"></tbody></table>
</section>
<section id="run-view" hidden>
<p><a href="#/">← all runs</a></p>
<div class="actions"><span id="run-state" data-testid="run-state"></span>
<span class="progress"><i id="run-progress" style="width:0"></i></span><span id="run-progress-text" class="muted"></span>
<button id="btn-retry" data-testid="retry">Retry</button><button id="btn-cancel" data-testid="cancel">Cancel</button>
<button id="btn-delete" class="danger" data-testid="delete">Delete</button>
<a id="report-link" href="#" data-testid="report-link">report.html</a></div>
<p id="timeline-summary" class="muted" data-testid="timeline-summary"></p>
<div id="report"></div>
<h2>Artifacts</h2>
<table class="runs" data-testid="artifacts"><thead><tr><th>artifact</th><th>stage</th><th>bytes</th>
<th>SHA-256</th></tr></thead><tbody id="artifacts-body"></tbody></table>
</section>
<section id="lifecycle-view" hidden></section>
</main>
<script src="/ui/lifecycle.js"></script>
<script src="/ui/app.js"></script>
</body>
</html>
`;
