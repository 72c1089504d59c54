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
const engagements = (site) => stack.events(site, `e.kind = ${KIND.engagement}`);

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

test('back and forward record each route with its own title and group, and what follows a page view keeps its group', async () => {
  const { id, base } = stack.site('spa');
  const { context, page } = await visit(base);
  let views = 1;
  const stored = () => waitFor(`page view ${views}`, () => pageviews(id).length === views);
  await stored();
  const steps = [
    ['click', 'community/montreal'], ['click', 'community/paris'], ['click', 'about'],
    ['back', 'community/paris'], ['back', 'community/montreal'], ['forward', 'community/paris'],
  ];
  for (const [how, route] of steps) {
    if (how === 'click') await page.click(`a[data-route="${route}"]`);
    else await (how === 'back' ? page.goBack() : page.goForward());
    await page.waitForURL(`**/${route}`);
    views++;
    await stored();
    // Something the page does while it is shown belongs to its page view.
    await page.evaluate((r) => footfall('track', 'seen', { route: r }), route);
  }
  const shown = pageviews(id).map((e) => [e.path.replace(`/s/${id}/spa/`, ''), e.title, e.page_group]);
  assert.deepEqual(shown, [
    ['', 'Meetups — Meetups', null],
    ['community/montreal', 'Meetups — Montréal', 'community:montreal'],
    ['community/paris', 'Meetups — Paris', 'community:paris'],
    ['about', 'Meetups — About', null],
    ['community/paris', 'Meetups — Paris', 'community:paris'],
    ['community/montreal', 'Meetups — Montréal', 'community:montreal'],
    ['community/paris', 'Meetups — Paris', 'community:paris'],
  ]);
  const byView = new Map(pageviews(id).map((e) => [e.pageview_id, e]));
  // Every page left reports its engagement along with the next page view.
  const left = pageviews(id).slice(0, -1).map((e) => e.pageview_id);
  await waitFor('engagement of every page left', () => left.every((pv) => engagements(id).some((e) => e.pageview_id === pv)));
  await waitFor('every interaction', () => interactions(id).length === steps.length);
  for (const event of [...engagements(id), ...interactions(id)]) {
    const view = byView.get(event.pageview_id);
    assert.ok(view, `${event.kind} tied to a page view`);
    assert.equal(event.path, view.path);
    assert.equal(event.page_group, view.page_group, `${event.kind === KIND.engagement ? 'engagement' : 'interaction'} of ${view.path}`);
  }
  await context.close();
});

test('nothing is sent from localhost unless the site allows it', async () => {
  const { id, base } = stack.site('portfolio');
  const { context } = await visit(base, 'index.html?no-local');
  await sleep(1500);
  assert.equal(stack.events(id).length, 0);
  await context.close();
});

test('a page not counted for being local says so in one console line naming the attribute; a counted page says nothing', async () => {
  const browse = async (query) => {
    const { id, base } = stack.site('spa');
    const context = await browser.newContext();
    const page = await context.newPage();
    const lines = [];
    // The static server has no favicon; that 404 is the browser's, not the tracker's.
    page.on('console', (m) => m.text().startsWith('Failed to load resource') || lines.push([m.type(), m.text()]));
    await page.goto(base + query);
    // The tracker has started once `footfall` is its own, not the queue.
    await page.waitForFunction(() => typeof footfall == 'function' && !footfall.q);
    // Route changes are not page loads: still one line at most.
    for (const route of ['about', 'community/paris']) {
      await page.click(`a[data-route="${route}"]`);
      await page.waitForURL(`**/${route}`);
    }
    await sleep(500);
    await context.close();
    return { lines, id };
  };
  const local = await browse('?no-local');
  assert.equal(stack.events(local.id).length, 0);
  assert.equal(local.lines.length, 1, JSON.stringify(local.lines));
  const [[type, text]] = local.lines;
  assert.ok(type === 'info' || type === 'warning', type);
  assert.match(text, /data-allow-localhost/);
  const allowed = await browse('');
  await waitFor('the counted page views', () => pageviews(allowed.id).length === 3);
  assert.deepEqual(allowed.lines, []);
});

test('engaged time of a page kept visible ~3 s arrives after navigating away, within ±1 s', async () => {
  const { id, base } = stack.site('portfolio');
  const { context, page } = await visit(base, 'about.html');
  await waitFor('page view', () => pageviews(id).length === 1);
  await sleep(3000);
  await page.click('header a[href="index.html"]');
  const [report] = await waitFor('engagement of the first page', () => {
    const rows = engagements(id);
    return rows.length ? rows : null;
  });
  assert.equal(report.path, `/s/${id}/portfolio/about.html`);
  assert.equal(report.pageview_id, pageviews(id)[0].pageview_id, 'engagement is tied to its page view');
  assert.ok(report.engaged_ms >= 2000 && report.engaged_ms <= 4000, `engaged ${report.engaged_ms} ms`);
  const sections = JSON.parse(report.sections);
  assert.ok(sections.story >= 2000, `section dwell ${report.sections}`);
  await context.close();
});

