// Sessions: a paginated list for the period and filters, and one session's timeline (GET /sessions/{id}).
// Shapes are read defensively: a field the server does not send shows as "—", unknown insight keys are shown
// as they come, and every value is text.
import * as api from '../api.js';
import { reportControls } from '../controls.js';
import { clear, clipped, errorBox, h, isAbort } from '../dom.js';
import {
  countryName,
  flag,
  formatDateTime,
  formatDuration,
  formatInt,
  formatMs,
  formatNumber,
  formatPercent,
  humanize,
  parseTime,
  valueLabel,
} from '../format.js';
import { dateRange, link, navigate } from '../state.js';

const PAGE_SIZE = 25;

export function renderSessions(root, ctx) {
  if (ctx.state.session) return renderSession(root, ctx);
  const { state, site, signal } = ctx;
  const body = h('section', { class: 'panel', 'aria-label': 'Sessions' }, h('p', { class: 'loading-box' }, 'Loading…'));
  root.append(reportControls(state), body);
  const load = async () => {
    try {
      const answer = await api.sessions(
        site.id,
        { dateRange: dateRange(state), filters: state.filters, limit: PAGE_SIZE, offset: state.offset },
        signal,
      );
      const list = Array.isArray(answer && answer.sessions) ? answer.sessions : [];
      const total = answer && answer.meta && Number.isFinite(Number(answer.meta.total_rows)) ? Number(answer.meta.total_rows) : null;
      clear(body, h('h1', { class: 'panel-title' }, 'Sessions'), sessionTable(list), pager(state, list.length, total));
    } catch (error) {
      if (!isAbort(error)) clear(body, h('h1', { class: 'panel-title' }, 'Sessions'), errorBox(error, load));
    }
  };
  load();
  return null;
}

const dash = (v) => (v === null || v === undefined || v === '' ? '—' : String(v));

const shortDateTime = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });

function started(value) {
  const date = parseTime(value);
  return date ? shortDateTime.format(date) : dash(value);
}

/** A cell with a main line and an optional muted second line; long text is cut with its full value as title. */
function twoLines(main, sub) {
  return [
    h('div', { class: 'line', title: typeof main === 'string' ? main : null }, main),
    sub ? h('div', { class: 'line sub', title: typeof sub === 'string' ? sub : null }, sub) : null,
  ];
}

function sessionTable(list) {
  if (!list.length) return h('p', { class: 'empty' }, 'No sessions in this period.');
  const headings = [
    ['Started', ''],
    ['Pages', 'num'],
    ['Duration', 'num'],
    ['Entry / exit page', ''],
    ['Source', ''],
    ['Location', ''],
    ['Browser', ''],
    ['Visitor', ''],
    ['Score', 'num'],
  ];
  return h(
    'div',
    { class: 'table-scroll' },
    h(
      'table',
      { class: 'data-table sessions' },
      h('thead', {}, h('tr', {}, headings.map(([t, c]) => h('th', { scope: 'col', class: c }, t)))),
      h(
        'tbody',
        {},
        list.map((s) =>
          h(
            'tr',
            {},
            h('td', { class: 'nowrap' }, link(h('a', { title: formatDateTime(s.started_at) }, started(s.started_at)), { session: String(s.id), view: 'sessions' })),
            h('td', { class: 'num', 'data-label': 'Pages' }, formatInt(s.pageviews)),
            h('td', { class: 'num', 'data-label': 'Duration' }, formatDuration(s.duration_s)),
            h(
              'td',
              { class: 'clip mono-cell', 'data-label': 'Entry / exit page' },
              twoLines(dash(s.entry_page), s.exit_page && s.exit_page !== s.entry_page ? `→ ${s.exit_page}` : null),
            ),
            h('td', { class: 'clip', 'data-label': 'Source' }, twoLines(valueLabel('source', s.source), s.channel ? valueLabel('channel', s.channel) : null)),
            h('td', { class: 'clip', 'data-label': 'Location' }, twoLines(s.country ? `${flag(s.country)} ${countryName(s.country)}` : '—', s.city || s.region || null)),
            h('td', { class: 'clip', 'data-label': 'Browser' }, twoLines(dash(s.browser), [s.os, s.device].filter(Boolean).join(' · ') || null)),
            h(
              'td',
              { class: 'badges' },
              s.identified ? h('span', { class: 'badge accent' }, 'identified') : h('span', { class: 'badge' }, 'anonymous'),
              s.audience ? h('span', { class: 'badge' }, String(s.audience)) : null,
              s.converted ? h('span', { class: 'badge good' }, 'converted') : null,
              s.bounce ? h('span', { class: 'badge warn' }, 'bounce') : null,
            ),
            h('td', { class: 'num', 'data-label': 'Score' }, formatNumber(s.engagement_score)),
          ),
        ),
      ),
    ),
  );
}

