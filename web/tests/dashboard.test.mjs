// The dashboard in real Chromium against a real collector (the debug binary, SQLite, fresh data directory):
// first run (account, site, snippet, first page view), the overview's numbers equal the API's, filters in the
// URL, the real-time count following the SSE stream, hostile values in every tracked field shown as text only,
// a session timeline, conversions, the bot ledger, a read-only share link, teams (an invitation accepted on its
// page, a viewer's read-only dashboard, a password reset link), and no dialog, console error or CSP violation
// anywhere. Every run saves screenshots of the main screens into test-artifacts/dashboard/ (look at
// them after changing the CSS). Run: `cargo build -p footfall-collector && node --test web/tests/`
// (playwright-core comes from tracker-wasm's dev dependencies: `npm ci` there; Chromium is Debian's). A build
// in another target directory is found through cargo's own CARGO_TARGET_DIR.
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { chromium } = createRequire(process.env.FOOTFALL_PLAYWRIGHT_FROM || join(root, 'tracker-wasm', 'package.json'))(
  'playwright-core',
);
const binary = join(resolve(root, process.env.CARGO_TARGET_DIR || 'target'), 'debug', 'footfall');
const CHROMIUM_FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ARTIFACTS = join(root, 'test-artifacts', 'dashboard');
const EMAIL = 'owner@example.com';
const PASSWORD = 'a long enough test password';
// A desktop browser: the pipeline drops crawler and headless User-Agents.
const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

const freePort = () => new Promise((resolve) => {
  const server = createServer().listen(0, '127.0.0.1', () => { const { port } = server.address(); server.close(() => resolve(port)); });
});

async function waitFor(what, check, timeout = 15000) {
  const start = Date.now();
  let last;
  while (Date.now() - start < timeout) {
    last = await check();
    if (last) return last;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
}

let dir, collector, api, env, browser, context, page, siteId;
const problems = [];

// Async: the init script must be in place before the page's first navigation, or that document has no
// `window.__xss` and the markup check reports `undefined` (seen once in CI, a race with `goto`).
async function watch(p, label) {
  p.on('console', (m) => {
    // The sign-in probe answers 401/404 by design; everything else the browser complains about is a bug.
    if (m.type() === 'error' && !/status of 40[14]/.test(m.text())) problems.push(`${label} console: ${m.text()}`);
  });
  p.on('pageerror', (e) => problems.push(`${label} page error: ${e.message}`));
  // No screen the tests open asks anything (deleting a key or link would): any dialog is injected script.
  p.on('dialog', (d) => {
    problems.push(`${label} dialog: ${d.type()} ${d.message()}`);
    d.dismiss().catch(() => {});
  });
  await p.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`));
    window.__xss = 0;
  });
}

before(async () => {
  if (!existsSync(binary)) throw new Error(`build the collector first: ${binary}`);
  dir = mkdtempSync(join(tmpdir(), 'footfall-dashboard-'));
  const port = await freePort();
  api = `http://127.0.0.1:${port}`;
  env = { ...process.env, FOOTFALL_DATABASE_URL: `sqlite://${dir}/footfall.db?mode=rwc`, FOOTFALL_DATA_DIR: join(dir, 'data'),
    FOOTFALL_LISTEN: `127.0.0.1:${port}`, FOOTFALL_SPOOL__SEGMENT_MAX_AGE_MS: '20', FOOTFALL_LOG: 'warn',
    // The test is the reverse proxy: its beacons name their visitor's address in X-Forwarded-For, so each
    // simulated visitor is a visitor of its own. The ledger is flushed often so dropped events show at once.
    FOOTFALL_TRUSTED_PROXIES: '127.0.0.1/32', FOOTFALL_INGEST__LEDGER_FLUSH_MS: '200' };
  rmSync(ARTIFACTS, { recursive: true, force: true });
  mkdirSync(ARTIFACTS, { recursive: true });
  execFileSync(binary, ['migrate'], { env });
  collector = spawn(binary, ['serve'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  await waitFor('collector', async () => (await fetch(`${api}/healthz`).catch(() => null))?.ok);
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: CHROMIUM_FLAGS });
  context = await browser.newContext({ viewport: { width: 1200, height: 900 }, locale: 'en-US' });
  page = await context.newPage();
  await watch(page, 'owner');
});

after(async () => {
  await browser?.close();
  collector?.kill('SIGTERM');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the dashboard page is served with its security headers', async () => {
  const response = await fetch(`${api}/`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-security-policy'), /script-src 'self'; connect-src 'self'; frame-ancestors 'none'/);
  assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(response.headers.get('referrer-policy'), 'same-origin');
  const share = await fetch(`${api}/share/ffs_anything`);
  assert.equal(await share.text(), await (await fetch(`${api}/`)).text());
});


/** One beacon as the tracker sends it (JSON as text/plain), from the visitor at `ip`, through the test's proxy. */
async function beacon(event, { ip, ua = CHROME, site = siteId }) {
  const response = await fetch(`${api}/api/event`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain', 'user-agent': ua, 'x-forwarded-for': ip },
    body: JSON.stringify({ site, ...event }),
  });
  assert.equal(response.status, 202, await response.text());
}

/** The owner's reads, through the page (its cookie), so the test sees exactly what the dashboard may see. */
async function apiGet(path) {
  return page.evaluate(async (p) => (await fetch(p)).json(), path);
}

async function apiQuery(query) {
  const params = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
  return apiGet(`/api/v1/query?${params}`);
}

const formatInt = (n) => new Intl.NumberFormat('en-US').format(n);
const card = (p, label) => p.locator('.card', { has: p.locator('.card-label', { hasText: new RegExp(`^${label}$`) }) }).locator('.card-value');

