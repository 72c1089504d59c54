// The dashboard in real Chromium against a real collector (the debug binary, SQLite, fresh data directory):
// first run (account, site, snippet, first page view), the overview's numbers equal the API's, filters in the
// URL, tracked data shown as text only, a session timeline, a read-only share link, and no console error or
// CSP violation anywhere. Run: `cargo build -p footfall-collector && node --test web/tests/`
// (playwright-core comes from tracker-wasm's dev dependencies: `npm ci` there; Chromium is Debian's).
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { chromium } = createRequire(process.env.FOOTFALL_PLAYWRIGHT_FROM || join(root, 'tracker-wasm', 'package.json'))(
  'playwright-core',
);
const binary = join(root, 'target', 'debug', 'footfall');
const CHROMIUM_FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const EMAIL = 'owner@example.com';
const PASSWORD = 'a long enough test password';

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

function watch(p, label) {
  p.on('console', (m) => {
    // The sign-in probe answers 401/404 by design; everything else the browser complains about is a bug.
    if (m.type() === 'error' && !/status of 40[14]/.test(m.text())) problems.push(`${label} console: ${m.text()}`);
  });
  p.on('pageerror', (e) => problems.push(`${label} page error: ${e.message}`));
  p.addInitScript(() => {
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
    FOOTFALL_LISTEN: `127.0.0.1:${port}`, FOOTFALL_SPOOL__SEGMENT_MAX_AGE_MS: '20', FOOTFALL_LOG: 'warn' };
  execFileSync(binary, ['migrate'], { env });
  collector = spawn(binary, ['serve'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  await waitFor('collector', async () => (await fetch(`${api}/healthz`).catch(() => null))?.ok);
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: CHROMIUM_FLAGS });
  context = await browser.newContext({ viewport: { width: 1200, height: 900 }, locale: 'en-US' });
  page = await context.newPage();
  watch(page, 'owner');
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

test('first run: create the account, add a site, see the snippet turn green on the first page view', async () => {
  await page.goto(`${api}/`);
  await page.getByRole('heading', { name: 'Welcome to Footfall' }).waitFor();
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
  await page.getByRole('button', { name: 'Open the dashboard' }).click();
  await page.waitForURL(new RegExp(`site=${siteId}`));
});

async function apiQuery(query) {
  // The owner's cookie, through the page, so the test reads exactly what the dashboard may read.
  return page.evaluate(async (q) => {
    const params = new URLSearchParams(Object.entries(q).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
    return (await fetch(`/api/v1/query?${params}`)).json();
  }, query);
}

test('overview cards show the API\'s numbers, formatted for the locale', async () => {
  await page.goto(`${api}/?site=${siteId}&period=30d`);
  const card = (label) => page.locator('.card', { has: page.locator('.card-label', { hasText: new RegExp(`^${label}$`) }) }).locator('.card-value');
  await waitFor('cards', async () => !(await card('Unique visitors').textContent()).includes('…'));
  const answer = await apiQuery({ site: siteId, metrics: ['visitors', 'pageviews', 'visit_duration'], date_range: '30d' });
  const [visitors, pageviews, duration] = answer.results[0].metrics;
  assert.ok(visitors > 0);
  assert.equal(await card('Unique visitors').textContent(), new Intl.NumberFormat('en-US').format(visitors));
  assert.equal(await card('Total pageviews').textContent(), new Intl.NumberFormat('en-US').format(pageviews));
  const s = Math.round(duration);
  assert.equal(await card('Visit duration').textContent(), s < 60 ? `${s}s` : `${Math.floor(s / 60)}m ${s % 60}s`);
  assert.equal(await page.locator('.chart-box canvas').count() > 0, true);
  assert.ok((await page.locator('.breakdown').count()) >= 4, 'breakdown panels render');
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
});

test('tracked data is shown as text, never as markup', async () => {
  // Values that keep their angle brackets through ingestion: a UTM campaign (decoded from the query string),
  // a page title and an interaction property.
  const markup = (n) => `<img src=x onerror="window.__xss=${n}">`;
  const send = async (event) => {
    const response = await fetch(`${api}/api/event`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36' },
      body: JSON.stringify({ site: siteId, url: `https://portfolio.example/hostile?utm_campaign=${encodeURIComponent(markup(1))}`, pv: 'pv-hostile-1', ...event }),
    });
    assert.equal(response.status, 202);
  };
  await send({ type: 'pageview', title: markup(2) });
  await send({ type: 'interaction', name: 'chat', props: { note: markup(3) } });

  await page.goto(`${api}/?site=${siteId}&period=today`);
  const campaigns = page.locator('section[aria-label="Sources"]');
  await campaigns.getByRole('tab', { name: 'Campaign' }).click();
  await waitFor('the hostile campaign in the list', async () => {
    if (await campaigns.locator('.bar-label', { hasText: 'onerror' }).count()) return true;
    await page.reload();
    await campaigns.getByRole('tab', { name: 'Campaign' }).click();
    await page.waitForTimeout(300);
    return false;
  });
  assert.equal(await campaigns.locator('.bar-label', { hasText: 'onerror' }).first().textContent(), markup(1));

  await page.goto(`${api}/?site=${siteId}&view=sessions&period=today`);
  await page.locator('table.sessions tbody tr', { hasText: '/hostile' }).first().locator('a').click();
  await page.locator('.timeline .event').first().waitFor();
  const timeline = await page.locator('.timeline').textContent();
  assert.ok(timeline.includes(markup(2)), timeline);
  assert.ok(timeline.includes(`note: ${markup(3)}`), timeline);
  assert.equal(await page.locator('main img').count(), 0);
  assert.equal(await page.evaluate(() => window.__xss), 0);
});

test('a session opens on its timeline', async () => {
  await page.goto(`${api}/?site=${siteId}&view=sessions&period=30d`);
  const first = page.locator('table.sessions tbody a').first();
  await first.click();
  await page.waitForURL(/session=/);
  await page.locator('.timeline .event').first().waitFor();
  assert.match(await page.locator('.timeline .event-type').first().textContent(), /Page view/);
  assert.ok(await page.locator('.score-value').count());
});

test('a share link opens the same dashboard read-only', async () => {
  await page.goto(`${api}/?site=${siteId}&view=settings`);
  await page.getByRole('button', { name: 'Create share link' }).click();
  const url = await page.locator('textarea[aria-label="Share link"]').inputValue();
  assert.match(url, new RegExp(`^${api}/share/`));
  const visitor = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const shared = await visitor.newPage();
  watch(shared, 'share');
  await shared.goto(url);
  await shared.locator('.card-value').first().waitFor();
  await waitFor('shared cards', async () => !(await shared.locator('.card-value').first().textContent()).includes('…'));
  assert.deepEqual(await shared.locator('.nav-link').allTextContents(), ['Overview', 'Real time', 'Sessions', 'Conversions', 'Bots']);
  assert.equal(await shared.locator('#site-select').count(), 0, 'no site switcher (no adding sites)');
  assert.equal(await shared.getByText('Sign out').count(), 0);
  assert.equal(await shared.locator('.error').count(), 0, await shared.locator('.error').allTextContents().then(String));
  await visitor.close();
});

test('signing out returns to the sign-in form, and no page logged an error or a CSP violation', async () => {
  await page.goto(`${api}/?site=${siteId}`);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.reload();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  assert.deepEqual(problems, []);
});