function pager(state, shown, total) {
  const from = shown ? state.offset + 1 : 0;
  const to = state.offset + shown;
  const hasNext = total !== null ? to < total : shown === PAGE_SIZE;
  const text = total !== null ? `${formatInt(from)}–${formatInt(to)} of ${formatInt(total)}` : `${formatInt(from)}–${formatInt(to)}`;
  return h(
    'nav',
    { class: 'pager', 'aria-label': 'Pages of sessions' },
    h(
      'button',
      { type: 'button', class: 'button small', disabled: state.offset === 0, on: { click: () => navigate({ offset: Math.max(0, state.offset - PAGE_SIZE) }) } },
      '← Newer',
    ),
    h('span', { class: 'muted' }, text),
    h('button', { type: 'button', class: 'button small', disabled: !hasNext, on: { click: () => navigate({ offset: state.offset + PAGE_SIZE }) } }, 'Older →'),
  );
}

// ---- one session -------------------------------------------------------------------------------------------------

const EVENT_LABELS = { pageview: 'Page view', engagement: 'Engagement', interaction: 'Interaction', identify: 'Identified' };

function renderSession(root, ctx) {
  const { state, site, signal } = ctx;
  const back = link(h('a', { class: 'back-link' }, '← All sessions'), { session: null, view: 'sessions' });
  const body = h('div', {}, h('p', { class: 'loading-box' }, 'Loading…'));
  root.append(h('div', { class: 'controls' }, back), body);
  const load = async () => {
    try {
      const answer = await api.session(site.id, state.session, signal);
      const session = (answer && answer.session) || {};
      const events = Array.isArray(answer && answer.events) ? answer.events : [];
      clear(body, sessionHeader(session), insightsPanel(session.insights), timeline(session, events));
    } catch (error) {
      if (!isAbort(error)) clear(body, errorBox(error, load));
    }
  };
  load();
  return null;
}

/** `[label, value, wide]` pairs as a definition list; long text (a tracked path, a journey) is clipped. */
function facts(pairs) {
  return h(
    'dl',
    { class: 'facts' },
    pairs
      .filter(([, v]) => v !== null && v !== undefined && v !== '')
      .map(([k, v, wide]) => h('div', { class: ['fact', wide ? 'wide' : ''] }, h('dt', {}, k), h('dd', {}, typeof v === 'string' ? clipped(v, 3) : v))),
  );
}

function sessionHeader(s) {
  const score = Number(s.engagement_score);
  return h(
    'section',
    { class: 'panel session-head', 'aria-label': 'Session' },
    h(
      'div',
      { class: 'session-title' },
      h('h1', { class: 'view-title' }, `Session ${formatDateTime(s.started_at)}`),
      Number.isFinite(score)
        ? h('div', { class: 'score', title: 'Engagement score, 0–100' }, h('span', { class: 'score-value' }, formatNumber(score)), h('span', { class: 'score-label' }, 'engagement'))
        : null,
    ),
    facts([
      ['Duration', formatDuration(s.duration_s)],
      ['Pages', formatInt(s.pageviews)],
      ['Interactions', formatInt(s.interactions)],
      ['Engaged time', formatMs(s.engaged_ms)],
      ['Max scroll', s.max_scroll === undefined ? null : formatPercent(s.max_scroll)],
      ['Entry page', s.entry_page],
      ['Exit page', s.exit_page],
      ['Source', s.source !== undefined ? valueLabel('source', s.source) : null],
      ['Channel', s.channel ? valueLabel('channel', s.channel) : null],
      ['Country', s.country ? `${flag(s.country)} ${countryName(s.country)}` : null],
      ['Browser', s.browser],
      ['OS', s.os],
      ['Device', s.device],
      ['Audience', s.audience],
      ['Visitor', s.identified === undefined ? null : s.identified ? 'identified' : 'anonymous'],
      ['Bounce', s.bounce === undefined ? null : s.bounce ? 'yes' : 'no'],
      ['Ended', s.ended_at ? formatDateTime(s.ended_at) : 'still active'],
    ]),
  );
}