/** Waits until the screen shows no placeholder: no "Loading…", no "…" card, fonts loaded, two frames drawn. */
async function settled(p) {
  await p.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
  await waitFor('the screen to finish loading', () =>
    p.evaluate(() => !document.querySelector('#main .loading-box, .card-value.muted') && document.fonts.status === 'loaded'));
}

/** A full-page PNG of what `p` shows, for a person to look at: test-artifacts/dashboard/NAME.png. */
async function shot(p, name) {
  await settled(p);
  await p.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true, animations: 'disabled', caret: 'hide' });
}

/**
 * What tracked data must never turn into, anywhere in the document: an element that loads or runs something,
 * an inline event handler, a link or source that is not http(s) or that leaves for a host other than the
 * dashboard's own and `hosts` (the site's), and the flag every payload sets when it runs.
 */
async function markupProblems(p, hosts) {
  return p.evaluate((allowed) => {
    const found = [];
    if (window.__xss !== 0) found.push(`window.__xss = ${window.__xss}`);
    const active = ['img', 'iframe', 'object', 'embed', 'svg', 'math', 'video', 'audio', 'frame', 'base', 'picture', 'source', 'style'];
    for (const el of document.querySelectorAll('*')) {
      const name = el.localName;
      if (active.includes(name)) found.push(`<${name}>`);
      if (name === 'script' && !/^\/assets\//.test(el.getAttribute('src') || '')) found.push(`<script>${el.textContent.slice(0, 40)}`);
      for (const attr of el.attributes) {
        if (/^on/i.test(attr.name) || attr.name === 'srcdoc') found.push(`<${name} ${attr.name}>`);
        if (!['href', 'src', 'action', 'formaction', 'xlink:href'].includes(attr.name)) continue;
        let url = null;
        try {
          url = new URL(attr.value, location.href);
        } catch {
          found.push(`<${name} ${attr.name}="${attr.value.slice(0, 40)}"> is not a URL`);
          continue;
        }
        if (!/^https?:$/.test(url.protocol)) found.push(`<${name} ${attr.name}="${attr.value.slice(0, 40)}">`);
        else if (url.host !== location.host && !allowed.includes(url.host)) found.push(`<${name} ${attr.name}> leaves for ${url.host}`);
      }
    }
    return found;
  }, hosts);
}

test('first run: create the account, add a site, see the snippet turn green on the first page view', async () => {
  await page.goto(`${api}/`);
  await page.getByRole('heading', { name: 'Welcome to Footfall' }).waitFor();
  await shot(page, '01-first-run-account');
  await page.getByLabel('Email').fill(EMAIL);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByLabel('Domain').fill('https://portfolio.example/');
  await page.getByRole('button', { name: 'Add site' }).click();
  const snippet = await page.locator('.snippet textarea').inputValue();
  siteId = /data-site="([^"]+)"/.exec(snippet)?.[1];
  assert.ok(siteId, snippet);
  assert.equal(snippet, `<script defer src="${api}/t.js" data-site="${siteId}"></script>`);
  assert.match(await page.locator('.waiting').textContent(), /Waiting for the first page view/);
  execFileSync(binary, ['demo', '--site', siteId, '--visitors', '300', '--days', '14', '--seed', '3'], { env, stdio: 'ignore' });
  await page.locator('.waiting.ok').waitFor({ timeout: 20000 });
  await shot(page, '02-first-run-site');
  await page.getByRole('button', { name: 'Open the dashboard' }).click();
  await page.waitForURL(new RegExp(`site=${siteId}`));
});

test('overview cards show the API\'s numbers, formatted for the locale; light, dark and phone', async () => {
  await page.goto(`${api}/?site=${siteId}&period=30d`);
  await waitFor('cards', async () => !(await card(page, 'Unique visitors').textContent()).includes('…'));
  const answer = await apiQuery({ site: siteId, metrics: ['visitors', 'pageviews', 'visit_duration'], date_range: '30d' });
  const [visitors, pageviews, duration] = answer.results[0].metrics;
  assert.ok(visitors > 0);
  assert.equal(await card(page, 'Unique visitors').textContent(), formatInt(visitors));
  assert.equal(await card(page, 'Total pageviews').textContent(), formatInt(pageviews));
  const s = Math.round(duration);
  assert.equal(await card(page, 'Visit duration').textContent(), s < 60 ? `${s}s` : `${Math.floor(s / 60)}m ${s % 60}s`);
  assert.equal(await page.locator('.chart-box canvas').count() > 0, true);
  assert.ok((await page.locator('.breakdown').count()) >= 4, 'breakdown panels render');
  await shot(page, '03-overview-light');

  // The dashboard follows the system's colour scheme, also when it changes while a screen is open.
  await page.emulateMedia({ colorScheme: 'dark' });
  await waitFor('the dark palette', () => page.evaluate(() => getComputedStyle(document.body).backgroundColor === 'rgb(17, 19, 24)'));
  await shot(page, '04-overview-dark');
  await page.emulateMedia({ colorScheme: 'light' });

  const phone = await browser.newContext({
    viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, locale: 'en-US', storageState: await context.storageState(),
  });
  const small = await phone.newPage();
  await watch(small, 'phone');
  await small.goto(`${api}/?site=${siteId}&period=30d`);
  await settled(small);
  assert.equal(await card(small, 'Unique visitors').textContent(), formatInt(visitors));
  const widths = await small.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  assert.ok(widths[0] <= widths[1], `nothing is wider than the phone: ${widths}`);
  await shot(small, '05-overview-phone');
  await phone.close();
});

