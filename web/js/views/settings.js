// Settings for the chosen site (PATCH /api/v1/sites/{site}), its share links, API keys and people, and the
// signed-in account's own (password; the accounts list for the instance's administrator). Not shown to
// share-link visitors (read-only). What is offered follows `ctx.may` (access.js): a stats:read key reads the
// settings, a sites:write key changes its site's; an account acts by its role on the site — the owner and
// admins manage it, a viewer sees no settings forms at all, only its access and its account.
import { readOnlyReason } from '../access.js';
import * as api from '../api.js';
import { append, clear, copyField, errorBox, h, isAbort } from '../dom.js';
import { formatDateTime } from '../format.js';
import { accountPanel, accountsPanel } from './account.js';
import { peoplePanel, viewerNote } from './people.js';
import { snippetSection, timezoneList } from './sites.js';

export function renderSettings(root, ctx) {
  const { site, signal } = ctx;
  const viewer = ctx.may.role(site.id) === 'viewer';
  const siteSections = viewer
    ? [viewerNote(ctx)]
    : [
        h('section', { class: 'panel', 'aria-label': 'Tracking snippet' }, h('h2', { class: 'panel-title' }, 'Tracking snippet'), snippetSection(site, signal, { check: ctx.may.readStats })),
        siteForm(ctx),
        ...(ctx.may.manageCredentials(site.id) ? [shareLinksPanel(ctx), apiKeysPanel(ctx)] : ctx.may.account ? [] : [credentialsNote()]),
        ctx.may.managePeople(site.id) ? peoplePanel(ctx) : null,
      ];
  append(root, [
    h('h1', { class: 'view-title' }, `Settings · ${site.domain}`),
    siteSections,
    ctx.may.account ? accountPanel(ctx) : null,
    ctx.may.account && ctx.user && ctx.user.is_admin ? accountsPanel(ctx) : null,
  ]);
  return null;
}

function credentialsNote() {
  return h(
    'section',
    { class: 'panel', 'aria-label': 'Share links and API keys' },
    h('h2', { class: 'panel-title' }, 'Share links and API keys'),
    h('p', { class: 'muted' }, 'Share links and API keys are made and revoked by a signed-in account, not with an API key.'),
  );
}

const hostnamesText = (value) => (Array.isArray(value) ? value.join('\n') : typeof value === 'string' ? value : '');

