// Overview: headline cards with the change from the previous period, the time chart, and breakdown panels.
// Every number comes from POST /api/v1/query; clicking a value in a panel filters the whole dashboard.
import * as api from '../api.js';
import { chartTable, timeChart, wallClockSeconds } from '../chart.js';
import { reportControls } from '../controls.js';
import { clear, errorBox, externalLink, h, isAbort, safeUrl, tabList } from '../dom.js';
import { METRICS, change, dimensionLabel, flag, flagsAreEmoji, formatDay, formatMetric, valueLabel } from '../format.js';
import { dateRange, navigate, withFilter } from '../state.js';

const CARD_METRICS = [
  'visitors',
  'visits',
  'pageviews',
  'views_per_visit',
  'bounce_rate',
  'visit_duration',
  'time_on_page',
  'scroll_depth',
  'engagement_score',
  'conversions',
];

// Each tab is one query: visitors and one metric that says something about that dimension.
const PANELS = [
  {
    id: 'pages',
    title: 'Pages',
    tabs: [
      { id: 'page', label: 'Top pages', metric: 'pageviews' },
      { id: 'entry_page', label: 'Entry pages', metric: 'bounce_rate' },
      { id: 'exit_page', label: 'Exit pages', metric: 'visits' },
    ],
  },
  {
    id: 'sources',
    title: 'Sources',
    tabs: [
      { id: 'source', label: 'Sources', metric: 'bounce_rate' },
      { id: 'channel', label: 'Channels', metric: 'bounce_rate' },
      { id: 'utm_source', label: 'UTM source', metric: 'bounce_rate' },
      { id: 'utm_medium', label: 'Medium', metric: 'bounce_rate' },
      { id: 'utm_campaign', label: 'Campaign', metric: 'conversions' },
      { id: 'utm_term', label: 'Term', metric: 'bounce_rate' },
      { id: 'utm_content', label: 'Content', metric: 'bounce_rate' },
    ],
  },
  {
    id: 'locations',
    title: 'Locations',
    tabs: [
      { id: 'country', label: 'Countries', metric: 'visits' },
      { id: 'region', label: 'Regions', metric: 'visits' },
      { id: 'city', label: 'Cities', metric: 'visits' },
    ],
  },
  {
    id: 'devices',
    title: 'Devices',
    tabs: [
      { id: 'browser', label: 'Browsers', metric: 'bounce_rate' },
      { id: 'os', label: 'OS', metric: 'bounce_rate' },
      { id: 'device', label: 'Devices', metric: 'bounce_rate' },
      { id: 'screen', label: 'Screens', metric: 'bounce_rate' },
    ],
  },
  {
    id: 'audience',
    title: 'Audience',
    tabs: [
      { id: 'audience', label: 'Audiences', metric: 'engagement_score' },
      { id: 'visitor_type', label: 'Identified', metric: 'engagement_score' },
    ],
  },
  {
    id: 'engagement',
    title: 'Engagement',
    tabs: [
      { id: 'interaction', label: 'Interactions', metric: 'interactions' },
      { id: 'section', label: 'Sections', metric: 'visits' },
    ],
  },
];

// Chosen tabs survive re-rendering (a new filter, another period) while the page is open.
const chosenTabs = {};
const SHORT_LIST = 9;
const LONG_LIST = 100;

export function renderOverview(root, ctx) {
  const { state, site, signal } = ctx;
  const base = { site: site.id, date_range: dateRange(state), filters: state.filters };
  const cards = h('section', { class: 'cards', 'aria-label': 'Summary', 'aria-busy': 'true' });
  const chart = h('section', { class: 'panel chart-panel', 'aria-label': 'Visitors over time' });
  const panels = h('div', { class: 'panels' });
  let disposeChart = null;

  root.append(reportControls(state), cards, chart, panels);
  loadCards(cards, base, signal);
  loadChart(chart, base, state, signal, site).then((dispose) => {
    if (signal.aborted) dispose && dispose();
    else disposeChart = dispose;
  });
  for (const panel of PANELS) panels.append(breakdownPanel(panel, base, ctx));
  return () => disposeChart && disposeChart();
}

function placeholderCards(cards) {
  clear(
    cards,
    CARD_METRICS.map((m) => h('div', { class: 'card' }, h('div', { class: 'card-label' }, METRICS[m].label), h('div', { class: 'card-value muted' }, '…'))),
  );
}

