// fedwarden dashboard: follows the coordinator's event stream (GET api/events: a snapshot, then changes) and draws
// the federation. Every string from the server is written with textContent, never as markup: participant ids,
// verdict reasons and alert texts come from peers and operators' plug-ins. The operator token comes once from
// the URL fragment (#token=…), is kept in sessionStorage and sent as a bearer header; the stream is read with
// fetch, since EventSource cannot send headers. The event shapes are DashboardEvent in dashboard-model.ts.
'use strict';

(function () {
  const TOKEN_KEY = 'fedwarden.operatorToken';
  const RETRY_MIN_MS = 1000;
  const RETRY_MAX_MS = 15000;
  // The server model's limits (DASHBOARD_DEFAULTS in dashboard-model.ts): a page left open for weeks stays bounded.
  const MAX_ROUNDS = 500;
  const MAX_ALERTS = 200;
  const MAX_TRACKED = 100;

  /** @type {any} the current snapshot (DashboardSnapshot) */
  let state = null;
  let selectedRound = null;
  let sort = { key: 'score', dir: 'ascending', type: 'number' };
  let statusReceivedAt = 0;
  let charts = null;

  // ---- token ----

  let memoryToken = null;

  function takeToken() {
    const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
    if (match) {
      try {
        sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
      } catch {
        // storage refused (private mode): the token lives for this page only
        memoryToken = decodeURIComponent(match[1]);
      }
      // Out of the address bar and the history, so that it is not shared with a screenshot or a copied link.
      history.replaceState(null, '', location.pathname + location.search);
    }
    try {
      return sessionStorage.getItem(TOKEN_KEY) ?? memoryToken;
    } catch {
      return memoryToken;
    }
  }
  const token = takeToken();

  function headers() {
    return token ? { authorization: 'Bearer ' + token } : {};
  }

  // ---- DOM helpers (textContent only) ----

  function el(tag, options, ...children) {
    const node = document.createElement(tag);
    if (options) {
      if (options.className) node.className = options.className;
      if (options.title) node.title = options.title;
      if (options.data) for (const [k, v] of Object.entries(options.data)) node.dataset[k] = String(v);
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function td(content, className) {
    return el('td', className ? { className } : null, content);
  }

  function badge(text, kind) {
    return el('span', { className: 'badge ' + kind }, text);
  }

  function field(name) {
    return document.querySelector('#status [data-field="' + name + '"]');
  }

  function percent(x) {
    return x === null || x === undefined ? '–' : (x * 100).toFixed(1) + ' %';
  }

  function fixed(x, digits) {
    return x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(digits);
  }

  function seconds(ms) {
    return ms === null || ms === undefined ? '–' : (ms / 1000).toFixed(1) + ' s';
  }

  function clock(ms) {
    const s = Math.max(0, Math.round(ms / 1000));
    const m = Math.floor(s / 60);
    return m + ':' + String(s % 60).padStart(2, '0');
  }

  // ---- status ----

  const STAGE_TEXT = {
    waiting: 'waiting for participants',
    selecting: 'selecting',
    training: 'training',
    aggregating: 'aggregating',
    completed: 'completed',
    aborted: 'aborted',
    finished: 'finished',
  };

  function renderStatus() {
    if (!state) return;
    const { status, federation, audit } = state;
    field('round').textContent = status.round + ' of ' + federation.rounds;
    field('stage').textContent = STAGE_TEXT[status.stage] ?? String(status.stage);
    field('connected').textContent = String(status.connected);
    field('privacy').textContent = federation.privacy;
    field('strategy').textContent = federation.strategy;
    const auditField = field('audit');
    if (audit) {
      auditField.textContent = '#' + audit.seq + ' ' + audit.hash.slice(0, 12) + '…';
      auditField.title = 'audit log entry ' + audit.seq + ', SHA-256 ' + audit.hash;
    }
    renderDeadline();
  }

  function renderDeadline() {
    if (!state) return;
    const { status } = state;
    const target = field('deadline');
    if (status.deadline === null) {
      target.textContent = '–';
      return;
    }
    // Counted on this page's clock from the server's own reading, so clock skew does not matter.
    const left = status.deadline - status.now - (Date.now() - statusReceivedAt);
    target.textContent = left > 0 ? 'in ' + clock(left) : 'passed';
  }

  // ---- charts (uPlot, served from the coordinator's installed package) ----

  function chartWidth(container) {
    return Math.max(280, container.clientWidth - 4);
  }

  function makeCharts() {
    const quality = document.getElementById('chart-quality');
    const participants = document.getElementById('chart-participants');
    const roundAxis = { label: 'round', incrs: [1, 2, 5, 10, 20, 50, 100], values: (_u, ticks) => ticks.map((t) => String(t)) };
    const withEvaluator = state.federation.evaluator;
    const qualitySeries = [{ label: 'round' }];
    if (withEvaluator) {
      qualitySeries.push({ label: 'accuracy %', stroke: '#1f7a3f', width: 2, scale: '%', points: { show: true } });
      qualitySeries.push({ label: 'eval. loss', stroke: '#b42318', width: 2, scale: 'loss', points: { show: true } });
    }
    qualitySeries.push({ label: 'train loss', stroke: '#a15c00', width: 1.5, dash: [6, 4], scale: 'loss', points: { show: true } });
    const qualityAxes = [roundAxis];
    if (withEvaluator) qualityAxes.push({ scale: '%', label: 'accuracy %', values: (_u, ticks) => ticks.map((t) => t + '') });
    qualityAxes.push({ scale: 'loss', label: 'loss', side: withEvaluator ? 1 : 3, grid: { show: !withEvaluator } });
    document.getElementById('no-evaluator').hidden = withEvaluator;
    const qualityChart = new uPlot(
      {
        width: chartWidth(quality),
        height: 240,
        scales: { x: { time: false }, '%': { range: [0, 100] }, loss: { range: (_u, min, max) => [0, Math.max(max ?? 1, 0.1) * 1.1] } },
        series: qualitySeries,
        axes: qualityAxes,
        legend: { live: false },
      },
      qualityData(),
      quality,
    );
    const participantChart = new uPlot(
      {
        width: chartWidth(participants),
        height: 240,
        scales: { x: { time: false }, y: { range: (_u, _min, max) => [0, Math.max(1, max ?? 1) + 1] } },
        series: [
          { label: 'round' },
          // Drawn widest first, so that equal counts (everyone selected and contributing) still show every line.
          { label: 'connected', stroke: '#c3cad4', width: 7, points: { show: false } },
          { label: 'selected', stroke: '#2b5fb4', width: 3.5, points: { show: false } },
          { label: 'contributed', stroke: '#1f7a3f', width: 1.5, points: { show: true } },
          { label: 'dropped', stroke: '#b42318', width: 1.5, points: { show: true } },
        ],
        axes: [roundAxis, { label: 'participants' }],
        legend: { live: false },
      },
      participantData(),
      participants,
    );
    const resize = new ResizeObserver(() => {
      qualityChart.setSize({ width: chartWidth(quality), height: 240 });
      participantChart.setSize({ width: chartWidth(participants), height: 240 });
    });
    resize.observe(quality);
    resize.observe(participants);
    return { quality: qualityChart, participants: participantChart, evaluator: withEvaluator, resize };
  }

  function qualityData() {
    const rounds = state.rounds;
    const data = [rounds.map((r) => r.round)];
    if (state.federation.evaluator) {
      data.push(rounds.map((r) => (r.accuracy === null ? null : r.accuracy * 100)));
      data.push(rounds.map((r) => r.evaluationLoss));
    }
    data.push(rounds.map((r) => r.meanLoss));
    return data;
  }

  function participantData() {
    const rounds = state.rounds;
    return [
      rounds.map((r) => r.round),
      rounds.map((r) => r.connected),
      rounds.map((r) => r.selected),
      rounds.map((r) => r.contributed),
      rounds.map((r) => r.dropped),
    ];
  }

  function renderCharts() {
    if (typeof uPlot === 'undefined') return; // the vendor script failed to load: tables still work
    if (charts && charts.evaluator !== state.federation.evaluator) {
      charts.resize.disconnect();
      charts.quality.destroy();
      charts.participants.destroy();
      charts = null;
    }
    if (!charts) {
      charts = makeCharts();
      return;
    }
    charts.quality.setData(qualityData());
    charts.participants.setData(participantData());
  }

  // ---- tables ----

  function renderRounds() {
    const body = document.querySelector('#rounds tbody');
    const rows = [...state.rounds].reverse().map((r) => {
      const row = el(
        'tr',
        { data: { round: r.round } },
        td(String(r.round), 'num'),
        td(badge(r.outcome, r.outcome)),
        td(r.connected === null ? '–' : String(r.connected), 'num'),
        td(String(r.selected), 'num'),
        td(String(r.contributed), 'num'),
        td(String(r.dropped), 'num'),
        td(String(r.rejected), 'num'),
        td(String(r.alerts), 'num'),
        td(percent(r.accuracy), 'num'),
        td(fixed(r.evaluationLoss, 4), 'num'),
        td(fixed(r.meanLoss, 4), 'num'),
        td(seconds(r.durationMs), 'num'),
        td(r.reason, 'wrap'),
      );
      if (r.round === selectedRound) row.classList.add('selected');
      row.addEventListener('click', () => {
        selectedRound = r.round;
        renderRounds();
        renderGroups();
      });
      return row;
    });
    body.replaceChildren(...rows);
  }

  function renderGroups() {
    const table = document.getElementById('groups');
    const none = document.getElementById('groups-none');
    const label = document.getElementById('groups-round');
    const withGroups = state.rounds.filter((r) => r.groups.length > 0);
    const shown = withGroups.find((r) => r.round === selectedRound) ?? withGroups.at(-1);
    if (!shown) {
      table.hidden = true;
      none.hidden = false;
      none.textContent = state.federation.privacy === 'secagg' ? 'No secure groups yet.' : 'Not used: this federation runs with privacy "trusted" (one unit per participant).';
      label.textContent = '';
      return;
    }
    table.hidden = false;
    none.hidden = true;
    label.textContent = '(round ' + shown.round + (shown.round === selectedRound ? '' : ', the latest; click a round to see another') + ')';
    const rows = shown.groups.map((g) =>
      el(
        'tr',
        { data: { group: g.id } },
        td(g.id),
        td(badge(g.outcome, g.outcome)),
        td(g.contributors + ' of ' + g.members.length, 'num'),
        td(g.members.join(', '), 'wrap'),
        td(g.blamed.length > 0 ? g.blamed.join(', ') : '–'),
        td(g.reason || '–', 'wrap'),
      ),
    );
    document.querySelector('#groups tbody').replaceChildren(...rows);
  }

  function standing(p) {
    return p.excluded ? 'excluded' : p.flagged ? 'flagged' : 'ok';
  }

  function renderReputation() {
    const { key, dir, type } = sort;
    const value = (p) => (key === 'standing' ? standing(p) : key === 'connected' ? (p.connected ? 'yes' : 'no') : p[key]);
    const sign = dir === 'ascending' ? 1 : -1;
    const sorted = [...state.reputation].sort((a, b) => {
      const x = value(a);
      const y = value(b);
      const c = type === 'number' ? x - y : String(x).localeCompare(String(y));
      return c !== 0 ? sign * c : a.id.localeCompare(b.id);
    });
    const rows = sorted.map((p) => {
      const bar = el('span', { className: 'bar' }, el('span'));
      bar.firstChild.style.width = Math.round(p.score * 100) + '%';
      const marks = el('td');
      if (p.excluded) marks.append(badge('excluded', 'excluded'));
      if (p.flagged) marks.append(badge('flagged', 'flagged'));
      if (!p.excluded && !p.flagged) marks.append(badge('ok', 'ok'));
      const row = el(
        'tr',
        { data: { participant: p.id, standing: standing(p) } },
        td(p.id, 'mono'),
        el('td', { className: 'num' }, p.score.toFixed(3), bar),
        marks,
        td(String(p.participations), 'num'),
        td(String(p.rejections), 'num'),
        td(String(p.exclusions), 'num'),
        td(p.connected ? 'yes' : 'no'),
      );
      if (p.excluded) row.classList.add('excluded');
      else if (p.flagged) row.classList.add('flagged');
      return row;
    });
    document.querySelector('#reputation tbody').replaceChildren(...rows);
    for (const th of document.querySelectorAll('#reputation th')) {
      if (th.dataset.key === key) th.setAttribute('aria-sort', dir);
      else th.removeAttribute('aria-sort');
    }
  }

  function renderAlerts() {
    const rows = [...state.alerts].reverse().map((a) =>
      el(
        'tr',
        { data: { round: a.round, severity: a.severity } },
        td(String(a.round), 'num'),
        td(badge(a.severity, a.severity)),
        td(a.detector),
        td(a.unit ?? '–', 'mono'),
        td(a.feature ?? '–'),
        td(fixed(a.score, 3), 'num'),
        td(a.message, 'wrap'),
      ),
    );
    document.querySelector('#alerts tbody').replaceChildren(...rows);
    document.getElementById('alerts').hidden = rows.length === 0;
    document.getElementById('alerts-none').hidden = rows.length > 0;
  }

  /** The alerting subsystem's alerts (TrackedAlert), the most recently changed first, as the server sends them. */
  function renderTracked() {
    const tracked = state.tracked ?? [];
    const rows = tracked.map((a) => {
      const rounds = a.firstRound === a.lastRound ? String(a.firstRound) : a.firstRound + '–' + a.lastRound;
      const status = a.status === 'resolved' && a.resolution ? 'resolved (' + a.resolution + ')' : a.status;
      return el(
        'tr',
        { data: { key: a.key, status: a.status, severity: a.severity } },
        td(badge(status, a.status)),
        td(badge(a.severity, a.severity)),
        td(a.key, 'mono wrap'),
        td(rounds, 'num'),
        td(String(a.occurrences), 'num'),
        td(a.message, 'wrap'),
      );
    });
    document.querySelector('#tracked tbody').replaceChildren(...rows);
    document.getElementById('tracked').hidden = rows.length === 0;
    document.getElementById('tracked-none').hidden = rows.length > 0;
  }

  function renderAll() {
    renderStatus();
    renderCharts();
    renderRounds();
    renderGroups();
    renderReputation();
    renderAlerts();
    renderTracked();
  }

  for (const th of document.querySelectorAll('#reputation th')) {
    th.addEventListener('click', () => {
      const key = th.dataset.key;
      sort = { key, type: th.dataset.type, dir: sort.key === key && sort.dir === 'ascending' ? 'descending' : 'ascending' };
      if (state) renderReputation();
    });
  }

  // ---- events (mirrors applyEvent in dashboard-model.ts) ----

  function apply(event) {
    switch (event.type) {
      case 'snapshot':
        state = event.snapshot;
        statusReceivedAt = Date.now();
        renderAll();
        break;
      case 'status': {
        if (!state) return;
        state.status = event.status;
        statusReceivedAt = Date.now();
        renderStatus();
        const presence = event.presence ?? [];
        if (presence.length > 0) {
          const online = new Map(presence.map((p) => [p.id, p.online]));
          state.reputation = state.reputation.map((r) => (online.has(r.id) ? { ...r, connected: online.get(r.id) } : r));
          renderReputation();
        }
        break;
      }
      case 'round':
        if (!state) return;
        state.rounds = state.rounds
          .filter((r) => r.round !== event.round.round)
          .concat([event.round])
          .slice(-MAX_ROUNDS);
        state.alerts = state.alerts.concat(event.alerts).slice(-MAX_ALERTS);
        state.reputation = event.reputation;
        if (event.audit) state.audit = event.audit;
        renderAll();
        break;
      case 'alert': {
        if (!state) return;
        const changed = event.transition.alert;
        state.tracked = [changed].concat((state.tracked ?? []).filter((a) => a.id !== changed.id)).slice(0, MAX_TRACKED);
        renderTracked();
        break;
      }
      default:
        break; // a newer coordinator's event: ignored
    }
  }

  function setLink(linkState, text) {
    const link = document.getElementById('link');
    link.dataset.state = linkState;
    link.textContent = text;
  }

  /** One SSE block: `data:` lines joined (comments and other fields ignored). */
  function parseBlock(block) {
    const data = block
      .split('\n')
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice(5).replace(/^ /, ''))
      .join('\n');
    return data === '' ? null : JSON.parse(data);
  }

  async function follow() {
    const response = await fetch('api/events', { headers: headers(), cache: 'no-store' });
    if (response.status === 401) return 'unauthorized';
    if (!response.ok || !response.body) throw new Error('event stream answered ' + response.status);
    setLink('live', 'live');
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return 'ended';
      buffer += value.replace(/\r\n/g, '\n');
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const event = parseBlock(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (event) apply(event);
      }
    }
  }

  async function run() {
    let delay = RETRY_MIN_MS;
    for (;;) {
      let outcome;
      try {
        outcome = await follow();
        delay = RETRY_MIN_MS;
      } catch {
        outcome = 'failed';
      }
      if (outcome === 'unauthorized') {
        document.getElementById('auth').hidden = false;
        setLink('unauthorized', 'no operator token');
        return;
      }
      setLink('reconnecting', 'reconnecting…');
      // Full jitter, so that many open pages do not all come back at the same instant after a restart.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * delay));
      delay = Math.min(RETRY_MAX_MS, delay * 2);
    }
  }

  setInterval(renderDeadline, 1000);
  void run();
})();