test('clicking a value filters the whole dashboard, and the URL keeps the filter across a reload', async () => {
  await page.goto(`${api}/?site=${siteId}&period=30d`);
  const pages = page.locator('section[aria-label="Pages"] .bar-label');
  await pages.first().waitFor();
  const value = await pages.nth(1).textContent();
  await pages.nth(1).click();
  await page.waitForURL(/filters=/);
  const filters = JSON.parse(new URL(page.url()).searchParams.get('filters'));
  assert.deepEqual(filters, [['is', 'page', [value]]]);
  await page.reload();
  assert.equal(await page.locator('.chip-text').textContent(), `Page is ${value}`);
  const rows = page.locator('section[aria-label="Pages"] .bar-label');
  await rows.first().waitFor();
  assert.deepEqual(await rows.allTextContents(), [value]);
  await page.getByRole('button', { name: `Remove filter: Page is ${value}` }).click();
  await page.waitForURL((url) => !url.searchParams.has('filters'));

  // A country: the cards are the API's numbers for that country, and the sessions list keeps the filter.
  const country = page.locator('section[aria-label="Locations"] .bar-label').first();
  await country.waitFor();
  const name = await country.evaluate((el) => el.lastChild.textContent);
  await country.click();
  await page.waitForURL(/filters=/);
  const [[op, dimension, [code]]] = JSON.parse(new URL(page.url()).searchParams.get('filters'));
  assert.deepEqual([op, dimension], ['is', 'country']);
  assert.equal(await page.locator('.chip-text').textContent(), `Country is ${name}`);
  await settled(page);
  const answer = await apiQuery({ site: siteId, metrics: ['visitors', 'pageviews'], date_range: '30d', filters: [['is', 'country', [code]]] });
  assert.equal(await card(page, 'Unique visitors').textContent(), formatInt(answer.results[0].metrics[0]));
  assert.equal(await card(page, 'Total pageviews').textContent(), formatInt(answer.results[0].metrics[1]));
  assert.deepEqual(await page.locator('section[aria-label="Locations"] .bar-label').allTextContents(), [await country.textContent()]);
  await shot(page, '06-overview-filtered');
  await page.locator('.nav-link', { hasText: 'Sessions' }).click();
  await page.waitForURL(/view=sessions/);
  assert.ok(new URL(page.url()).searchParams.has('filters'));
  const locations = page.locator('table.sessions tbody td:nth-child(6) .line:not(.sub)');
  await locations.first().waitFor();
  for (const text of await locations.allTextContents()) assert.ok(text.endsWith(name), `${text} is in ${name}`);
});

test('real time: the live count and the page and group lists follow the SSE stream', async () => {
  await page.goto(`${api}/?site=${siteId}&view=realtime`);
  const count = page.locator('.live-number');
  await count.waitFor();
  await waitFor('the live stream', async () => /^Live/.test(await page.locator('.stream-status').textContent()));
  const number = async (locator) => Number((await locator.textContent()).replace(/\D/g, ''));
  const before = await number(count);
  const split = async () => (await page.locator('.live-split').textContent()).match(/\d+/g).map(Number);
  const [identifiedBefore] = await split();

  // A new visitor (an address of its own) opens a page of the "projects" group: the stream pushes it, the
  // page is not reloaded.
  const path = `/projects/live-${Date.now()}`;
  const reader = { ip: '203.0.113.10' };
  await beacon({ type: 'pageview', url: `https://portfolio.example${path}`, title: 'Live', pv: 'live-1', group: 'projects' }, reader);
  await waitFor('the live count to go up by one', async () => (await number(count)) === before + 1);
  const pageRow = page.locator('section[aria-label="Pages"] tbody tr', { hasText: path });
  await pageRow.waitFor();
  assert.deepEqual(await pageRow.locator('th, td').allTextContents(), [path, '1']);
  const groupRow = page.locator('section[aria-label="Groups"] tbody tr', { hasText: 'projects' });
  assert.deepEqual(await groupRow.locator('th, td').allTextContents(), ['projects', '1', '0', '1']);
  assert.match(await page.locator('.stream-status').textContent(), /^Live · updated /);

  // The same visitor signs in: one more identified, still one more visitor.
  await beacon({ type: 'identify', url: `https://portfolio.example${path}`, pv: 'live-1', user: 'live-reader' }, reader);
  await waitFor('the visitor to count as identified', async () => (await split())[0] === identifiedBefore + 1);
  assert.equal(await number(count), before + 1);
  await waitFor('the group split', async () => (await groupRow.locator('td').allTextContents()).join() === '1,1,0');
  await shot(page, '07-realtime');
});