test('hidden time is not counted', async () => {
  const { id, base } = stack.site('portfolio');
  const { context, page } = await visit(base, 'about.html');
  await waitFor('page view', () => pageviews(id).length === 1);
  await sleep(1000);
  // Headless Chromium has no window to minimise: present the page as hidden the way a background tab is.
  const setHidden = (hidden) => page.evaluate((h) => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (h ? 'hidden' : 'visible') });
    document.dispatchEvent(new Event('visibilitychange'));
  }, hidden);
  await setHidden(true);
  await waitFor('report on hide', () => engagements(id).length === 1);
  await sleep(3000);
  await setHidden(false);
  await sleep(1000);
  await setHidden(true);
  await waitFor('second report', () => engagements(id).length === 2);
  const [first, second] = engagements(id).map((e) => e.engaged_ms);
  assert.ok(first >= 700 && first <= 1600, `first visible second: ${first} ms`);
  assert.ok(second >= 700 && second <= 1600, `3 s hidden not counted: ${second} ms`);
  await context.close();
});

test('scroll depth: the middle of the page is about 50, the bottom 100', async () => {
  const { id, base } = stack.site('portfolio');
  const { context, page } = await visit(base, 'index.html', { viewport: { width: 1000, height: 600 } });
  await waitFor('page view', () => pageviews(id).length === 1);
  // Bottom of the viewport at the middle of the document.
  await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight / 2 - innerHeight));
  await sleep(300);
  await page.evaluate(() => { document.dispatchEvent(new Event('visibilitychange')); });
  await page.click('header a[href="about.html"]');
  const middle = await waitFor('first report', () => engagements(id)[0]);
  assert.ok(Math.abs(middle.scroll - 50) <= 3, `middle: ${middle.scroll}`);
  await waitFor('about page view', () => pageviews(id).length === 2);
  await page.goBack();
  await waitFor('page view again', () => pageviews(id).length === 3);
  await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
  await sleep(300);
  await page.click('header a[href="jobs.html"]');
  const bottom = await waitFor('bottom report', () => engagements(id).find((e) => e.scroll === 100));
  assert.equal(bottom.path, `/s/${id}/portfolio/index.html`);
  await context.close();
});

test('chat, job analysis and project cards become named interactions with their properties', async () => {
  const { id, base } = stack.site('portfolio');
  const { context, page } = await visit(base, 'jobs.html');
  await waitFor('page view', () => pageviews(id).length === 1);
  await page.click('#open-chat');
  await page.fill('#chat input', 'Hello there');
  await page.click('#chat button');
  await page.fill('#job-form textarea', 'We need Rust, PostgreSQL and Redis for privacy-first analytics.');
  await page.click('#job-form textarea');
  await page.click('#job-form button');
  await page.goto(base + 'index.html');
  await page.click('a.card[data-footfall-project="tiles"]');
  await waitFor('interactions', () => interactions(id).length >= 5);
  // Two interactions fired in the same millisecond (the job form's analysis and its result) travel as two
  // requests and are stored in whichever order they arrive: compare as a set, in a stable order.
  const canonical = ([name, props]) => JSON.stringify([name, Object.entries(props).sort()]);
  const byName = (a, b) => canonical(a).localeCompare(canonical(b));
  const seen = interactions(id).map((e) => [e.name, JSON.parse(e.props)]).sort(byName);
  assert.deepEqual(seen, [
    ['chat', { action: 'open' }],
    ['chat', { messages: 1, action: 'message' }],
    ['job_analysis', { source: 'paste' }],
    ['job_analysis_result', { matched: 5 }],
    ['project_view', { project: 'tiles' }],
  ].sort(byName));
  assert.equal(await page.textContent('h1'), 'Project details');
  await context.close();
});

test('track and identify called before the tracker loaded are delivered', async () => {
  const { id, base } = stack.site('portfolio');
  const context = await browser.newContext();
  await context.addInitScript(() => {
    window.footfall = function () { (window.footfall.q = window.footfall.q || []).push(arguments) };
    footfall('track', 'signup_click', { plan: 'pro', seats: 3 });
    footfall('identify', 'user-7', { remember: true });
  });
  const page = await context.newPage();
  await page.goto(base + 'index.html');
  await waitFor('early calls', () => stack.events(id, `e.kind IN (${KIND.interaction}, ${KIND.identify})`).length === 2);
  const [track] = stack.events(id, `e.kind = ${KIND.interaction}`);
  const [identify] = stack.events(id, `e.kind = ${KIND.identify}`);
  assert.equal(track.name, 'signup_click');
  assert.deepEqual(JSON.parse(track.props), { plan: 'pro', seats: 3 });
  assert.equal(identify.kind, KIND.identify);
  assert.match(identify.user_hash, /^[0-9a-f]{32}$/, 'the user id is stored only as a keyed hash');
  await context.close();
});