function siteForm(ctx) {
  const { site } = ctx;
  const editable = ctx.may.manageSite(site.id);
  const panel = h('section', { class: 'panel', 'aria-label': 'Site settings' }, h('h2', { class: 'panel-title' }, 'Site'), h('p', { class: 'loading-box' }, 'Loading…'));
  const render = (current) => {
    const hostnames = h('textarea', { id: 'set-hostnames', rows: 3, spellcheck: false }, hostnamesText(current.allowed_hostnames));
    const timezone = h('input', { id: 'set-timezone', type: 'text', list: 'set-timezones', value: current.timezone || '' });
    const retention = h('input', { id: 'set-retention', type: 'number', min: 1, max: 3650, inputmode: 'numeric', value: current.retention_days ?? '' });
    const check = (id, label, hint, value) => {
      const box = h('input', { id, type: 'checkbox', checked: Boolean(value) });
      return [box, h('div', { class: 'check' }, box, h('label', { for: id }, label), h('p', { class: 'hint' }, hint))];
    };
    const [dnt, dntField] = check('set-dnt', 'Honour Do Not Track and Global Privacy Control', 'Browsers that ask not to be tracked are not counted.', current.respect_dnt);
    const [hash, hashField] = check('set-hash', 'Count hash routes', 'For single-page apps whose routes live after # in the URL.', current.hash_routing);
    const [presence, presenceField] = check(
      'set-presence',
      'Public presence counts',
      'Lets your pages ask “how many people are reading this” (GET /api/v1/presence), without signing in.',
      current.public_presence,
    );
    const [ownVisit, ownVisitField] = check(
      'set-own-visit',
      'Visitors may see and forget their own visit',
      'Lets a visitor read what is stored about their current visit and erase it (GET/DELETE /api/v1/visitors/session/current), without signing in.',
      current.public_current_session,
    );
    const message = h('div', { role: 'status' });
    const save = editable ? h('button', { type: 'submit', class: 'button primary' }, 'Save') : null;
    const form = h(
      'form',
      {
        class: 'form',
        on: {
          submit: async (event) => {
            event.preventDefault();
            if (!editable) return;
            const next = {
              allowed_hostnames: hostnames.value.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean),
              timezone: timezone.value.trim(),
              retention_days: retention.value === '' ? undefined : Number(retention.value),
              respect_dnt: dnt.checked,
              hash_routing: hash.checked,
              public_presence: presence.checked,
              public_current_session: ownVisit.checked,
            };
            const changes = {};
            for (const [key, value] of Object.entries(next)) {
              if (value === undefined) continue;
              if (JSON.stringify(value) !== JSON.stringify(key === 'allowed_hostnames' ? current[key] || [] : current[key])) changes[key] = value;
            }
            if (!Object.keys(changes).length) {
              clear(message, h('p', { class: 'muted' }, 'Nothing changed.'));
              return;
            }
            save.disabled = true;
            try {
              const updated = await api.updateSite(site.id, changes);
              await ctx.reloadSites();
              render({ ...current, ...changes, ...(updated || {}) });
              panel.querySelector('[role=status]').append(h('p', { class: 'ok-text' }, 'Saved.'));
            } catch (error) {
              save.disabled = false;
              clear(message, errorBox(error));
            }
          },
        },
      },
      editable ? null : h('p', { class: 'muted' }, readOnlyReason(ctx.principal)),
      // Disabled as a group: the values stay readable (and announced as unavailable) when they cannot change.
      h(
        'fieldset',
        { class: 'plain-fieldset', disabled: !editable },
        h('legend', { class: 'visually-hidden' }, 'Site settings'),
        h('div', { class: 'field' }, h('span', { class: 'label' }, 'Domain'), h('p', { class: 'mono' }, site.domain)),
        h(
          'div',
          { class: 'field' },
          h('label', { for: 'set-hostnames' }, 'Other allowed hostnames'),
          hostnames,
          h('p', { class: 'hint' }, 'One per line. Page views from other hostnames are filtered out (see Bots).'),
        ),
        h('div', { class: 'field' }, h('label', { for: 'set-timezone' }, 'Time zone for reports'), timezone, timezoneList('set-timezones')),
        h('div', { class: 'field' }, h('label', { for: 'set-retention' }, 'Keep raw events and sessions for (days)'), retention, h('p', { class: 'hint' }, 'Daily totals are kept after that.')),
        dntField,
        hashField,
        presenceField,
        ownVisitField,
      ),
      message,
      save,
    );
    clear(panel, h('h2', { class: 'panel-title' }, 'Site'), form);
  };
  api.getSite(site.id, ctx.signal).then(
    (full) => render(full || site),
    (error) => {
      if (isAbort(error)) return;
      // The list's copy of the site is enough to edit it when the single-site read is not there.
      if (error.status === 404 && Object.keys(site).length > 2) render(site);
      else clear(panel, h('h2', { class: 'panel-title' }, 'Site'), errorBox(error));
    },
  );
  return panel;
}

function shareLinksPanel(ctx) {
  const { site, signal } = ctx;
  const list = h('div', {}, h('p', { class: 'loading-box' }, 'Loading…'));
  const created = h('div', {});
  const load = async () => {
    try {
      const links = await api.shareLinks(site.id, signal);
      clear(
        list,
        links.length
          ? h(
              'ul',
              { class: 'item-list' },
              links.map((link) =>
                h(
                  'li',
                  { class: 'item' },
                  h(
                    'span',
                    { class: 'item-main' },
                    link.label ? `${link.label} ` : null,
                    // The token is shown once, when the link is made; the list knows its first characters.
                    link.prefix ? h('span', { class: 'mono muted' }, `${link.prefix}…`) : null,
                  ),
                  link.created_at ? h('span', { class: 'muted small' }, `created ${formatDateTime(link.created_at)}`) : null,
                  link.expires_at ? h('span', { class: 'muted small' }, `expires ${formatDateTime(link.expires_at)}`) : null,
                  h(
                    'button',
                    {
                      type: 'button',
                      class: 'button small danger',
                      'aria-label': `Delete share link ${link.label || link.prefix || link.id}`,
                      on: {
                        click: async (event) => {
                          if (!confirm('Delete this share link? Anyone using it loses access.')) return;
                          event.target.disabled = true;
                          try {
                            await api.deleteShareLink(site.id, link.id);
                            load();
                          } catch (error) {
                            event.target.disabled = false;
                            clear(created, errorBox(error));
                          }
                        },
                      },
                    },
                    'Delete',
                  ),
                ),
              ),
            )
          : h('p', { class: 'muted' }, 'No share links yet.'),
      );
    } catch (error) {
      if (!isAbort(error)) clear(list, errorBox(error, load));
    }
  };
  const button = h(
    'button',
    {
      type: 'button',
      class: 'button',
      on: {
        click: async () => {
          button.disabled = true;
          try {
            const link = await api.createShareLink(site.id);
            clear(
              created,
              h('p', {}, 'Anyone with this link can see this site’s dashboard, read-only. Copy it now: it is shown only once.'),
              copyField(api.shareUrl(link || {}), 'Share link'),
            );
            load();
          } catch (error) {
            clear(created, errorBox(error));
          } finally {
            button.disabled = false;
          }
        },
      },
    },
    'Create share link',
  );
  load();
  return h('section', { class: 'panel', 'aria-label': 'Share links' }, h('h2', { class: 'panel-title' }, 'Share links'), list, button, created);
}