test('hostile values in every tracked field are shown as text: no markup, no script, no javascript: link', async () => {
  const already = problems.length;
  // A site of its own, so that every hostile value is among the first rows of its lists.
  await page.goto(`${api}/?site=${siteId}&view=add-site`);
  await page.getByLabel('Domain').fill('hostile.example');
  await page.getByRole('button', { name: 'Add site' }).click();
  const hostile = /data-site="([^"]+)"/.exec(await page.locator('.snippet textarea').inputValue())?.[1];
  assert.ok(hostile);

  // Every payload would set window.__xss to its own number and open a dialog: a failure names its field.
  const img = (n) => `<img src=x onerror="window.__xss=${n};alert(${n})">`;
  const script = (n) => `"><script>window.__xss=${n};alert(${n})</script>`;
  const js = (n) => `javascript:window.__xss=${n};alert(${n})`;
  const quotes = `'"\`</td></tr>&amp;&lt;b&gt;`;
  const long = 'L'.repeat(2000);
  const utm = { utm_source: img(1), utm_medium: script(2), utm_campaign: img(3), utm_term: js(4), utm_content: quotes + 'C'.repeat(300) };
  const landing = `https://hostile.example/${img(5)}/'${script(6)}'?${new URLSearchParams(utm)}`;
  const urls = [landing, `https://hostile.example/${js(7)}`, 'https://hostile.example//evil.example/steal', `https://hostile.example/${'P'.repeat(2000)}`];
  // What the collector keeps of them: the path as the URL standard encodes it; long values cut at their caps.
  const paths = urls.map((u) => new URL(u).pathname);
  const content = utm.utm_content.slice(0, 256);
  const title = (img(8) + script(9) + long).slice(0, 512);

  const visitor = { ip: '203.0.113.66', site: hostile };
  await beacon({ type: 'pageview', url: landing, pv: 'h1', title, referrer: `https://evil.example/${script(10)}`, group: img(11), screen: 1280 }, visitor);
  await beacon({ type: 'engagement', url: landing, pv: 'h1', engaged_ms: 4000, scroll: 60, sections: { [img(12)]: 3000, [script(13)]: 1000 } }, visitor);
  await beacon({ type: 'interaction', url: landing, pv: 'h1', name: img(14), props: { [img(15)]: img(16), link: js(17), quotes, long: 'V'.repeat(256) } }, visitor);
  await beacon({ type: 'identify', url: landing, pv: 'h1', user: 'hostile-user' }, visitor);
  for (const [i, url] of urls.slice(1).entries()) {
    // In the same group: a page view in none would take the visitor out of it, and Real time shows the group.
    await beacon({ type: 'pageview', url, pv: `h${i + 2}`, title: i === 2 ? long : quotes, referrer: js(18), group: img(11) }, visitor);
  }
  // The User-Agent: its markup never reaches a browser, OS or device name (uap-core knows the families).
  await beacon({ type: 'pageview', url: 'https://hostile.example/ua' }, {
    ...visitor, ip: '203.0.113.67', ua: `Mozilla/5.0 (X11; ${img(19)}) AppleWebKit/537.36 (KHTML, like Gecko) ${img(20)}/131.0 Safari/537.36`,
  });
  // A hostname that is not the site's is dropped, and the ledger shows it as its signature.
  const host = `x'"onmouseover=window.__xss=21.evil.example`;
  await beacon({ type: 'pageview', url: `https://${host}/` }, { ...visitor, ip: '203.0.113.68' });
  await waitFor('the hostile events in the database', async () => {
    const totals = await apiQuery({ site: hostile, metrics: ['pageviews', 'interactions', 'conversions'], date_range: 'today' });
    const sections = await apiQuery({ site: hostile, metrics: ['visits'], date_range: 'today', dimensions: ['section'] });
    return totals.results[0]?.metrics.join() === '5,1,1' && sections.results.length === 2;
  });
  const hosts = ['hostile.example'];
  const inert = async (where) => assert.deepEqual(await markupProblems(page, hosts), [], where);

  // Overview: every list that shows a tracked value.
  await page.goto(`${api}/?site=${hostile}&period=today`);
  const expectTab = async (panel, tab, values) => {
    const section = page.locator(`section[aria-label="${panel}"]`);
    await section.getByRole('tab', { name: tab, exact: true }).click();
    const texts = await waitFor(`${panel} › ${tab}`, async () => {
      const shown = await section.locator('.bar-label').allTextContents();
      return shown.length > 0 && values.every((v) => shown.includes(v)) && shown;
    });
    await inert(`${panel} › ${tab}: ${texts.map((t) => t.slice(0, 60))}`);
  };
  await expectTab('Pages', 'Top pages', [...paths, '/ua']);
  await expectTab('Pages', 'Entry pages', [paths[0], '/ua']);
  await expectTab('Pages', 'Exit pages', [paths[3], '/ua']);
  await expectTab('Sources', 'Sources', [img(1)]);
  await expectTab('Sources', 'UTM source', [img(1)]);
  await expectTab('Sources', 'Medium', [script(2)]);
  await expectTab('Sources', 'Term', [js(4)]);
  await expectTab('Sources', 'Content', [content]);
  await expectTab('Engagement', 'Interactions', [img(14)]);
  await expectTab('Engagement', 'Sections', [img(12), script(13)]);
  await expectTab('Devices', 'Browsers', ['Chrome']);
  await expectTab('Devices', 'OS', []);
  await expectTab('Sources', 'Campaign', [img(3)]);
  // A hostile value as a filter: in the URL, in the chip, across a reload.
  await page.locator('section[aria-label="Sources"] .bar-label', { hasText: 'onerror' }).first().click();
  await page.waitForURL(/filters=/);
  assert.deepEqual(JSON.parse(new URL(page.url()).searchParams.get('filters')), [['is', 'utm_campaign', [img(3)]]]);
  await page.reload();
  assert.equal(await page.locator('.chip-text').textContent(), `UTM campaign is ${img(3)}`);
  await shot(page, 'hostile-overview');
  await inert('filtered overview');

  // Real time: the visitor's page (the long one, visited last) and the group.
  await page.goto(`${api}/?site=${hostile}&view=realtime`);
  await waitFor('the hostile group', async () => (await page.locator('section[aria-label="Groups"] tbody th').allTextContents()).includes(img(11)));
  assert.ok((await page.locator('section[aria-label="Pages"] tbody th').allTextContents()).includes(paths[3]));
  await shot(page, 'hostile-realtime');
  await inert('real time');

  // Sessions: the list, then the timeline with every field of every event.
  await page.goto(`${api}/?site=${hostile}&view=sessions&period=today`);
  const row = page.locator('table.sessions tbody tr', { hasText: 'identified' });
  await row.waitFor();
  assert.equal(await row.locator('td:nth-child(4) .line').first().textContent(), paths[0]);
  assert.equal(await row.locator('td:nth-child(5) .line').first().textContent(), img(1));
  await shot(page, 'hostile-sessions');
  await inert('sessions');
  await row.locator('a').click();
  await page.locator('.timeline .event').first().waitFor();
  const timeline = await page.locator('.timeline').textContent();
  for (const text of [...paths, title, quotes, long.slice(0, 512), `${img(15)}: ${img(16)}`, `link: ${js(17)}`, `quotes: ${quotes}`, `§ ${img(12)}: 3s`, `§ ${script(13)}: 1s`]) {
    assert.ok(timeline.includes(text), `the timeline shows ${text.slice(0, 80)}`);
  }
  assert.deepEqual(await page.locator('.timeline .badge').allTextContents(), [img(14)]);
  const insights = await page.locator('section[aria-label="Insights"]').textContent();
  assert.ok(insights.includes(`${img(14)} ×1`) && insights.includes(paths.join(' → ')), insights);
  assert.ok((await page.locator('section[aria-label="Session"]').textContent()).includes(img(1)));
  await shot(page, 'hostile-session');
  await inert('session timeline');

  // Conversions: first-touch source, landing page and campaign, and the list.
  await page.goto(`${api}/?site=${hostile}&view=conversions&period=today`);
  const cell = (panel) => page.locator(`section[aria-label="${panel}"] tbody tr`).first().locator('td').first();
  await cell('By source').waitFor();
  assert.equal(await cell('By source').textContent(), img(1));
  assert.equal(await cell('By landing page').textContent(), paths[0]);
  assert.equal(await cell('By campaign').textContent(), img(3));
  assert.deepEqual((await page.locator('section[aria-label="Converted visits"] tbody td').allTextContents()).slice(1, 3), [img(1), paths[0]]);
  await shot(page, 'hostile-conversions');
  await inert('conversions');

  // The bot ledger's signature.
  await page.goto(`${api}/?site=${hostile}&view=bots&period=today`);
  await waitFor('the dropped hostname in the ledger', async () => {
    if ((await page.locator('section[aria-label="Ledger"] td.mono').allTextContents()).includes(host)) return true;
    await page.reload();
    return false;
  });
  await shot(page, 'hostile-bots');
  await inert('bot ledger');

  // A crafted address is tracked data too.
  await page.goto(`${api}/?site=${encodeURIComponent(img(22))}`);
  await page.getByRole('heading', { name: 'No such site' }).waitFor();
  assert.equal(await page.locator('main p').first().textContent(), `There is no site “${img(22)}” here, or you cannot see it.`);
  await inert('crafted site id');
  assert.deepEqual(problems.slice(already), []);
});

