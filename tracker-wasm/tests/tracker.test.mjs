// The tracker in real Chromium against a real collector: what a site owner's visitors do, and what is stored.
import { test, before, after } from 'node:test';
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

async function visit(base, path = '', options = {}) {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  // Outbound links go nowhere real in tests.
  await page.route('https://github.com/**', (route) => route.fulfill({ body: 'ok', contentType: 'text/html' }));
  await page.goto(base + path);
  return { context, page };
}

const pageviews = (site) => stack.events(site, `e.kind = ${KIND.pageview}`);
const interactions = (site) => stack.events(site, `e.kind = ${KIND.interaction}`);

test('a page view is recorded per page, without duplicates', async () => {
  const { id, base } = stack.site('portfolio');
  const { context, page } = await visit(base, 'index.html');
  await waitFor('first page view', () => pageviews(id).length === 1);
  await page.click('header a[href="projects.html"]');
  await waitFor('second page view', () => pageviews(id).length === 2);
  await sleep(300);
  const paths = pageviews(id).map((e) => e.path);
  assert.deepEqual(paths, [`/s/${id}/portfolio/index.html`, `/s/${id}/portfolio/projects.html`]);
  assert.equal(pageviews(id)[1].title, 'Projects — Ada Lovelace');
  await context.close();
});

test('every SPA route is a page view, back navigation too, with its page group', async () => {
  const { id, base } = stack.site('spa');
  const { context, page } = await visit(base);
  await waitFor('landing', () => pageviews(id).length === 1);
  for (const route of ['about', 'community/montreal', 'community/paris']) {
    await page.click(`a[data-route="${route}"]`);
    await page.waitForURL(`**/${route}`);
  }
  await page.goBack();
  await waitFor('five page views', () => pageviews(id).length === 5);
  const views = pageviews(id);
  assert.deepEqual(views.map((e) => e.path.replace(`/s/${id}/spa/`, '')),
    ['', 'about', 'community/montreal', 'community/paris', 'community/montreal']);
  assert.equal(views[2].page_group, 'community:montreal');
  assert.equal(views[2].title, 'Meetups — Montréal', 'the page view carries the new route title');
  assert.equal(views[1].page_group, null);
  // Re-announcing the same URL (replaceState) is not a new page view.
  await page.evaluate(() => history.replaceState({}, '', location.href));
  await sleep(500);
  assert.equal(pageviews(id).length, 5);
  await context.close();
});

test('nothing is sent from localhost unless the site allows it', async () => {
  const { id, base } = stack.site('portfolio');
  const { context } = await visit(base, 'index.html?no-local');
  await sleep(1500);
  assert.equal(stack.events(id).length, 0);
  await context.close();
});
