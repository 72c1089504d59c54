// The dashboard's state lives in the URL's query string (site, view, period, filters, session, page), so a
// reload or a shared address shows the same thing. Values read from the URL are validated here: anyone can
// craft a link.

export const VIEWS = ['overview', 'realtime', 'sessions', 'conversions', 'bots', 'settings', 'add-site'];
export const PERIODS = [
  { id: 'today', label: 'Today' },
  { id: 'yesterday', label: 'Yesterday' },
  { id: '7d', label: 'Last 7 days' },
  { id: '30d', label: 'Last 30 days' },
  { id: 'month', label: 'This month' },
  { id: 'year', label: 'This year' },
  { id: 'custom', label: 'Custom range' },
];
const DEFAULT_PERIOD = '7d';
const OPERATORS = ['is', 'is_not', 'contains', 'not_contains'];
const DAY = /^\d{4}-\d{2}-\d{2}$/;

function parseFilters(text) {
  if (!text) return [];
  try {
    const value = JSON.parse(text);
    if (!Array.isArray(value)) return [];
    return value
      .filter(
        (f) =>
          Array.isArray(f) &&
          f.length === 3 &&
          OPERATORS.includes(f[0]) &&
          typeof f[1] === 'string' &&
          /^[a-z_:]{1,32}$/.test(f[1]) &&
          Array.isArray(f[2]) &&
          f[2].length > 0 &&
          f[2].length <= 20 &&
          f[2].every((v) => typeof v === 'string' && v.length <= 2048),
      )
      .slice(0, 20);
  } catch {
    return [];
  }
}

export function readState() {
  const p = new URLSearchParams(location.search);
  const view = VIEWS.includes(p.get('view')) ? p.get('view') : 'overview';
  let period = PERIODS.some((x) => x.id === p.get('period')) ? p.get('period') : DEFAULT_PERIOD;
  const from = DAY.test(p.get('from') || '') ? p.get('from') : null;
  const to = DAY.test(p.get('to') || '') ? p.get('to') : null;
  if (period === 'custom' && !(from && to && from <= to)) period = DEFAULT_PERIOD;
  const offset = Number.parseInt(p.get('offset') || '0', 10);
  const site = p.get('site');
  const session = p.get('session');
  return {
    site: site && site.length <= 128 ? site : null,
    view,
    period,
    from: period === 'custom' ? from : null,
    to: period === 'custom' ? to : null,
    filters: parseFilters(p.get('filters')),
    session: session && session.length <= 128 ? session : null,
    offset: Number.isFinite(offset) && offset > 0 ? offset : 0,
  };
}

/** The address for `state` with `changes` applied (default values left out, so links stay short). */
export function urlFor(state, changes = {}) {
  const next = { ...state, ...changes };
  const p = new URLSearchParams();
  const share = new URLSearchParams(location.search).get('share');
  if (share) p.set('share', share);
  if (next.site) p.set('site', next.site);
  if (next.view && next.view !== 'overview') p.set('view', next.view);
  if (next.period && next.period !== DEFAULT_PERIOD) p.set('period', next.period);
  if (next.period === 'custom') {
    p.set('from', next.from);
    p.set('to', next.to);
  }
  if (next.filters && next.filters.length) p.set('filters', JSON.stringify(next.filters));
  if (next.session && next.view === 'sessions') p.set('session', next.session);
  if (next.offset && next.view === 'sessions' && !next.session) p.set('offset', String(next.offset));
  const search = p.toString();
  return location.pathname + (search ? `?${search}` : '');
}

let listener = () => {};

export function onStateChange(fn) {
  listener = fn;
  window.addEventListener('popstate', () => listener(readState()));
}

export function navigate(changes, { replace = false } = {}) {
  const url = urlFor(readState(), changes);
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  listener(readState());
}

/** Makes a plain link behave as in-app navigation (new tab / modified clicks keep their default). */
export function link(a, changes) {
  a.href = urlFor(readState(), changes);
  a.addEventListener('click', (event) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(changes);
  });
  return a;
}

/** The API's `date_range` for the state: a keyword or [from, to]. */
export function dateRange(state) {
  return state.period === 'custom' ? [state.from, state.to] : state.period;
}

/** Adds `["is", dimension, [value]]`, replacing an earlier `is` filter on the same dimension. */
export function withFilter(filters, dimension, value) {
  const rest = filters.filter((f) => !(f[0] === 'is' && f[1] === dimension));
  return [...rest, ['is', dimension, [value]]];
}