async function loadCards(cards, base, signal) {
  placeholderCards(cards);
  try {
    const answer = await api.queryLenient({ ...base, metrics: CARD_METRICS, compare: 'previous_period' }, signal);
    const current = (answer.results[0] || { metrics: [] }).metrics;
    const previous = answer.compare && answer.compare[0] ? answer.compare[0].metrics : null;
    clear(
      cards,
      CARD_METRICS.map((metric, i) => {
        const unavailable = answer.unavailable.includes(metric);
        const delta = previous && !unavailable ? change(metric, current[i], previous[i]) : null;
        return h(
          'div',
          { class: 'card' },
          h('div', { class: 'card-label' }, METRICS[metric].label),
          h('div', { class: 'card-value' }, formatMetric(metric, current[i])),
          unavailable
            ? h('div', { class: 'card-change muted' }, 'not available yet')
            : delta
              ? h(
                  'div',
                  { class: ['card-change', delta.trend, delta.good === true ? 'good' : delta.good === false ? 'bad' : ''], title: delta.description },
                  h('span', { 'aria-hidden': 'true' }, delta.trend === 'up' ? '↑ ' : delta.trend === 'down' ? '↓ ' : ''),
                  delta.text,
                  h('span', { class: 'visually-hidden' }, ` (${delta.description})`),
                )
              : null,
        );
      }),
    );
    cards.setAttribute('aria-busy', 'false');
  } catch (error) {
    if (isAbort(error)) return;
    clear(cards, errorBox(error, () => loadCards(cards, base, signal)));
  }
}

