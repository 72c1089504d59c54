// Real time: who is on the site in the last 5 minutes, per page and per page group, identified and anonymous
// apart. First paint from GET /realtime, then pushes from the SSE stream (api.realtimeStream).
import * as api from '../api.js';
import { clear, clipped, errorBox, h, isAbort } from '../dom.js';
import { formatInt, formatTime } from '../format.js';

const num = (v) => (Number.isFinite(Number(v)) ? Number(v) : 0);

export function renderRealtime(root, ctx) {
  const { site, signal } = ctx;
  const summary = h('section', { class: 'realtime-summary', 'aria-live': 'polite' }, h('p', { class: 'loading-box' }, 'Loading…'));
  // The lists appear with the first data; before that (or on an error) only the summary speaks.
  const pages = h('section', { class: 'panel', 'aria-label': 'Pages', hidden: true });
  const groups = h('section', { class: 'panel', 'aria-label': 'Groups', hidden: true });
  const status = h('p', { class: 'stream-status', role: 'status' }, 'Connecting…');
  root.append(
    h('div', { class: 'controls' }, h('h1', { class: 'view-title' }, 'Real time'), status),
    summary,
    h('div', { class: 'panels' }, pages, groups),
  );

  let seen = false;
  const show = (data) => {
    seen = true;
    renderSnapshot(data || {}, summary, pages, groups);
  };
  api.realtime(site.id, signal).then(show, (error) => {
    if (isAbort(error)) return;
    if (!seen) clear(summary, errorBox(error));
  });
  const stop = api.realtimeStream(site.id, {
    onOpen: () => (status.textContent = 'Live'),
    onData: (data) => {
      status.textContent = `Live · updated ${formatTime(Date.now())}`;
      status.classList.remove('warn');
      show(data);
    },
    onError: (error) => {
      status.textContent = error.message;
      status.classList.add('warn');
    },
  });
  return stop;
}

function renderSnapshot(data, summary, pages, groups) {
  pages.hidden = false;
  groups.hidden = false;
  const total = num(data.visitors);
  clear(
    summary,
    h(
      'div',
      { class: 'live-count' },
      h('span', { class: 'live-dot', 'aria-hidden': 'true' }),
      h('span', { class: 'live-number' }, formatInt(total)),
      h('span', { class: 'live-label' }, total === 1 ? 'visitor in the last 5 minutes' : 'visitors in the last 5 minutes'),
    ),
    h(
      'p',
      { class: 'live-split' },
      `${formatInt(num(data.identified))} identified · ${formatInt(num(data.anonymous))} anonymous`,
    ),
  );
  const pageRows = Array.isArray(data.pages) ? data.pages : [];
  clear(
    pages,
    h('h2', { class: 'panel-title' }, 'Pages'),
    liveTable(
      ['Page', 'Visitors'],
      pageRows.map((p) => [String(p.page ?? ''), formatInt(num(p.visitors))]),
      'Nobody is reading a page right now.',
    ),
  );
  const groupRows = Array.isArray(data.groups) ? data.groups : [];
  clear(
    groups,
    h('h2', { class: 'panel-title' }, 'Groups'),
    liveTable(
      ['Group', 'Visitors', 'Identified', 'Anonymous'],
      groupRows.map((g) => [String(g.group ?? ''), formatInt(num(g.visitors)), formatInt(num(g.identified)), formatInt(num(g.anonymous))]),
      'No page groups are active. Pages join a group with data-group on the script tag.',
    ),
  );
}

function liveTable(headings, rows, empty) {
  if (!rows.length) return h('p', { class: 'empty' }, empty);
  return h(
    'table',
    { class: 'data-table' },
    h('thead', {}, h('tr', {}, headings.map((t, i) => h('th', { scope: 'col', class: i ? 'num' : '' }, t)))),
    h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((c, i) => h(i ? 'td' : 'th', { class: i ? 'num' : 'cell-text', scope: i ? null : 'row' }, i ? c : clipped(c)))))),
  );
}