test('a session opens on its timeline', async () => {
  await page.goto(`${api}/?site=${siteId}&view=sessions&period=30d`);
  await page.locator('table.sessions tbody a').first().waitFor();
  await shot(page, '08-sessions');
  // A visit of several pages makes a timeline worth looking at.
  const rich = page.locator('table.sessions tbody tr').filter({ has: page.locator('td:nth-child(2)', { hasText: /^([3-9]|\d\d)$/ }) }).first();
  await rich.locator('a').click();
  await page.waitForURL(/session=/);
  await page.locator('.timeline .event').first().waitFor();
  assert.match(await page.locator('.timeline .event-type').first().textContent(), /Page view/);
  assert.ok(await page.locator('.score-value').count());
  await shot(page, '09-session-timeline');
  assert.deepEqual(await markupProblems(page, ['portfolio.example']), []);
});

test('conversions and the bot ledger show the API\'s numbers', async () => {
  // Filtered traffic for the ledger: a crawler, a referrer spammer and someone else's copy of the snippet.
  await beacon({ type: 'pageview', url: 'https://portfolio.example/' }, { ip: '203.0.113.20', ua: 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)' });
  await beacon({ type: 'pageview', url: 'https://portfolio.example/', referrer: 'https://semalt.com/' }, { ip: '203.0.113.21' });
  await beacon({ type: 'pageview', url: 'https://copycat.example/' }, { ip: '203.0.113.22' });

  await page.goto(`${api}/?site=${siteId}&view=conversions&period=30d`);
  const conversions = await apiGet(`/api/v1/sites/${siteId}/conversions?date_range=30d`);
  assert.ok(conversions.count > 0, 'the demo converts some visitors');
  await settled(page);
  assert.equal(await card(page, 'Conversions').textContent(), formatInt(conversions.count));
  // The list comes a page of 20 at a time; "Show more" reaches every visit the API listed.
  const rows = page.locator('section[aria-label="Converted visits"] tbody tr');
  assert.equal(await rows.count(), Math.min(20, conversions.list.length));
  await shot(page, '10-conversions');
  const more = page.getByRole('button', { name: 'Show more converted visits' });
  while (await more.count()) await more.click();
  assert.equal(await rows.count(), conversions.list.length);

  const ledger = await waitFor('the ledger', async () => {
    const answer = await apiGet(`/api/v1/sites/${siteId}/bots?date_range=today`);
    return ['bot_ua', 'spam_referrer', 'hostname'].every((r) => answer.by_reason[r] > 0) && answer;
  });
  await page.goto(`${api}/?site=${siteId}&view=bots&period=today`);
  await settled(page);
  assert.equal(await card(page, 'Events filtered out').textContent(), formatInt(ledger.total));
  const signatures = await page.locator('section[aria-label="Ledger"] td.mono').allTextContents();
  assert.ok(signatures.includes('semalt.com') && signatures.includes('copycat.example'), String(signatures));
  await shot(page, '11-bots');
});

test('a share link opens the same dashboard read-only', async () => {
  await page.goto(`${api}/?site=${siteId}&view=settings`);
  await page.getByRole('button', { name: 'Create share link' }).click();
  const url = await page.locator('textarea[aria-label="Share link"]').inputValue();
  assert.match(url, new RegExp(`^${api}/share/`));
  await shot(page, '12-settings');
  const visitor = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const shared = await visitor.newPage();
  await watch(shared, 'share');
  await shared.goto(url);
  await shared.locator('.card-value').first().waitFor();
  await waitFor('shared cards', async () => !(await shared.locator('.card-value').first().textContent()).includes('…'));
  assert.deepEqual(await shared.locator('.nav-link').allTextContents(), ['Overview', 'Real time', 'Sessions', 'Conversions', 'Bots']);
  assert.equal(await shared.locator('#site-select').count(), 0, 'no site switcher (no adding sites)');
  assert.equal(await shared.getByText('Sign out').count(), 0);
  assert.equal(await shared.locator('.error').count(), 0, await shared.locator('.error').allTextContents().then(String));
  await shot(shared, '13-share');
  // The other screens read-only, at phone width: sessions and one timeline.
  await shared.locator('.nav-link', { hasText: 'Sessions' }).click();
  await shared.locator('table.sessions tbody a').first().waitFor();
  await shot(shared, '13-share-sessions-phone');
  await shared.locator('table.sessions tbody a').first().click();
  await shared.locator('.timeline .event').first().waitFor();
  await shot(shared, '13-share-session-phone');
  assert.deepEqual(await markupProblems(shared, ['portfolio.example']), []);
  await visitor.close();
});

test('a site on a local address gets a snippet that counts local pages, and says why', async () => {
  await page.goto(`${api}/?site=${siteId}&view=add-site`);
  await page.getByLabel('Domain').fill('localhost');
  await page.getByRole('button', { name: 'Add site' }).click();
  const snippet = await page.locator('.snippet textarea').inputValue();
  const local = /data-site="([^"]+)"/.exec(snippet)?.[1];
  assert.equal(snippet, `<script defer src="${api}/t.js" data-site="${local}" data-allow-localhost></script>`);
  assert.match(await page.locator('.snippet').textContent(), /local address.*data-allow-localhost/);
  await shot(page, '15-snippet-localhost');
});

