// Conversions: visits in which an anonymous visitor identified (signed up or logged in) for the first time,
// with what led there (GET /sites/{site}/conversions).
import * as api from '../api.js';
import { periodPicker } from '../controls.js';
import { append, clear, clipped, errorBox, h, isAbort } from '../dom.js';
import { formatDateTime, formatDuration, formatInt, formatNumber, formatPercent, valueLabel } from '../format.js';
import { dateRange, link } from '../state.js';

export function renderConversions(root, ctx) {
  const { state, site, signal } = ctx;
  const body = h('div', {}, h('p', { class: 'loading-box' }, 'Loading…'));
  root.append(
    h(
      'div',
      { class: 'controls' },
      periodPicker(state),
      state.filters.length ? h('p', { class: 'muted small' }, 'Filters do not apply to this report.') : null,
    ),
    body,
  );
  const load = async () => {
    try {
      const data = (await api.conversions(site.id, { dateRange: dateRange(state), filters: state.filters }, signal)) || {};
      clear(
        body,
        h(
          'section',
          { class: 'cards', 'aria-label': 'Conversions summary' },
          card('Conversions', formatInt(data.count)),
          card('Visits', formatInt(data.visits)),
          card('Conversion rate', formatPercent(data.rate)),
          card('Time before converting', formatDuration(data.avg_seconds_before)),
          card('Pages before converting', formatNumber(data.avg_pages_before)),
        ),
        h(
          'div',
          { class: 'panels' },
          byPanel('By source', 'Source', ['source'], data.by_source),
          byPanel('By landing page', 'Landing page', ['landing_page', 'entry_page'], data.by_landing_page),
          byPanel('By campaign', 'UTM campaign', ['utm_campaign'], data.by_utm_campaign),
        ),
        listPanel(Array.isArray(data.list) ? data.list : []),
      );
    } catch (error) {
      if (!isAbort(error)) clear(body, errorBox(error, load));
    }
  };
  load();
  return null;
}

function card(label, value) {
  return h('div', { class: 'card' }, h('div', { class: 'card-label' }, label), h('div', { class: 'card-value' }, value));
}

/** Rows like {"source": "Google", "visits": 9, "conversions": 3, "rate": 33.3}; the label is the first of `fields`. */
function byPanel(title, heading, fields, rows) {
  const items = Array.isArray(rows) ? rows : [];
  const field = fields[0];
  const labelOf = (row) => {
    const key = fields.find((f) => row[f] !== undefined);
    return key ? row[key] : '';
  };
  const hasRate = items.some((r) => r.rate !== undefined && r.rate !== null);
  const top = Math.max(1, ...items.map((r) => Number(r.conversions) || 0));
  return h(
    'section',
    { class: 'panel', 'aria-label': title },
    h('h2', { class: 'panel-title' }, title),
    items.length
      ? h(
          'table',
          { class: 'breakdown' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              h('th', { scope: 'col' }, heading),
              h('th', { scope: 'col', class: 'num' }, 'Conversions'),
              hasRate ? h('th', { scope: 'col', class: 'num' }, 'Rate') : null,
            ),
          ),
          h(
            'tbody',
            {},
            items.map((row) => {
              const bar = h('span', { class: 'bar', 'aria-hidden': 'true' });
              bar.style.width = `${Math.max(1, ((Number(row.conversions) || 0) / top) * 100)}%`;
              return h(
                'tr',
                {},
                h('td', { class: 'bar-cell' }, bar, h('span', { class: 'bar-text', title: valueLabel(field, labelOf(row)) }, valueLabel(field, labelOf(row)))),
                h('td', { class: 'num' }, formatInt(row.conversions)),
                hasRate ? h('td', { class: 'num' }, formatPercent(row.rate)) : null,
              );
            }),
          ),
        )
      : h('p', { class: 'empty' }, 'No conversions in this period.'),
  );
}

const PAGE = 20;

/** The converted visits, PAGE at a time: a month of them runs to metres of screen on a phone. */
function listPanel(list) {
  const panel = h('section', { class: 'panel', 'aria-label': 'Converted visits' }, h('h2', { class: 'panel-title' }, 'Converted visits'));
  if (!list.length) return append(panel, [h('p', { class: 'empty' }, 'No conversions in this period.')]);
  const rows = h('tbody', {});
  const shown = h('p', { class: 'muted small', role: 'status' });
  const more = h('button', { type: 'button', class: 'button', 'aria-label': 'Show more converted visits', on: { click: () => showMore() } }, 'Show more');
  const showMore = () => {
    const first = rows.children.length;
    append(rows, list.slice(first, first + PAGE).map(visitRow));
    shown.textContent = `Showing ${formatInt(rows.children.length)} of ${formatInt(list.length)}`;
    if (rows.children.length < list.length) return;
    // The button goes away: keyboard focus moves on to the first visit it revealed rather than to the page.
    const hadFocus = document.activeElement === more;
    more.remove();
    if (hadFocus) rows.children[first]?.querySelector('a')?.focus();
  };
  append(panel, [
    h(
      'div',
      { class: 'table-scroll' },
      h(
        'table',
        { class: 'data-table conversions-list' },
        h(
          'thead',
          {},
          h('tr', {}, COLUMNS.map((t) => h('th', { scope: 'col', class: t.endsWith('before') ? 'num' : '' }, t))),
        ),
        rows,
      ),
    ),
    list.length > PAGE ? h('div', { class: 'list-more' }, shown, more) : null,
  ]);
  showMore();
  return panel;
}

const COLUMNS = ['Converted', 'Source', 'Landing page', 'Pages before', 'Time before', ''];

/** One converted visit; cells name their column (data-label) for the phone layout, where there is no header. */
function visitRow(c) {
  const cell = (label, props, ...content) => h('td', { ...props, 'data-label': label }, ...content);
  return h(
    'tr',
    {},
    cell(
      'Converted',
      { class: 'converted' },
      c.session_id !== undefined && c.session_id !== null
        ? link(h('a', {}, formatDateTime(c.converted_at)), { view: 'sessions', session: String(c.session_id) })
        : formatDateTime(c.converted_at),
    ),
    cell('Source', { class: 'cell-text' }, clipped(valueLabel('source', c.source))),
    cell('Landing page', { class: 'cell-text landing' }, c.landing_page ? clipped(c.landing_page) : '—'),
    cell('Pages before', { class: 'num' }, formatInt(c.pages_before)),
    cell('Time before', { class: 'num' }, formatDuration(c.seconds_before)),
    h(
      'td',
      { class: 'badges' },
      c.collision
        ? h('span', { class: 'badge warn', title: 'This user id was also seen with another visitor; attribution may be shared' }, 'collision')
        : null,
    ),
  );
}