const SCOPES = [
  ['stats:read', 'stats:read — read reports'],
  ['sites:write', 'sites:write — manage sites'],
  ['events:write', 'events:write — server-side events'],
];

function apiKeysPanel(ctx) {
  const { signal } = ctx;
  const list = h('div', {}, h('p', { class: 'loading-box' }, 'Loading…'));
  const created = h('div', { 'aria-live': 'polite' });
  const siteName = (id) => {
    const s = ctx.sites.find((x) => x.id === String(id));
    return s ? s.domain : String(id);
  };
  const load = async () => {
    try {
      const keys = await api.apiKeys(signal);
      clear(
        list,
        keys.length
          ? h(
              'ul',
              { class: 'item-list' },
              keys.map((key) =>
                h(
                  'li',
                  { class: 'item' },
                  h('span', { class: 'item-main' }, h('span', { class: 'badge' }, String(key.scope ?? '')), ' ', key.site ? siteName(key.site) : 'all sites', key.prefix ? h('span', { class: 'mono muted' }, ` ${key.prefix}…`) : null),
                  key.created_at ? h('span', { class: 'muted small' }, `created ${formatDateTime(key.created_at)}`) : null,
                  key.last_used_at ? h('span', { class: 'muted small' }, `used ${formatDateTime(key.last_used_at)}`) : null,
                  h(
                    'button',
                    {
                      type: 'button',
                      class: 'button small danger',
                      'aria-label': `Revoke ${key.scope} key`,
                      on: {
                        click: async (event) => {
                          if (!confirm('Revoke this key? Programs using it stop working.')) return;
                          event.target.disabled = true;
                          try {
                            await api.deleteApiKey(key.id);
                            load();
                          } catch (error) {
                            event.target.disabled = false;
                            clear(created, errorBox(error));
                          }
                        },
                      },
                    },
                    'Revoke',
                  ),
                ),
              ),
            )
          : h('p', { class: 'muted' }, 'No API keys yet.'),
      );
    } catch (error) {
      if (!isAbort(error)) clear(list, errorBox(error, load));
    }
  };
  const scope = h('select', { id: 'key-scope', class: 'select' }, SCOPES.map(([value, label]) => h('option', { value }, label)));
  const siteSelect = h(
    'select',
    { id: 'key-site', class: 'select' },
    ctx.sites.filter((s) => ctx.may.manageCredentials(s.id)).map((s) => h('option', { value: s.id, selected: s.id === ctx.site.id }, s.domain)),
  );
  const submit = h('button', { type: 'submit', class: 'button' }, 'Create key');
  const form = h(
    'form',
    {
      class: 'form inline-form',
      on: {
        submit: async (event) => {
          event.preventDefault();
          submit.disabled = true;
          try {
            const answer = (await api.createApiKey({ scope: scope.value, site: siteSelect.value })) || {};
            const secret = answer.key || answer.token || answer.secret;
            clear(
              created,
              secret
                ? [h('p', { class: 'warn-text' }, 'Copy this key now: it is shown only once.'), copyField(String(secret), 'New API key')]
                : h('p', {}, 'Key created.'),
            );
            load();
          } catch (error) {
            clear(created, errorBox(error));
          } finally {
            submit.disabled = false;
          }
        },
      },
    },
    h('div', { class: 'field' }, h('label', { for: 'key-scope' }, 'Scope'), scope),
    h('div', { class: 'field' }, h('label', { for: 'key-site' }, 'Site'), siteSelect),
    submit,
  );
  load();
  return h('section', { class: 'panel', 'aria-label': 'API keys' }, h('h2', { class: 'panel-title' }, 'API keys'), list, form, created);
}