test('at phone width the tab bar reaches every screen and the conversions fit, a page at a time', async () => {
  const phone = await browser.newContext({
    viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, locale: 'en-US', storageState: await context.storageState(),
  });
  const small = await phone.newPage();
  await watch(small, 'phone');
  await small.goto(`${api}/?site=${siteId}&view=conversions&period=30d`);
  await settled(small);
  const width = await small.evaluate(() => window.innerWidth);
  const tabs = await small.locator('.nav-link').evaluateAll((links) => links.map((a) => {
    const box = a.getBoundingClientRect();
    return { text: a.textContent, left: box.left, right: box.right };
  }));
  assert.deepEqual(tabs.map((t) => t.text), ['Overview', 'Real time', 'Sessions', 'Conversions', 'Bots', 'Settings']);
  for (const tab of tabs) assert.ok(tab.left >= 0 && tab.right <= width, `${tab.text} is on the screen: ${tab.left}–${tab.right}`);

  const list = small.locator('section[aria-label="Converted visits"]');
  const conversions = await small.evaluate(async (p) => (await fetch(p)).json(), `/api/v1/sites/${siteId}/conversions?date_range=30d`);
  assert.ok(conversions.list.length > 20, 'enough converted visits for a second page');
  assert.equal(await list.locator('tbody tr').count(), 20);
  const wide = await small.evaluate((w) => [...document.querySelectorAll('body *')]
    .filter((el) => el.getBoundingClientRect().right > w + 0.5)
    .map((el) => `${el.localName}.${el.className}`), width);
  assert.deepEqual(wide, [], 'nothing reaches past the right edge');
  await shot(small, '16-conversions-phone');

  await list.getByRole('button', { name: 'Show more converted visits' }).click();
  assert.equal(await list.locator('tbody tr').count(), Math.min(40, conversions.list.length));
  // The keyboard reaches the last tab too.
  const settings = small.locator('.nav-link', { hasText: 'Settings' });
  await settings.focus();
  await small.keyboard.press('Enter');
  await small.waitForURL(/view=settings/);
  await phone.close();
});

/** A new browser signed in with an API key from `footfall key add`, through the sign-in screen's key form. */
async function signInWithKey(scope) {
  const printed = execFileSync(binary, ['key', 'add', '--scope', scope, '--site', siteId], { env, encoding: 'utf8' });
  const key = /ff_[0-9a-f]+/.exec(printed)?.[0];
  assert.ok(key, printed);
  const keyContext = await browser.newContext({ viewport: { width: 1200, height: 900 }, locale: 'en-US' });
  const p = await keyContext.newPage();
  await watch(p, scope);
  await p.goto(`${api}/?site=${siteId}&view=settings`);
  await p.getByText('Use an API key instead').click();
  await p.getByLabel('API key').fill(key);
  await p.getByRole('button', { name: 'Use this key' }).click();
  await p.getByRole('heading', { name: /^Settings/ }).waitFor();
  await settled(p);
  return p;
}

