import { STATE_COLOURS } from '../../../shared/runtime/report/state-colours';

/**
 * `GET /ui/app.js`: the page's script, hand-written, no build step and no dependency. It reads the API
 * (`GET /runs`, `/runs/:id`, `/runs/:id/timeline`, `/runs/:id/report?live=1`) with the token as Bearer when
 * the API asks for one (kept in sessionStorage, never in a URL), and calls retry / cancel / delete.
 * Kept as a string (no backticks inside; its one placeholder brings in the shared state colours) so the
 * compiled API serves it from dist/.
 */
export const UI_JS = String.raw`(function () {
  'use strict';
  var STATE_COLOURS = ${JSON.stringify(STATE_COLOURS)};
  var FINAL = { completed: true, failed: true, cancelled: true };
  var TOKEN_KEY = 'ticketflow-api-token';
  var timer = null;
  var view = null;
  var lastFragment = '';

  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === 'text') e.textContent = attrs[k];
      else if (k === 'class') e.className = attrs[k];
      else e.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return e;
  }
  function svgEl(tag, attrs) {
    var e = document.createElementNS('http://www.w3.org/2000/svg', tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    return e;
  }
  function message(text) { $('message').textContent = text || ''; }
  function token() { try { return sessionStorage.getItem(TOKEN_KEY); } catch (e) { return null; } }

  function NeedToken() {}
  function api(method, path, accept) {
    var headers = { accept: accept || 'application/json' };
    var t = token();
    if (t) headers.authorization = 'Bearer ' + t;
    return fetch(path, { method: method, headers: headers, cache: 'no-store' }).then(function (res) {
      if (res.status === 401) { askToken(); throw new NeedToken(); }
      var isJson = (res.headers.get('content-type') || '').indexOf('json') >= 0;
      return (isJson ? res.json() : res.text()).then(function (body) {
        if (!res.ok) {
          var err = new Error((body && body.error) || ('HTTP ' + res.status));
          err.status = res.status;
          throw err;
        }
        return body;
      });
    });
  }
  function failed(err) {
    if (err instanceof NeedToken) return;
    message(err.message || String(err));
  }
  function askToken() {
    stop();
    $('token-form').hidden = false;
    $('list-view').hidden = true;
    $('run-view').hidden = true;
    $('token').focus();
  }
  $('token-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    try { sessionStorage.setItem(TOKEN_KEY, $('token').value.trim()); } catch (e) { /* private mode */ }
    $('token').value = '';
    $('token-form').hidden = true;
    route();
  });
  $('forget-token').addEventListener('click', function (ev) {
    ev.preventDefault();
    try { sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* ignore */ }
    route();
  });

  function stop() { if (timer) { clearTimeout(timer); timer = null; } }
  function every(ms, fn) {
    stop();
    var mine = {};
    view = mine;
    function tick() {
      fn().then(function (again) {
        if (view === mine && again !== false) timer = setTimeout(tick, ms);
      }, function (err) {
        failed(err);
        if (view === mine && !(err instanceof NeedToken)) timer = setTimeout(tick, ms);
      });
    }
    tick();
  }

  function fmtSeconds(s) {
    if (s === null || s === undefined || !isFinite(s)) return '–';
    if (s < 60) return s.toFixed(s < 10 ? 2 : 1) + ' s';
    var m = Math.floor(s / 60);
    return m + ' min ' + Math.round(s - m * 60) + ' s';
  }
  function fmtTime(iso) { return iso ? new Date(iso).toLocaleString() : '–'; }
  function badge(state) { return el('span', { class: 'badge state-' + state, 'data-testid': 'state', text: state }); }
  function duration(r, now) {
    if (r.durationSeconds !== null && r.durationSeconds !== undefined) return r.durationSeconds;
    return (now - Date.parse(r.createdAt)) / 1000;
  }

  // ---- the list and the chart of runs over time ----
  function drawChart(runs) {
    var box = $('chart');
    box.textContent = '';
    var W = 1068, H = 220, L = 56, R = 16, T = 10, B = 28;
    var svg = svgEl('svg', { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': 'runs over time' });
    box.appendChild(svg);
    if (runs.length === 0) {
      var t = svgEl('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle' });
      t.textContent = 'no runs yet';
      svg.appendChild(t);
      return;
    }
    var now = Date.now();
    var xs = runs.map(function (r) { return Date.parse(r.createdAt); });
    var ys = runs.map(function (r) { return duration(r, now); });
    var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs);
    var pad = Math.max(5000, (x1 - x0) * 0.05);
    x0 -= pad; x1 += pad;
    var yMax = Math.max.apply(null, ys.concat([1])) * 1.15;
    function X(ms) { return L + (ms - x0) / (x1 - x0) * (W - L - R); }
    function Y(s) { return H - B - s / yMax * (H - T - B); }
    var steps = [0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200];
    var ys_ = steps.filter(function (s) { return yMax / s <= 5; })[0] || 3600 * Math.ceil(yMax / 18000);
    for (var v = 0; v <= yMax; v += ys_) {
      svg.appendChild(svgEl('line', { x1: L, x2: W - R, y1: Y(v), y2: Y(v), stroke: '#eaeef2' }));
      var lt = svgEl('text', { x: L - 6, y: Y(v) + 4, 'text-anchor': 'end' });
      lt.textContent = fmtSeconds(v);
      svg.appendChild(lt);
    }
    var xsteps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 43200, 86400, 604800];
    var span = (x1 - x0) / 1000;
    var xs_ = (xsteps.filter(function (s) { return span / s <= 8; })[0] || 2592000) * 1000;
    for (var tx = Math.ceil(x0 / xs_) * xs_; tx <= x1; tx += xs_) {
      svg.appendChild(svgEl('line', { x1: X(tx), x2: X(tx), y1: T, y2: H - B, stroke: '#f3f4f6' }));
      var xt = svgEl('text', { x: X(tx), y: H - 8, 'text-anchor': 'middle' });
      var d = new Date(tx);
      xt.textContent = span > 86400 ? d.toLocaleDateString() + ' ' + d.toLocaleTimeString().slice(0, 5) : d.toLocaleTimeString();
      svg.appendChild(xt);
    }
    svg.appendChild(svgEl('line', { x1: L, x2: W - R, y1: H - B, y2: H - B, stroke: '#8c959f' }));
    runs.forEach(function (r, i) {
      var colour = STATE_COLOURS[r.state] || '#616161';
      var g = svgEl('g', { class: 'dot', 'data-run-id': r.id, 'data-state': r.state });
      g.appendChild(svgEl('line', { x1: X(xs[i]), x2: X(xs[i]), y1: H - B, y2: Y(ys[i]), stroke: colour, 'stroke-width': 3, 'stroke-opacity': 0.35 }));
      g.appendChild(svgEl('circle', { cx: X(xs[i]), cy: Y(ys[i]), r: 6, fill: colour, stroke: '#fff', 'stroke-width': 1.5 }));
      var title = svgEl('title', {});
      title.textContent = r.id + ' · ' + r.state + ' · ' + r.dataset + ' · ' + fmtSeconds(ys[i]);
      g.appendChild(title);
      g.addEventListener('click', function () { location.hash = '#/runs/' + encodeURIComponent(r.id); });
      svg.appendChild(g);
    });
  }

  function drawList(runs) {
    var body = $('runs-body');
    body.textContent = '';
    var now = Date.now();
    runs.forEach(function (r) {
      var tr = el('tr', { class: 'run-row', 'data-run-id': r.id, 'data-state': r.state }, [
        el('td', {}, [badge(r.state)]),
        el('td', {}, [el('a', { href: '#/runs/' + encodeURIComponent(r.id), text: r.id })]),
        el('td', { text: r.dataset }),
        el('td', { text: fmtTime(r.createdAt) }),
        el('td', { class: 'num', text: fmtSeconds(duration(r, now)) + (FINAL[r.state] ? '' : ' …') }),
        el('td', { class: 'num', text: r.testAccuracy === null || r.testAccuracy === undefined ? '–' : (r.testAccuracy * 100).toFixed(1) + ' %' })
      ]);
      tr.addEventListener('click', function (ev) {
        if (ev.target.tagName !== 'A') location.hash = '#/runs/' + encodeURIComponent(r.id);
      });
      body.appendChild(tr);
    });
    $('count').textContent = runs.length + ' run(s)';
  }

  function showList() {
    $('list-view').hidden = false;
    $('run-view').hidden = true;
    $('live').textContent = '';
    every(2000, function () {
      var state = $('state-filter').value;
      return api('GET', '/runs?limit=200' + (state ? '&state=' + encodeURIComponent(state) : '')).then(function (page) {
        message('');
        drawChart(page.runs);
        drawList(page.runs);
      });
    });
  }
  $('state-filter').addEventListener('change', function () { showList(); });

  // ---- one run, live ----
  function setButtons(r) {
    $('btn-retry').disabled = !(r.state === 'failed' || r.state === 'cancelled');
    $('btn-cancel').disabled = !(r.state === 'waiting' || r.state === 'active');
    $('btn-delete').disabled = !FINAL[r.state];
  }

  function showRun(id) {
    $('list-view').hidden = true;
    $('run-view').hidden = false;
    $('report').textContent = '';
    $('run-state').textContent = '';
    lastFragment = '';
    var base = '/runs/' + encodeURIComponent(id);
    every(1000, function () {
      return Promise.all([
        api('GET', base),
        api('GET', base + '/timeline'),
        api('GET', base + '/report?live=1', 'text/html')
      ]).then(function (got) {
        var r = got[0], tl = got[1], fragment = got[2];
        message('');
        $('run-state').textContent = '';
        $('run-state').appendChild(badge(r.state));
        $('run-state').setAttribute('data-state', r.state);
        $('run-progress').style.width = r.progress + '%';
        $('run-progress-text').textContent = r.progress + ' % · ' + fmtSeconds(duration(r, Date.now()));
        var stages = {};
        // By queue: chunk jobs apart from their text-processing parent.
        tl.entries.forEach(function (e) { stages[e.queue] = (stages[e.queue] || 0) + 1; });
        $('timeline-summary').textContent = tl.entries.length + ' job attempt(s): ' + Object.keys(stages).map(function (s) { return s + ' ' + stages[s]; }).join(', ') +
          (tl.cached.length ? ' · cached: ' + tl.cached.map(function (c) { return c.stage; }).join(', ') : '');
        setButtons(r);
        if (fragment !== lastFragment) {
          lastFragment = fragment;
          $('report').innerHTML = fragment;
        }
        var live = !FINAL[r.state];
        $('live').textContent = live ? '● live' : '';
        return live;
      });
    });
  }

  function act(method, suffix, confirmText) {
    var m = /^#\/runs\/([^/]+)/.exec(location.hash);
    if (!m) return;
    var id = decodeURIComponent(m[1]);
    if (confirmText && !window.confirm(confirmText)) return;
    api(method, '/runs/' + encodeURIComponent(id) + suffix).then(function () {
      if (method === 'DELETE') location.hash = '#/';
      else showRun(id);
    }, failed);
  }
  $('btn-retry').addEventListener('click', function () { act('POST', '/retry'); });
  $('btn-cancel').addEventListener('click', function () { act('POST', '/cancel', 'Cancel this run? Every job stops.'); });
  $('btn-delete').addEventListener('click', function () { act('DELETE', '', 'Delete this run, its jobs and artifacts?'); });
  $('report-link').addEventListener('click', function (ev) {
    ev.preventDefault();
    var m = /^#\/runs\/([^/]+)/.exec(location.hash);
    if (!m) return;
    api('GET', '/runs/' + m[1] + '/report', 'text/html').then(function (html) {
      var url = URL.createObjectURL(new Blob([html], { type: 'text/html' }));
      window.open(url, '_blank', 'noopener');
    }, failed);
  });

  function route() {
    message('');
    $('forget-token').hidden = !token();
    var m = /^#\/runs\/([^/]+)/.exec(location.hash);
    if (m) showRun(decodeURIComponent(m[1]));
    else showList();
  }
  window.addEventListener('hashchange', route);
  route();
})();
`;
