// Numbers, durations, dates and labels, in the reader's locale (Intl), plus what the dashboard knows about
// each metric and dimension of the API (labels, how to format, whether lower is better).

const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });
const oneDecimal = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
const compact = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 });
const percent = new Intl.NumberFormat(undefined, { style: 'percent', maximumFractionDigits: 1 });
const signedPercent = new Intl.NumberFormat(undefined, {
  style: 'percent',
  maximumFractionDigits: 0,
  signDisplay: 'exceptZero',
});

const missing = (n) => n === null || n === undefined || Number.isNaN(Number(n));

export const formatInt = (n) => (missing(n) ? '—' : integer.format(Number(n)));
export const formatNumber = (n) => (missing(n) ? '—' : decimal.format(Number(n)));
/** Large numbers shortened (12.3K) where space is tight; exact below 10 000. */
export const formatCompact = (n) => (missing(n) ? '—' : Math.abs(n) < 10000 ? integer.format(n) : compact.format(n));
/** `n` is already a percentage (40.5 → "40.5%"). */
export const formatPercent = (n) => (missing(n) ? '—' : percent.format(Number(n) / 100));

/** Seconds as "45s", "1m 23s", "2h 5m". */
export function formatDuration(seconds) {
  if (missing(seconds)) return '—';
  const s = Math.max(0, Math.round(Number(seconds)));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const hours = Math.floor(m / 60);
  if (hours < 48) return `${hours}h ${m % 60}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

export const formatMs = (ms) => (missing(ms) ? '—' : formatDuration(Number(ms) / 1000));

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const timeOnly = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' });
const dayOnly = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeZone: 'UTC' });

/** Parses an API timestamp (RFC 3339 string or epoch ms); null when it is not one. */
export function parseTime(value) {
  if (value === null || value === undefined || value === '') return null;
  const date = typeof value === 'number' ? new Date(value) : new Date(String(value));
  return Number.isNaN(date.getTime()) ? null : date;
}

export function formatDateTime(value) {
  const date = parseTime(value);
  return date ? dateTime.format(date) : value ? String(value) : '—';
}

export function formatTime(value) {
  const date = parseTime(value);
  return date ? timeOnly.format(date) : '—';
}

/** A calendar day "YYYY-MM-DD" as the locale writes it (no time zone shift). */
export function formatDay(day) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(day));
  return m ? dayOnly.format(new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]))) : String(day);
}

let regionNames = null;
try {
  regionNames = new Intl.DisplayNames(undefined, { type: 'region' });
} catch {
  regionNames = null;
}

let emojiFlags = null;

/**
 * Does this browser draw flag emoji? A flag is two regional-indicator letters that an emoji font joins into
 * one picture; without such a font (Windows, many Linux desktops) they are two boxes, twice as wide.
 */
export function flagsAreEmoji() {
  if (emojiFlags === null) {
    try {
      const context = document.createElement('canvas').getContext('2d');
      context.font = '16px sans-serif';
      const pair = context.measureText('\u{1F1FA}\u{1F1F8}').width;
      const one = context.measureText('\u{1F1FA}').width;
      emojiFlags = pair > 0 && pair < one * 1.5;
    } catch {
      emojiFlags = false;
    }
  }
  return emojiFlags;
}

/** ISO 3166 alpha-2 code → flag emoji, or the code itself where flags are not drawn; '' for anything else. */
export function flag(code) {
  if (typeof code !== 'string' || !/^[A-Za-z]{2}$/.test(code)) return '';
  const upper = code.toUpperCase();
  if (!flagsAreEmoji()) return upper;
  return String.fromCodePoint(...[...upper].map((c) => 0x1f1e6 + c.charCodeAt(0) - 65));
}

export function countryName(code) {
  if (typeof code !== 'string' || !/^[A-Za-z]{2}$/.test(code)) return code || '';
  try {
    return (regionNames && regionNames.of(code.toUpperCase())) || code;
  } catch {
    return code;
  }
}

// ---- metrics and dimensions ----------------------------------------------------------------------------------

export const METRICS = {
  visitors: { label: 'Unique visitors', short: 'Visitors', kind: 'int' },
  visits: { label: 'Total visits', short: 'Visits', kind: 'int' },
  pageviews: { label: 'Total pageviews', short: 'Pageviews', kind: 'int' },
  views_per_visit: { label: 'Views per visit', short: 'Views/visit', kind: 'decimal' },
  bounce_rate: { label: 'Bounce rate', short: 'Bounce', kind: 'percent', lowerIsBetter: true },
  visit_duration: { label: 'Visit duration', short: 'Duration', kind: 'duration' },
  time_on_page: { label: 'Time on page', short: 'Time on page', kind: 'duration' },
  scroll_depth: { label: 'Scroll depth', short: 'Scroll', kind: 'percent' },
  engagement_score: { label: 'Engagement score', short: 'Engagement', kind: 'score' },
  engagement_rate: { label: 'Engagement rate', short: 'Engaged', kind: 'percent' },
  interactions: { label: 'Interactions', short: 'Interactions', kind: 'int' },
  conversions: { label: 'Conversions', short: 'Conversions', kind: 'int' },
  conversion_rate: { label: 'Conversion rate', short: 'Conv. rate', kind: 'percent' },
};

export function formatMetric(name, value) {
  switch ((METRICS[name] || {}).kind) {
    case 'percent':
      return formatPercent(value);
    case 'duration':
      return formatDuration(value);
    case 'decimal':
      return formatNumber(value);
    case 'score':
      return missing(value) ? '—' : oneDecimal.format(Number(value));
    default:
      return formatCompact(value);
  }
}

/**
 * The change from the previous period: {text, trend: 'up'|'down'|'flat', good: true|false|null, description}.
 * Relative change in percent; "new" when the previous period had none.
 */
export function change(name, current, previous) {
  if (missing(current) || missing(previous)) return null;
  const cur = Number(current);
  const prev = Number(previous);
  const lowerIsBetter = Boolean((METRICS[name] || {}).lowerIsBetter);
  const was = `from ${formatMetric(name, prev)} in the previous period`;
  if (prev === 0) {
    if (cur === 0) return { text: '0%', trend: 'flat', good: null, description: `no change, ${was}` };
    return { text: 'new', trend: 'up', good: !lowerIsBetter, description: `up ${was}` };
  }
  const ratio = (cur - prev) / Math.abs(prev);
  const trend = Math.abs(ratio) < 0.005 ? 'flat' : ratio > 0 ? 'up' : 'down';
  const good = trend === 'flat' ? null : (trend === 'up') !== lowerIsBetter;
  return { text: signedPercent.format(ratio), trend, good, description: `${trend === 'flat' ? 'no change' : trend} ${was}` };
}

export const DIMENSIONS = {
  page: 'Page',
  entry_page: 'Entry page',
  exit_page: 'Exit page',
  hostname: 'Hostname',
  title: 'Title',
  referrer: 'Referrer',
  source: 'Source',
  channel: 'Channel',
  utm_source: 'UTM source',
  utm_medium: 'UTM medium',
  utm_campaign: 'UTM campaign',
  utm_term: 'UTM term',
  utm_content: 'UTM content',
  country: 'Country',
  region: 'Region',
  city: 'City',
  browser: 'Browser',
  browser_version: 'Browser version',
  os: 'Operating system',
  os_version: 'OS version',
  device: 'Device',
  screen: 'Screen width',
  interaction: 'Interaction',
  section: 'Section',
  group: 'Group',
  audience: 'Audience',
  visitor_type: 'Visitor type',
};

export const dimensionLabel = (name) => DIMENSIONS[name] || String(name);

const CHANNELS = {
  direct: 'Direct',
  organic_search: 'Organic search',
  paid_search: 'Paid search',
  organic_social: 'Organic social',
  paid_social: 'Paid social',
  email: 'Email',
  referral: 'Referral',
  job_board: 'Job boards',
};

/** How one dimension value reads in a list ("Direct / None" for an empty source, country names, …). */
export function valueLabel(dimension, value) {
  if (value === null || value === undefined || value === '') {
    return dimension === 'source' || dimension === 'channel' ? 'Direct / None' : '(none)';
  }
  if (dimension === 'country') return countryName(value);
  if (dimension === 'channel') return CHANNELS[value] || value;
  if (dimension === 'screen' && /^\d+$/.test(String(value))) return `${value}px`;
  return String(value);
}

/** "engaged_ms" → "Engaged ms"; for rendering objects whose keys we do not know in advance. */
export function humanize(key) {
  const text = String(key).replace(/[_-]+/g, ' ').trim();
  return text.charAt(0).toUpperCase() + text.slice(1);
}