test('a stats:read key sees the settings read-only: no Save, no adding a site, no credentials', async () => {
  const p = await signInWithKey('stats:read');
  assert.equal(await p.getByRole('button', { name: 'Save' }).count(), 0);
  assert.ok(await p.getByLabel('Time zone for reports').isDisabled(), 'the settings are shown, not editable');
  assert.match(await p.locator('section[aria-label="Site settings"]').textContent(), /This API key \(stats:read\) can read these settings but not change them/);
  assert.ok(!(await p.locator('#site-select option').allTextContents()).some((t) => /Add a site/.test(t)));
  assert.equal(await p.getByRole('button', { name: 'Create share link' }).count(), 0);
  assert.equal(await p.getByRole('button', { name: 'Create key' }).count(), 0);
  assert.equal(await p.locator('.error').count(), 0, String(await p.locator('.error').allTextContents()));
  await shot(p, '17-settings-stats-key');
  await p.goto(`${api}/?site=${siteId}&view=add-site`);
  await settled(p);
  assert.equal(await p.getByRole('button', { name: 'Add site' }).count(), 0);
  await p.context().close();
});

test('a sites:write key changes its site\'s settings, and leaves keys and share links to the account', async () => {
  const p = await signInWithKey('sites:write');
  const before = await apiGet(`/api/v1/sites/${siteId}`);
  await p.getByLabel('Count hash routes').setChecked(!before.hash_routing);
  await p.getByRole('button', { name: 'Save' }).click();
  await p.getByText('Saved.').waitFor();
  assert.equal((await apiGet(`/api/v1/sites/${siteId}`)).hash_routing, !before.hash_routing);
  assert.equal(await p.getByRole('button', { name: 'Create share link' }).count(), 0);
  assert.equal(await p.getByRole('button', { name: 'Create key' }).count(), 0);
  assert.match(await p.locator('section[aria-label="Share links and API keys"]').textContent(), /signed-in account/);
  assert.equal(await p.locator('.error').count(), 0, String(await p.locator('.error').allTextContents()));
  await shot(p, '18-settings-sites-key');
  await p.getByLabel('Count hash routes').setChecked(before.hash_routing);
  await p.getByRole('button', { name: 'Save' }).click();
  await p.getByText('Saved.').waitFor();
  // The visitor's own view is off by default and switched in the same form.
  assert.equal(before.public_current_session, false);
  await p.getByLabel('Visitors may see and forget their own visit').setChecked(true);
  await p.getByRole('button', { name: 'Save' }).click();
  await waitForSetting(() => apiGet(`/api/v1/sites/${siteId}`), (site) => site.public_current_session === true);
  await p.getByLabel('Visitors may see and forget their own visit').setChecked(false);
  await p.getByRole('button', { name: 'Save' }).click();
  await waitForSetting(() => apiGet(`/api/v1/sites/${siteId}`), (site) => site.public_current_session === false);
  await p.context().close();
});

/** Polls `read` until `check` holds (a save is a request away), for up to 5 s. */
async function waitForSetting(read, check) {
  for (let i = 0; i < 50; i++) {
    if (check(await read())) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail('the setting was not saved');
}

const COLLEAGUE = 'colleague@example.com';
const COLLEAGUE_PASSWORD = 'the colleague chose this';

test('the owner invites a colleague; the link opens a page that creates the account, joins and works once', async () => {
  await page.goto(`${api}/?site=${siteId}&view=settings`);
  const people = page.locator('section[aria-label="People"]');
  await people.getByText(EMAIL).waitFor();
  await people.getByLabel('Email', { exact: true }).fill(COLLEAGUE);
  await people.getByLabel('Role').selectOption('viewer');
  await people.getByRole('button', { name: 'Invite' }).click();
  const link = await people.locator('textarea[aria-label="Invitation link"]').inputValue();
  assert.match(link, new RegExp(`^${api}/#/invite/ffi_[0-9a-f]{64}$`));
  await people.getByRole('list', { name: 'Pending invitations' }).getByText(COLLEAGUE).waitFor();
  await settled(page);
  await people.screenshot({ path: '/tmp/teams-people.png', animations: 'disabled', caret: 'hide' });
  await shot(page, '19-settings-people');

  // The colleague opens the link on a phone, chooses a password with the keyboard, and is in.
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, locale: 'en-US' });
  const colleague = await phone.newPage();
  await watch(colleague, 'invited');
  await colleague.goto(link);
  await colleague.getByRole('heading', { name: 'Join portfolio.example' }).waitFor();
  assert.match(await colleague.locator('.auth-card').textContent(), /invited as a viewer of portfolio\.example/);
  await shot(colleague, '20-invitation-phone');
  await colleague.screenshot({ path: '/tmp/teams-invite-phone.png', animations: 'disabled', caret: 'hide' });
  await colleague.getByLabel('Choose a password').fill(COLLEAGUE_PASSWORD);
  await colleague.keyboard.press('Enter');
  await colleague.waitForURL(new RegExp(`/\\?site=${siteId}$`));
  await colleague.locator('.card-value').first().waitFor();
  assert.equal(await colleague.locator('.account-email').textContent(), COLLEAGUE);

  // Once only: the same link now says so.
  await colleague.goto(link);
  await colleague.getByRole('heading', { name: 'This invitation cannot be used' }).waitFor();
  await phone.close();
  await page.reload();
  const member = people.getByRole('list', { name: 'Members' }).getByRole('listitem').filter({ hasText: COLLEAGUE });
  assert.equal(await member.getByLabel(`Role of ${COLLEAGUE}`).inputValue(), 'viewer');
  assert.equal(await people.getByRole('list', { name: 'Pending invitations' }).count(), 0);
  await settled(page);
  await people.screenshot({ path: '/tmp/teams-people-members.png', animations: 'disabled', caret: 'hide' });

  // On a phone the people fit the screen too.
  const owners = await browser.newContext({
    viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, locale: 'en-US', storageState: await context.storageState(),
  });
  const small = await owners.newPage();
  await watch(small, 'owner phone');
  await small.goto(`${api}/?site=${siteId}&view=settings`);
  const list = small.locator('section[aria-label="People"]').getByRole('list', { name: 'Members' });
  await list.getByText(COLLEAGUE).waitFor();
  await settled(small);
  const width = await small.evaluate(() => window.innerWidth);
  const wide = await small.evaluate((w) => [...document.querySelectorAll('body *')]
    .filter((el) => el.getBoundingClientRect().right > w + 0.5)
    .map((el) => `${el.localName}.${el.className}`), width);
  assert.deepEqual(wide, [], 'nothing reaches past the right edge');
  const spilling = await small.locator('section[aria-label="People"]').evaluate((section) => {
    const edge = section.getBoundingClientRect().right;
    return [...section.querySelectorAll('*')].filter((el) => el.getBoundingClientRect().right > edge + 0.5).map((el) => `${el.localName}#${el.id}`);
  });
  assert.deepEqual(spilling, [], 'every field stays inside its panel');
  await small.locator('section[aria-label="People"]').screenshot({ path: '/tmp/teams-people-phone.png', animations: 'disabled', caret: 'hide' });
  await owners.close();
});

