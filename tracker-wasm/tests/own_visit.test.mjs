// The portfolio's "What does this site record about me?" page in real Chromium against a real collector: it
// shows the visitor's own visit as text, and "Forget this visit" erases it (issue 24, part 1).
import { test, before, after } from 'node:test';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { startStack, launchBrowser, waitFor, sleep, KIND } from './harness.mjs';

let stack;
let browser;
before(async () => {
  stack = await startStack();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await stack?.close();
});

test('the privacy page shows this visit as text and forgets it', async () => {
  const { id, base } = stack.site('portfolio', '--public-current-session', 'true');
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(base + 'index.html');
  const home = `/s/${id}/portfolio/index.html`;
  await waitFor('the home page view', () => stack.events(id, `e.kind = ${KIND.pageview}`).length === 1);
  await page.click('#privacy-link');
  await page.waitForURL('**/privacy.html');
  // Leaving the home page sent its engagement; both page views are in SQL before the page reads them.
  await waitFor('both page views stored', () => stack.events(id, `e.kind = ${KIND.pageview}`).length === 2);
  await page.reload();
  await page.waitForSelector('#forget-visit:not([hidden])');
  const pages = await page.locator('#own-visit-pages li').allTextContents();
  assert.ok(pages.some((text) => text.startsWith(`${home} at `)), JSON.stringify(pages));
  assert.match(await page.locator('#own-visit-facts').textContent(), /Chrome/);
  assert.ok((await page.locator('#own-visit-never li').allTextContents()).includes('IP address'));
  // Text, not markup: nothing the page shows was parsed as HTML.
  assert.equal(await page.locator('#own-visit-pages li *').count(), 0);
  // For a person to look at: what a visitor sees (test-artifacts/tracker/own-visit.png).
  const artifacts = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test-artifacts', 'tracker');
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, 'own-visit.png'), fullPage: true, animations: 'disabled' });

  await page.click('#forget-visit');
  await waitFor('the forgotten message', async () =>
    /^Forgotten: \d+ recorded events/.test(await page.locator('#own-visit-status').textContent()));
  assert.equal(stack.events(id, `e.path = '${home}'`).length, 0, 'the home page view and its engagement are gone');
  assert.equal(stack.sql(`SELECT COUNT(*) AS n FROM sessions s JOIN sites t ON t.id = s.site_id
    WHERE t.public_id = '${id}' AND s.entry_page = '${home}'`)[0].n, 0);
  assert.match(await stack.metrics(), /footfall_visits_forgotten_total 1\b/);
  await context.close();
  // Anything spooled for the old visit when it was forgotten never arrives.
  await sleep(500);
  assert.equal(stack.events(id, `e.path = '${home}'`).length, 0);
});