test('an outbound link click is recorded', async () => {
  const { id, base } = stack.site('portfolio');
  const { context, page } = await visit(base, 'index.html');
  await waitFor('page view', () => pageviews(id).length === 1);
  await page.click('a[href="https://github.com/footfall"]');
  const outbound = await waitFor('outbound', () => interactions(id).find((e) => e.name === 'outbound'));
  assert.deepEqual(JSON.parse(outbound.props), { url: 'github.com/footfall' });
  await context.close();
});

test('opting out stops every beacon, opting in resumes them', async () => {
  const { id, base } = stack.site('spa');
  const { context, page } = await visit(base);
  await waitFor('page view', () => pageviews(id).length === 1);
  await page.evaluate(() => footfall('optout'));
  await page.click('a[data-route="about"]');
  await page.evaluate(() => footfall('track', 'ignored'));
  await page.reload();
  await sleep(1500);
  assert.equal(stack.events(id).length, 1, 'nothing after the opt-out, also after a reload');
  await page.evaluate(() => footfall('optin'));
  await page.click('a[data-route="community/paris"]');
  await waitFor('page view after opt-in', () => pageviews(id).length === 2);
  await context.close();
});

test('where WebAssembly cannot run, the loader still sends the page view', async () => {
  // Two ways a visitor's page can refuse WebAssembly: a browser without it (this Chromium build ignores
  // V8's --no-expose-wasm, so it is removed before any page script runs), or a site whose CSP does not allow
  // compiling it (a real refusal by the browser).
  for (const [withoutWasm, query] of [[true, ''], [false, '&no-wasm-csp']]) {
    const { id, base } = stack.site('portfolio');
    const visitor = await browser.newContext();
    if (withoutWasm) await visitor.addInitScript(() => { delete window.WebAssembly; });
    const page = await visitor.newPage();
    await page.goto(base + `index.html?utm_source=newsletter&secret=1${query}`);
    const [view] = await waitFor('fallback page view', () => { const v = pageviews(id); return v.length ? v : null; });
    assert.equal(view.path, `/s/${id}/portfolio/index.html`);
    assert.equal(view.pageview_id, null, 'sent by the loader, not the tracker');
    await visitor.close();
  }
});

test('no long task while scrolling the portfolio page', async () => {
  const { id, base } = stack.site('portfolio');
  const { context, page } = await visit(base, 'index.html', { viewport: { width: 1000, height: 600 } });
  await waitFor('page view', () => pageviews(id).length === 1);
  await page.evaluate(() => {
    window.longTasks = [];
    new PerformanceObserver((list) => window.longTasks.push(...list.getEntries().map((e) => e.duration))).observe({ type: 'longtask' });
  });
  for (let i = 0; i < 40; i++) {
    await page.mouse.wheel(0, 120);
    await sleep(16);
  }
  await sleep(300);
  assert.deepEqual(await page.evaluate(() => window.longTasks), []);
  await context.close();
});

test('headless Chromium announcing itself is dropped as a crawler', async () => {
  const { id, base } = stack.site('portfolio');
  const context = await browser.newContext({ userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36' });
  const dropped = () => stack.metrics().then((m) => Number(/footfall_events_dropped_total\{reason="bot_ua"\} (\d+)/.exec(m)[1]));
  const before = await dropped();
  await (await context.newPage()).goto(base + 'index.html');
  await waitFor('drop counted', async () => (await dropped()) > before);
  assert.equal(stack.events(id).length, 0);
  await context.close();
});

test('an automated browser (navigator.webdriver) is dropped by the collector', async () => {
  const { id, base } = stack.site('portfolio');
  const automated = await launchBrowser([], { automation: true });
  const page = await automated.newPage();
  const dropped = () => stack.metrics().then((m) => Number(/footfall_events_dropped_total\{reason="headless"\} (\d+)/.exec(m)[1]));
  const before = await dropped();
  await page.goto(base + 'index.html');
  assert.equal(await page.evaluate(() => navigator.webdriver), true);
  await waitFor('drop counted', async () => (await dropped()) > before);
  assert.equal(stack.events(id).length, 0);
  await automated.close();
});