test('a viewer signs in to a read-only dashboard: every report, no settings forms, no Save buttons', async () => {
  const viewerContext = await browser.newContext({ viewport: { width: 1200, height: 900 }, locale: 'en-US' });
  const viewer = await viewerContext.newPage();
  await watch(viewer, 'viewer');
  await viewer.goto(`${api}/?site=${siteId}&period=30d`);
  await viewer.getByLabel('Email').fill(COLLEAGUE);
  await viewer.getByLabel('Password').fill(COLLEAGUE_PASSWORD);
  await viewer.getByRole('button', { name: 'Sign in' }).click();
  await waitFor('cards', async () => !(await card(viewer, 'Unique visitors').textContent()).includes('…'));
  const answer = await apiQuery({ site: siteId, metrics: ['visitors'], date_range: '30d' });
  assert.equal(await card(viewer, 'Unique visitors').textContent(), formatInt(answer.results[0].metrics[0]), 'the same numbers as the owner');
  assert.deepEqual(await viewer.locator('.nav-link').allTextContents(), ['Overview', 'Real time', 'Sessions', 'Conversions', 'Bots', 'Settings']);
  assert.match(await viewer.locator('#site-select option:checked').textContent(), /portfolio\.example \(viewer\)/);
  await settled(viewer);
  await viewer.screenshot({ path: '/tmp/teams-viewer-overview.png', animations: 'disabled', caret: 'hide' });
  await viewer.locator('.nav-link', { hasText: 'Sessions' }).click();
  await viewer.locator('table.sessions tbody a').first().waitFor();

  await viewer.locator('.nav-link', { hasText: 'Settings' }).click();
  await viewer.getByRole('heading', { name: /^Settings/ }).waitFor();
  await settled(viewer);
  assert.equal(await viewer.getByRole('button', { name: 'Save' }).count(), 0);
  for (const section of ['Site settings', 'Tracking snippet', 'Share links', 'API keys', 'People', 'Share links and API keys', 'Accounts']) {
    assert.equal(await viewer.locator(`section[aria-label="${section}"]`).count(), 0, `no ${section} for a viewer`);
  }
  assert.match(await viewer.locator('section[aria-label="Your access"]').textContent(), /You are a viewer of portfolio\.example/);
  assert.equal(await viewer.locator('.error').count(), 0, String(await viewer.locator('.error').allTextContents()));
  await viewer.screenshot({ path: '/tmp/teams-viewer.png', fullPage: true, animations: 'disabled', caret: 'hide' });
  await shot(viewer, '21-settings-viewer');

  // Their own password, under "Your account".
  await viewer.getByLabel('Current password').fill(COLLEAGUE_PASSWORD);
  await viewer.getByLabel('New password').fill('the colleague changed it');
  await viewer.getByRole('button', { name: 'Change password' }).click();
  await viewer.getByText('Password changed. Your other sign-ins have ended.').waitFor();
  await viewer.goto(`${api}/?site=${siteId}&view=overview`);
  await viewer.locator('.card-value').first().waitFor();
  assert.deepEqual(await markupProblems(viewer, ['portfolio.example']), []);
  await viewerContext.close();
});

test('the administrator makes a one-time reset link; it sets a new password and leads to the sign-in form', async () => {
  await page.goto(`${api}/?site=${siteId}&view=settings`);
  const accounts = page.locator('section[aria-label="Accounts"]');
  await accounts.getByRole('button', { name: `Make a password reset link for ${COLLEAGUE}` }).click();
  const link = await accounts.locator('textarea[aria-label="Password reset link"]').inputValue();
  assert.match(link, new RegExp(`^${api}/#/reset/ffr_[0-9a-f]{64}$`));
  const other = await browser.newContext({ viewport: { width: 1200, height: 900 }, locale: 'en-US' });
  const p = await other.newPage();
  await watch(p, 'reset');
  await p.goto(link);
  await p.getByLabel('New password').fill('reset by the administrator');
  await p.getByRole('button', { name: 'Set password' }).click();
  await p.getByText('Your password is set. Sign in with it.').waitFor();
  assert.equal(await p.getByLabel('Email').inputValue(), COLLEAGUE);
  await p.getByLabel('Password').fill('reset by the administrator');
  await p.getByRole('button', { name: 'Sign in' }).click();
  await p.locator('.card-value').first().waitFor();
  await other.close();
});

test('signing out returns to the sign-in form, and no page logged an error or a CSP violation', async () => {
  await page.goto(`${api}/?site=${siteId}`);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.reload();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await shot(page, '14-sign-in');
  assert.deepEqual(problems, []);
});
