// The time chart (uPlot, vendored): visitors and pageviews per day or hour, with the previous period's
// visitors as a dashed line. Times from the API are the site's local wall-clock times ("2026-11-01",
// "2026-11-01 13:00"); they are plotted as UTC and displayed as UTC so the axis shows them unchanged.
import uPlot from '../vendor/uplot/uPlot.esm.js';
import { h } from './dom.js';
import { formatDay, formatInt } from './format.js';

// The plotted instants are wall-clock times written as UTC, so they are formatted in UTC.
const dayLabel = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' });
const hourLabel = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit', timeZone: 'UTC' });

const TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2})(?::(\d{2}))?)?/;

/** Seconds since the epoch for a wall-clock time string, read as UTC; null when it is not one. */
export function wallClockSeconds(text) {
  const m = TIME.exec(String(text));
  if (!m) return null;
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +(m[4] || 0), +(m[5] || 0)) / 1000;
}

function cssColor(name, fallback) {
  const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return value || fallback;
}

/**
 * Renders into `container`; returns a function that disposes of the chart. `series` is
 * {x: [seconds], visitors: [], pageviews: [], previous: [] | null}; `hourly` picks the axis labels.
 */
export function timeChart(container, { x, visitors, pageviews, previous, hourly, labels }) {
  const accent = cssColor('--accent', '#4f46e5');
  const second = cssColor('--chart-2', '#0d9488');
  const muted = cssColor('--text-muted', '#6b7280');
  const grid = cssColor('--border', '#e5e7eb');
  const fill = cssColor('--accent-fill', 'rgba(79,70,229,0.08)');
  const axis = {
    stroke: muted,
    grid: { stroke: grid, width: 1 },
    ticks: { stroke: grid, width: 1 },
    font: '12px system-ui, sans-serif',
  };
  const series = [
    { label: hourly ? 'Hour' : 'Day', value: (u, v) => (v == null ? '—' : hourly ? hourLabel.format(new Date(v * 1000)) : formatDay(new Date(v * 1000).toISOString().slice(0, 10))) },
    { label: 'Visitors', stroke: accent, width: 2, fill, points: { show: x.length < 40 }, value: (u, v) => formatInt(v) },
    { label: 'Pageviews', stroke: second, width: 2, points: { show: x.length < 40 }, value: (u, v) => formatInt(v) },
  ];
  const data = [x, visitors, pageviews];
  if (previous) {
    series.push({ label: 'Visitors, previous period', stroke: muted, width: 1.5, dash: [6, 4], points: { show: false }, value: (u, v) => formatInt(v) });
    data.push(previous);
  }
  const width = () => Math.max(280, container.clientWidth);
  const height = () => (window.matchMedia('(max-width: 700px)').matches ? 220 : 280);
  const plot = new uPlot(
    {
      width: width(),
      height: height(),
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
      series,
      scales: { y: { range: (u, min, max) => [0, Math.max(4, Math.ceil(max * 1.1))] } },
      axes: [
        {
          ...axis,
          // Whole days (or hours) only: a daily series has nothing to say at 8am.
          incrs: hourly ? [3600, 7200, 10800, 21600, 43200] : [86400, 172800, 604800, 1209600, 2592000, 7776000],
          values: (u, splits) => splits.map((s) => (hourly ? hourLabel : dayLabel).format(new Date(s * 1000))),
        },
        { ...axis, size: 56, values: (u, splits) => splits.map((v) => (Number.isInteger(v) ? formatInt(v) : '')) },
      ],
      cursor: { points: { size: 7 }, drag: { x: false, y: false } },
      legend: { live: true },
    },
    data,
    container,
  );
  const canvas = container.querySelector('canvas');
  if (canvas) {
    canvas.setAttribute('role', 'img');
    canvas.setAttribute('aria-label', labels || 'Visitors and pageviews over time');
  }
  const observer = new ResizeObserver(() => plot.setSize({ width: width(), height: height() }));
  observer.observe(container);
  return () => {
    observer.disconnect();
    plot.destroy();
  };
}

/** The chart's numbers as a table for screen readers (the canvas cannot be read). */
export function chartTable(caption, rows) {
  return h(
    'table',
    { class: 'visually-hidden' },
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Time'), h('th', { scope: 'col' }, 'Visitors'), h('th', { scope: 'col' }, 'Pageviews'))),
    h(
      'tbody',
      {},
      rows.map((r) => h('tr', {}, h('th', { scope: 'row' }, r.label), h('td', {}, formatInt(r.visitors)), h('td', {}, formatInt(r.pageviews)))),
    ),
  );
}
