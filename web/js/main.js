// The dashboard's entry point: decides how the visitor is signed in (share link, dashboard session, API
// key, or not at all → sign-in / first-run screen), loads the sites, and renders the view the URL names.
// Each view gets an AbortSignal that is aborted when the URL changes, so stale answers never land.
import * as api from './api.js';
import { permissions } from './access.js';
import { clear, errorBox, h } from './dom.js';
import { link, navigate, onStateChange, readState, urlFor } from './state.js';
import { renderInvite, renderReset } from './views/account.js';
import { renderLogin, renderSetup } from './views/auth.js';
import { renderBots } from './views/bots.js';
import { renderConversions } from './views/conversions.js';
import { renderOverview } from './views/overview.js';
import { renderRealtime } from './views/realtime.js';
import { renderSessions } from './views/sessions.js';
import { renderSettings } from './views/settings.js';
import { renderAddSite } from './views/sites.js';

const topbar = document.getElementById('topbar');
const main = document.getElementById('main');

const NAV = [
  { view: 'overview', label: 'Overview', render: renderOverview, report: true },
  { view: 'realtime', label: 'Real time', render: renderRealtime, report: true },
  { view: 'sessions', label: 'Sessions', render: renderSessions, report: true },
  { view: 'conversions', label: 'Conversions', render: renderConversions, report: true },
  { view: 'bots', label: 'Bots', render: renderBots, report: true },
  { view: 'settings', label: 'Settings', render: renderSettings },
];

/** The screens this visitor can use: reports need stats:read; settings are not for share links. */
function screens() {
  const may = permissions(app.principal, app.sites);
  return NAV.filter((n) => (n.report ? may.readStats : !app.readOnly));
}

const app = { ready: false, user: null, principal: null, sites: [], sitesError: null, readOnly: false };
let running = { controller: null, cleanup: null };

function stopView() {
  if (running.controller) running.controller.abort();
  if (typeof running.cleanup === 'function') running.cleanup();
  running = { controller: null, cleanup: null };
}

function brand() {
  const logo = h('span', { class: 'brand-mark', 'aria-hidden': 'true' });
  return app.readOnly ? h('span', { class: 'brand' }, logo, 'Footfall') : h('a', { class: 'brand', href: '/' }, logo, 'Footfall');
}

async function boot() {
  app.ready = false;
  stopView();
  clear(topbar, h('div', { class: 'topbar-inner' }, brand()));
  clear(main, h('p', { class: 'loading-box' }, 'Loading…'));
  api.setUnauthorizedHandler((error) => {
    if (api.authMode() === 'key') api.forgetApiKey();
    app.user = null;
    showLogin(error);
  });
  const share = api.shareTokenFromLocation();
  if (share) {
    api.useShareToken(share);
    app.readOnly = true;
    app.principal = { kind: 'share' };
    return start();
  }
  let status = null;
  try {
    status = await api.authStatus();
  } catch (error) {
    // 404: a server without dashboard accounts yet; 401: not signed in. Anything else is worth saying.
    if (error.status !== 404 && error.status !== 401) {
      clear(main, errorBox(error, boot));
      return;
    }
  }
  // A one-time link (#/invite/TOKEN, #/reset/TOKEN) opens its own page, signed in or not.
  const oneTime = api.linkFromLocation();
  if (oneTime) return openLink(oneTime, status);
  if (status && status.setup_required) {
    renderSetup(main, { onSignedIn: boot });
    return;
  }
  if (status && status.user) {
    app.user = status.user;
    app.principal = status.principal || { kind: 'account' };
    return start();
  }
  const key = api.storedApiKey();
  if (key) {
    api.useApiKey(key);
    return start();
  }
  showLogin(null);
}

