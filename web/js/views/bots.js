// Bot ledger: what the collector filtered out, by reason, day and signature (GET /sites/{site}/bots →
// {"date_range", "total", "by_reason": {reason: count}, "results": [{"day", "reason", "signature", "count"}]}).
import * as api from '../api.js';
import { periodPicker } from '../controls.js';
import { clear, clipped, errorBox, h, isAbort } from '../dom.js';
import { formatDay, formatInt } from '../format.js';
import { dateRange } from '../state.js';

const REASONS = {
  bot_ua: ['Known bots', 'the User-Agent is on the crawler list'],
  headless: ['Automated browsers', 'the tracker saw navigator.webdriver'],
  spam_referrer: ['Referrer spam', 'the referrer is on the spam list'],
  hostname: ['Other hostnames', 'the page is not on this site’s domains'],
  rate: ['Rate limited', 'one visitor sent too many events in a minute'],
  dnt: ['Do Not Track', 'the browser asked not to be tracked'],
};

const reasonLabel = (reason) => (REASONS[reason] ? REASONS[reason][0] : String(reason));

export function renderBots(root, ctx) {
  const { state, site, signal } = ctx;
  const body = h('div', {}, h('p', { class: 'loading-box' }, 'Loading…'));
  root.append(h('div', { class: 'controls' }, periodPicker(state)), body);
  const load = async () => {
    try {
      const data = (await api.bots(site.id, { dateRange: dateRange(state) }, signal)) || {};
      const byReason = data.by_reason && typeof data.by_reason === 'object' ? Object.entries(data.by_reason) : [];
      const rows = Array.isArray(data.results) ? data.results : [];
      clear(
        body,
        h(
          'section',
          { class: 'cards', 'aria-label': 'Filtered traffic' },
          h('div', { class: 'card' }, h('div', { class: 'card-label' }, 'Events filtered out'), h('div', { class: 'card-value' }, formatInt(data.total))),
          byReason
            .sort((a, b) => Number(b[1]) - Number(a[1]))
            .map(([reason, count]) =>
              h(
                'div',
                { class: 'card', title: REASONS[reason] ? REASONS[reason][1] : '' },
                h('div', { class: 'card-label' }, reasonLabel(reason)),
                h('div', { class: 'card-value' }, formatInt(count)),
                REASONS[reason] ? h('div', { class: 'card-change muted' }, REASONS[reason][1]) : null,
              ),
            ),
        ),
        h(
          'section',
          { class: 'panel', 'aria-label': 'Ledger' },
          h('h2', { class: 'panel-title' }, 'Ledger'),
          h('p', { class: 'muted small' }, 'Days are UTC days. Filtered events are counted, never stored, and never with an address.'),
          rows.length
            ? h(
                'div',
                { class: 'table-scroll' },
                h(
                  'table',
                  { class: 'data-table' },
                  h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Day'), h('th', { scope: 'col' }, 'Reason'), h('th', { scope: 'col' }, 'Signature'), h('th', { scope: 'col', class: 'num' }, 'Events'))),
                  h(
                    'tbody',
                    {},
                    rows.map((r) =>
                      h(
                        'tr',
                        {},
                        h('td', {}, formatDay(r.day)),
                        h('td', {}, reasonLabel(r.reason)),
                        h('td', { class: 'cell-text mono' }, r.signature ? clipped(r.signature) : '—'),
                        h('td', { class: 'num' }, formatInt(r.count)),
                      ),
                    ),
                  ),
                ),
              )
            : h('p', { class: 'empty' }, 'Nothing was filtered out in this period.'),
        ),
      );
    } catch (error) {
      if (!isAbort(error)) clear(body, errorBox(error, load));
    }
  };
  load();
  return null;
}