/** Any JSON value as text, nested objects as definition lists (insights' shape is the server's to grow). */
function valueNode(value, depth = 0) {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'number') return formatNumber(value);
  if (typeof value !== 'object') return String(value);
  if (depth > 3) return JSON.stringify(value);
  if (Array.isArray(value)) {
    if (!value.length) return '—';
    if (value.every((v) => v === null || typeof v !== 'object')) return value.map((v) => valueNode(v, depth + 1)).join(', ') || '—';
    return h('ul', { class: 'plain-list' }, value.map((v) => h('li', {}, valueNode(v, depth + 1))));
  }
  if (!Object.keys(value).length) return '—';
  return facts(Object.entries(value).map(([k, v]) => [humanize(k), valueNode(v, depth + 1)]));
}

// Insight keys that repeat the session's own attributes (shown above) are left out; the rest, known or not,
// are shown — the server may add more.
const REPEATED = new Set(['landing_page', 'exit_page', 'source', 'channel', 'audience', 'duration_s', 'identified', 'bounce']);

function insightValue(key, value) {
  if (key === 'pages' && Array.isArray(value)) return value.length ? value.map(String).join(' → ') : '—';
  if (key === 'interactions' && value && typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.entries(value);
    return entries.length ? entries.map(([name, n]) => `${name} ×${formatInt(n)}`).join(', ') : 'none';
  }
  if (/_s$/.test(key) && typeof value === 'number') return formatDuration(value);
  if (/_ms$/.test(key) && typeof value === 'number') return formatMs(value);
  return valueNode(value);
}

const INSIGHT_LABELS = { pages: 'Journey', engaged_s: 'Engaged time', converted: 'Converted (signed up or in)' };

function insightsPanel(insights) {
  if (!insights || typeof insights !== 'object') return null;
  const entries = Object.entries(insights).filter(([k]) => !REPEATED.has(k));
  if (!entries.length) return null;
  return h(
    'section',
    { class: 'panel', 'aria-label': 'Insights' },
    h('h2', { class: 'panel-title' }, 'Insights'),
    facts(entries.map(([k, v]) => [INSIGHT_LABELS[k] || humanize(k), insightValue(k, v), k === 'pages'])),
  );
}

function offsetText(start, ts) {
  const a = parseTime(start);
  const b = parseTime(ts);
  if (!a || !b) return formatDateTime(ts);
  return `+${formatDuration((b - a) / 1000)}`;
}

function timeline(session, events) {
  if (!events.length) return h('section', { class: 'panel' }, h('h2', { class: 'panel-title' }, 'Timeline'), h('p', { class: 'empty' }, 'No events.'));
  const start = session.started_at ?? events[0].ts;
  return h(
    'section',
    { class: 'panel', 'aria-label': 'Timeline' },
    h('h2', { class: 'panel-title' }, 'Timeline'),
    h(
      'ol',
      { class: 'timeline' },
      events.map((e) => {
        const type = String(e.type || 'event');
        const details = [];
        if (e.engaged_ms !== undefined && e.engaged_ms !== null) details.push(`engaged ${formatMs(e.engaged_ms)}`);
        if (e.scroll !== undefined && e.scroll !== null) details.push(`scrolled ${formatPercent(e.scroll)}`);
        const props = e.props && typeof e.props === 'object' ? Object.entries(e.props) : [];
        const sections = e.sections && typeof e.sections === 'object' ? Object.entries(e.sections) : [];
        return h(
          'li',
          { class: ['event', `event-${type.replace(/[^a-z_]/g, '')}`] },
          h('span', { class: 'event-dot', 'aria-hidden': 'true' }),
          h(
            'div',
            { class: 'event-body' },
            h(
              'div',
              { class: 'event-head' },
              h('span', { class: 'event-type' }, EVENT_LABELS[type] || humanize(type)),
              e.name ? h('span', { class: 'badge accent' }, String(e.name)) : null,
              h('time', { class: 'event-time', title: formatDateTime(e.ts) }, offsetText(start, e.ts)),
            ),
            e.page ? h('div', { class: 'event-page clamp clamp-3', title: String(e.page) }, String(e.page)) : null,
            // Engagement reports belong to the page view above them: its title is not repeated.
            e.title && type !== 'engagement' ? h('div', { class: 'event-title muted clamp clamp-3', title: String(e.title) }, String(e.title)) : null,
            details.length ? h('div', { class: 'event-details' }, details.join(' · ')) : null,
            props.length ? h('div', { class: 'event-props' }, props.map(([k, v]) => h('span', { class: 'prop' }, `${k}: ${valueNode(v, 4)}`))) : null,
            sections.length
              ? h('div', { class: 'event-props' }, sections.map(([k, v]) => h('span', { class: 'prop' }, `§ ${k}: ${formatMs(v)}`)))
              : null,
          ),
        );
      }),
    ),
  );
}