/** The page of an invitation or reset link; afterwards the link leaves the address (it works once). */
function openLink({ kind, token }, status) {
  clear(topbar, h('div', { class: 'topbar-inner' }, brand()));
  const leave = (search) => history.replaceState(null, '', `/${search}`);
  if (kind === 'invite') {
    document.title = 'Invitation · Footfall';
    return renderInvite(main, {
      token,
      signedInAs: status && status.user ? status.user.email : null,
      onJoined: (site) => {
        leave(site ? `?site=${encodeURIComponent(site)}` : '');
        boot();
      },
    });
  }
  document.title = 'New password · Footfall';
  renderReset(main, {
    token,
    onDone: (email) => {
      leave('');
      showLogin(null, { message: 'Your password is set. Sign in with it.', email });
    },
  });
}

function showLogin(notice, { message, email } = {}) {
  app.ready = false;
  stopView();
  clear(topbar, h('div', { class: 'topbar-inner' }, brand()));
  document.title = 'Sign in · Footfall';
  renderLogin(main, {
    notice,
    message,
    email,
    onSignedIn: boot,
    onApiKey: (site) => {
      if (site) history.replaceState(null, '', urlFor(readState(), { site }));
      start();
    },
  });
}

async function reloadSites() {
  try {
    app.sites = await api.listSites();
    app.sitesError = null;
  } catch (error) {
    app.sites = [];
    app.sitesError = error;
    if (error.status === 401) return false;
  }
  return true;
}

/** A key's scope and site, which only the server knows; nothing is offered for writing until it says. */
async function learnKeyPrincipal() {
  app.principal = null;
  try {
    app.principal = (await api.authStatus()).principal || null;
  } catch (error) {
    if (error.status !== 401) return true;
    api.forgetApiKey();
    showLogin(error);
    return false;
  }
  return true;
}

async function start() {
  clear(main, h('p', { class: 'loading-box' }, 'Loading…'));
  if (!(await reloadSites())) return;
  if (api.authMode() === 'key' && !(await learnKeyPrincipal())) return;
  app.ready = true;
  render(readState());
}

function chooseSite(state) {
  const listed = app.sites.find((s) => s.id === state.site);
  if (listed) return listed;
  // Without a site list (share links, API keys, older servers) the URL's site is trusted: the API says if
  // it is wrong.
  if (state.site && (app.sitesError || app.readOnly)) return { id: state.site, domain: state.site };
  if (!state.site && app.sites.length) {
    history.replaceState(null, '', urlFor(state, { site: app.sites[0].id }));
    return app.sites[0];
  }
  return null;
}

function renderTopbar(state, site) {
  const siteControl = (() => {
    if (app.readOnly || app.sitesError) return site ? h('span', { class: 'site-name' }, site.domain) : null;
    if (!app.sites.length) return null;
    const select = h(
      'select',
      { id: 'site-select', class: 'select site-select' },
      // A site the account does not own says how it reaches it.
      app.sites.map((s) => h('option', { value: s.id, selected: site && s.id === site.id }, s.role && s.role !== 'owner' ? `${s.domain} (${s.role})` : s.domain)),
      permissions(app.principal, app.sites).addSite ? h('option', { value: '__add__' }, '+ Add a site…') : null,
    );
    select.addEventListener('change', () => {
      if (select.value === '__add__') navigate({ view: 'add-site', session: null, offset: 0 });
      else navigate({ site: select.value, view: state.view === 'add-site' ? 'overview' : state.view, filters: [], session: null, offset: 0 });
    });
    return h('div', { class: 'site-switch' }, h('label', { for: 'site-select', class: 'visually-hidden' }, 'Site'), select);
  })();
  const nav = site
    ? h(
        'nav',
        { class: 'nav', 'aria-label': 'Reports' },
        h(
          'ul',
          {},
          screens().map((n) =>
            h(
              'li',
              {},
              link(h('a', { class: 'nav-link', 'aria-current': n.view === state.view ? 'page' : null, dataset: { key: `nav-${n.view}` } }, n.label), {
                view: n.view,
                session: null,
                offset: 0,
              }),
            ),
          ),
        ),
      )
    : null;
  let account = null;
  if (app.readOnly) account = h('span', { class: 'badge' }, 'Read-only shared view');
  else if (api.authMode() === 'key')
    account = h('div', { class: 'account' }, h('span', { class: 'muted small' }, 'API key'), h('button', { type: 'button', class: 'link-button', dataset: { key: 'signout' }, on: { click: () => { api.forgetApiKey(); showLogin(null); } } }, 'Forget key'));
  else if (app.user)
    account = h(
      'div',
      { class: 'account' },
      app.user.email ? h('span', { class: 'muted small account-email' }, String(app.user.email)) : null,
      h(
        'button',
        {
          type: 'button',
          class: 'link-button',
          dataset: { key: 'signout' },
          on: {
            click: async () => {
              try {
                await api.logout();
              } catch {
                // Signed out locally either way; the cookie expires on its own.
              }
              app.user = null;
              showLogin(null);
            },
          },
        },
        'Sign out',
      ),
    );
  clear(topbar, h('div', { class: 'topbar-inner' }, brand(), siteControl, account), nav ? h('div', { class: 'topbar-nav' }, nav) : null);
}

