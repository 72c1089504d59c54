// Adding a site: the form (POST /api/v1/sites), then the snippet to paste with a copy button, and a check
// that turns green when the first page view arrives (a `today` query, polled).
import * as api from '../api.js';
import { clear, copyField, errorBox, h, isAbort } from '../dom.js';
import { navigate, readState, urlFor } from '../state.js';

const POLL_MS = 5000;

export function timezones() {
  try {
    return Intl.supportedValuesOf('timeZone');
  } catch {
    return ['UTC'];
  }
}

export function timezoneList(id) {
  return h('datalist', { id }, timezones().map((tz) => h('option', { value: tz })));
}

export function renderAddSite(root, ctx) {
  const { signal } = ctx;
  const domain = h('input', { id: 'site-domain', name: 'domain', type: 'text', required: true, placeholder: 'example.com', autocomplete: 'off', spellcheck: false, inputmode: 'url' });
  const timezone = h('input', {
    id: 'site-timezone',
    name: 'timezone',
    type: 'text',
    required: true,
    list: 'timezones',
    value: Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC',
  });
  const message = h('div', { role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'button primary' }, 'Add site');
  const form = h(
    'form',
    { class: 'form', on: { submit: (event) => create(event) } },
    h('div', { class: 'field' }, h('label', { for: 'site-domain' }, 'Domain'), domain, h('p', { class: 'hint' }, 'Without https:// or a path; subdomains count too.')),
    h('div', { class: 'field' }, h('label', { for: 'site-timezone' }, 'Time zone for reports'), timezone, timezoneList('timezones')),
    message,
    submit,
  );
  const panel = h(
    'section',
    { class: 'panel narrow' },
    h('h1', { class: 'view-title' }, ctx.firstRun ? 'Welcome to Footfall' : 'Add a site'),
    ctx.firstRun ? h('p', { class: 'lead' }, 'Add the first site you want to measure.') : null,
    form,
  );
  root.append(panel);
  domain.focus();

  async function create(event) {
    event.preventDefault();
    // A pasted address (https://example.org/page) is cleaned to its domain by the collector, for every client.
    const value = domain.value.trim();
    if (!value) return;
    submit.disabled = true;
    clear(message);
    try {
      const site = await api.createSite({ domain: value, timezone: timezone.value.trim() || 'UTC' });
      history.replaceState(null, '', urlFor(readState(), { site: site.id }));
      await ctx.reloadSites();
      clear(panel, h('h1', { class: 'view-title' }, `${site.domain} is ready`), snippetSection(site, signal, { openButton: true }));
    } catch (error) {
      if (!isAbort(error)) clear(message, errorBox(error));
      submit.disabled = false;
    }
  }
  return null;
}

function localNote() {
  return h(
    'p',
    { class: 'hint local-note' },
    'This is a local address, so the tag has ',
    h('code', {}, 'data-allow-localhost'),
    ': without it the tracker skips pages on your own machine. Leave it out on your public site.',
  );
}

/** The tracking snippet with a copy button and the first-page-view check. */
export function snippetSection(site, signal, { openButton = false, check: watch = true } = {}) {
  const local = api.isLocalDomain(site.domain);
  const status = h('p', { class: 'waiting', role: 'status' }, h('span', { class: 'pulse', 'aria-hidden': 'true' }), 'Waiting for the first page view…');
  const done = h('div', {});
  let timer = null;
  const check = async () => {
    try {
      // Any page view ever: an existing site is not "waiting" just because nobody came yet today.
      const answer = await api.query({ site: site.id, metrics: ['pageviews'], date_range: 'all' }, signal);
      const row = answer && answer.results && answer.results[0];
      if (row && Number(row.metrics[0]) > 0) {
        status.classList.add('ok');
        clear(status, h('span', { class: 'ok-dot', 'aria-hidden': 'true' }), 'Page views are arriving.');
        if (openButton) {
          clear(done, h('button', { type: 'button', class: 'button primary', on: { click: () => navigate({ site: site.id, view: 'overview' }) } }, 'Open the dashboard'));
        }
        return;
      }
    } catch (error) {
      if (isAbort(error)) return;
      clear(done, errorBox(error));
    }
    if (!signal.aborted) timer = setTimeout(check, POLL_MS);
  };
  signal.addEventListener('abort', () => clearTimeout(timer));
  // Whether page views arrive is a report: a key that may not read reports is not told.
  if (watch) check();
  return h(
    'div',
    { class: 'snippet' },
    h('p', {}, 'Paste this into the ', h('code', {}, '<head>'), ' of every page you want to measure:'),
    copyField(api.trackerSnippet(site.id, { allowLocalhost: local }), 'Tracking snippet'),
    local ? localNote() : null,
    watch ? status : null,
    done,
  );
}