/** The current wall-clock time in `timezone`, as the chart's seconds (see chart.js); null if unknown. */
function siteNowSeconds(timezone) {
  try {
    const parts = Object.fromEntries(
      new Intl.DateTimeFormat('en-CA', { timeZone: timezone || undefined, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' })
        .formatToParts(new Date())
        .map((p) => [p.type, p.value]),
    );
    return wallClockSeconds(`${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`);
  } catch {
    return null;
  }
}

async function loadChart(chart, base, state, signal, ctxSite) {
  const hourly = state.period === 'today' || state.period === 'yesterday' || (state.period === 'custom' && state.from === state.to);
  const dimension = hourly ? 'time:hour' : 'time:day';
  clear(chart, h('h2', { class: 'panel-title' }, hourly ? 'Visitors by hour' : 'Visitors by day'), h('div', { class: 'chart-box loading-box' }, 'Loading…'));
  try {
    const answer = await api.queryLenient(
      { ...base, metrics: ['visitors', 'pageviews'], dimensions: [dimension], compare: 'previous_period', limit: 1200 },
      signal,
    );
    const rows = answer.results
      .map((r) => ({ x: wallClockSeconds(r.dimensions[0]), label: String(r.dimensions[0]), visitors: r.metrics[0], pageviews: r.metrics[1] }))
      .filter((r) => r.x !== null)
      .sort((a, b) => a.x - b.x);
    const previousRows = (answer.compare || [])
      .map((r) => ({ x: wallClockSeconds(r.dimensions[0]), visitors: r.metrics[0] }))
      .filter((r) => r.x !== null)
      .sort((a, b) => a.x - b.x);
    const box = h('div', { class: 'chart-box' });
    clear(chart, h('h2', { class: 'panel-title' }, hourly ? 'Visitors by hour' : 'Visitors by day'), box);
    if (!rows.length) {
      box.append(h('p', { class: 'empty' }, 'No data for this period.'));
      return null;
    }
    // Today's hours that have not happened yet (in the site's time zone) are gaps, not zeros.
    const now = state.period === 'today' ? siteNowSeconds(ctxSite.timezone) : null;
    const upToNow = (r, v) => (now !== null && r.x > now ? null : v);
    const dispose = timeChart(box, {
      x: rows.map((r) => r.x),
      visitors: rows.map((r) => upToNow(r, r.visitors)),
      pageviews: rows.map((r) => upToNow(r, r.pageviews)),
      // The previous period lines up by position: its first day under this period's first day.
      previous: previousRows.length ? rows.map((_, i) => (previousRows[i] ? previousRows[i].visitors : null)) : null,
      hourly,
    });
    chart.append(
      chartTable(
        'Visitors and pageviews over time',
        rows.map((r) => ({ label: hourly ? r.label : formatDay(r.label), visitors: r.visitors, pageviews: r.pageviews })),
      ),
    );
    return dispose;
  } catch (error) {
    if (isAbort(error)) return null;
    clear(chart, h('h2', { class: 'panel-title' }, 'Visitors over time'), errorBox(error, () => loadChart(chart, base, state, signal, ctxSite)));
    return null;
  }
}

/**
 * The address of one of the site's pages, or null. The path is tracked data: it is appended to the site's own
 * origin (not resolved against it), so a path such as `//elsewhere.example/` stays a path on the site.
 */
function sitePageUrl(domain, path) {
  if (typeof path !== 'string' || !path.startsWith('/')) return null;
  const origin = safeUrl(`https://${domain}/`);
  const url = origin && safeUrl(`https://${domain}${path}`);
  return url && new URL(url).host === new URL(origin).host ? url : null;
}

function breakdownPanel(panel, base, ctx) {
  const selected = chosenTabs[panel.id] && panel.tabs.some((t) => t.id === chosenTabs[panel.id]) ? chosenTabs[panel.id] : panel.tabs[0].id;
  const body = h('div', { class: 'panel-body', role: 'tabpanel', 'aria-live': 'polite' });
  const show = (tabId, limit = SHORT_LIST) => {
    chosenTabs[panel.id] = tabId;
    loadBreakdown(body, panel.tabs.find((t) => t.id === tabId), base, ctx, limit, (more) => show(tabId, more));
  };
  const header =
    panel.tabs.length > 1
      ? h('div', { class: 'panel-head' }, h('h2', { class: 'panel-title' }, panel.title), h('div', { class: 'tabs-scroll' }, tabList(panel.title, panel.tabs, selected, (id) => show(id))))
      : h('div', { class: 'panel-head' }, h('h2', { class: 'panel-title' }, panel.title));
  show(selected);
  return h('section', { class: 'panel', 'aria-label': panel.title }, header, body);
}

async function loadBreakdown(body, tab, base, ctx, limit, onMore) {
  const { signal, state, site } = ctx;
  clear(body, h('p', { class: 'loading-box' }, 'Loading…'));
  try {
    const answer = await api.queryLenient(
      { ...base, metrics: ['visitors', tab.metric], dimensions: [tab.id], order_by: [['visitors', 'desc']], limit: limit + 1 },
      signal,
    );
    const rows = answer.results.slice(0, limit);
    if (!rows.length) {
      clear(body, h('p', { class: 'empty' }, 'No data for this period.'));
      return;
    }
    const top = Math.max(1, ...rows.map((r) => Number(r.metrics[0]) || 0));
    const metricUnavailable = answer.unavailable.includes(tab.metric);
    const table = h(
      'table',
      { class: 'breakdown' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', { scope: 'col' }, dimensionLabel(tab.id)),
          h('th', { scope: 'col', class: 'num' }, METRICS.visitors.short),
          metricUnavailable ? null : h('th', { scope: 'col', class: 'num' }, METRICS[tab.metric].short),
        ),
      ),
      h(
        'tbody',
        {},
        rows.map((row) => {
          const value = row.dimensions[0];
          const label = valueLabel(tab.id, value);
          const bar = h('span', { class: 'bar', 'aria-hidden': 'true' });
          bar.style.width = `${Math.max(1, ((Number(row.metrics[0]) || 0) / top) * 100)}%`;
          const pageUrl = tab.id === 'page' || tab.id === 'entry_page' || tab.id === 'exit_page' ? sitePageUrl(site.domain, value) : null;
          return h(
            'tr',
            {},
            h(
              'td',
              { class: 'bar-cell' },
              bar,
              h(
                'button',
                {
                  type: 'button',
                  class: 'bar-label',
                  title: `Filter by ${dimensionLabel(tab.id)}: ${label}`,
                  on: { click: () => navigate({ filters: withFilter(state.filters, tab.id, value ?? ''), offset: 0 }) },
                },
                tab.id === 'country' && flag(value) ? h('span', { class: ['flag', !flagsAreEmoji() && 'flag-code'], 'aria-hidden': 'true' }, flag(value) + ' ') : null,
                label,
              ),
              pageUrl ? externalLink(pageUrl, '↗', { class: 'row-link', 'aria-label': `Open ${value} on ${site.domain}`, title: 'Open the page' }) : null,
            ),
            h('td', { class: 'num' }, formatMetric('visitors', row.metrics[0])),
            metricUnavailable ? null : h('td', { class: 'num' }, formatMetric(tab.metric, row.metrics[1])),
          );
        }),
      ),
    );
    const more = answer.results.length > limit && limit < LONG_LIST;
    const less = limit > SHORT_LIST;
    clear(
      body,
      table,
      more || less
        ? h('div', { class: 'panel-foot' }, h('button', { type: 'button', class: 'link-button', on: { click: () => onMore(more ? LONG_LIST : SHORT_LIST) } }, more ? 'Show more' : 'Show less'))
        : null,
    );
  } catch (error) {
    if (isAbort(error)) return;
    clear(body, errorBox(error, () => loadBreakdown(body, tab, base, ctx, limit, onMore)));
  }
}