function noSite(state) {
  if (app.sitesError) {
    return h(
      'section',
      { class: 'panel narrow' },
      h('h1', { class: 'view-title' }, 'Sites are not available'),
      errorBox(app.sitesError, start),
      h('p', { class: 'muted' }, 'If you know the site’s id, add ?site=ID to this page’s address.'),
    );
  }
  if (state.site) {
    return h(
      'section',
      { class: 'panel narrow' },
      h('h1', { class: 'view-title' }, 'No such site'),
      h('p', {}, `There is no site “${state.site}” here, or you cannot see it.`),
      app.sites.length ? link(h('a', {}, 'Go to your sites'), { site: app.sites[0].id, view: 'overview', filters: [] }) : null,
    );
  }
  return null;
}

function render(state) {
  if (!app.ready) return;
  const focusKey = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.key : null;
  const focusWasInMain = main.contains(document.activeElement);
  stopView();
  const site = chooseSite(state);
  state = readState();
  renderTopbar(state, site);
  const root = h('div', { class: 'view' });
  clear(main, root);
  const controller = new AbortController();
  running.controller = controller;
  // After a view adds or changes a site: the list again, and the top bar (switcher) from the current URL.
  const sitesChanged = async () => {
    await reloadSites();
    const now = readState();
    renderTopbar(now, chooseSite(now));
  };
  const may = permissions(app.principal, app.sites);
  const ctx = { state, site, sites: app.sites, user: app.user, readOnly: app.readOnly, principal: app.principal, may, signal: controller.signal, reloadSites: sitesChanged };
  const usable = screens();
  const entry = usable.find((n) => n.view === state.view) || usable[0];
  if (state.view === 'add-site' && may.addSite) {
    running.cleanup = renderAddSite(root, ctx);
    document.title = 'Add a site · Footfall';
  } else if (!site) {
    const problem = noSite(state);
    if (problem) root.append(problem);
    else if (app.readOnly) root.append(errorBox('This share link does not name a site.'));
    else if (!may.addSite) root.append(errorBox('This API key reaches no site, and cannot add one.'));
    else running.cleanup = renderAddSite(root, { ...ctx, firstRun: true });
    document.title = 'Footfall';
  } else {
    running.cleanup = entry.render(root, ctx);
    document.title = `${entry.label} · ${site.domain} · Footfall`;
  }
  const again = focusKey && document.querySelector(`[data-key="${CSS.escape(focusKey)}"]`);
  if (again) again.focus();
  else if (focusWasInMain && !main.contains(document.activeElement)) main.focus({ preventScroll: true });
}

onStateChange((state) => render(state));
window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => render(readState()));
boot();
