// Browser-test harness: a real collector (the debug binary, SQLite), a static server for examples/, and
// Debian's Chromium driven by playwright-core. Pages are served under /s/<site>/<example>/ so each test
// has its own site; the server points the examples' script tag at the test collector.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, dirname, extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
// The workspace's debug build of the collector, or FOOTFALL_BIN (a build in another target directory).
const binary = process.env.FOOTFALL_BIN || join(root, 'target', 'debug', 'footfall');
export const CHROMIUM_FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const freePort = () => new Promise((resolve) => {
  const server = createServer().listen(0, '127.0.0.1', () => { const { port } = server.address(); server.close(() => resolve(port)); });
});

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export async function waitFor(what, check, timeout = 10000) {
  const start = Date.now();
  let last;
  while (Date.now() - start < timeout) {
    last = await check();
    if (last) return last;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
}

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };

export async function startStack() {
  if (!existsSync(binary)) throw new Error(`build the collector first: ${binary}`);
  const dir = mkdtempSync(join(tmpdir(), 'footfall-browser-'));
  const collectorPort = await freePort();
  const env = { ...process.env, FOOTFALL_DATABASE_URL: `sqlite://${dir}/footfall.db?mode=rwc`,
    FOOTFALL_DATA_DIR: join(dir, 'data'), FOOTFALL_LISTEN: `127.0.0.1:${collectorPort}`,
    FOOTFALL_SPOOL__SEGMENT_MAX_AGE_MS: '20', FOOTFALL_LOG: 'warn' };
  const cli = (...args) => execFileSync(binary, args, { env, encoding: 'utf8' }).trim();
  cli('migrate');
  const collector = spawn(binary, ['serve'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const api = `http://127.0.0.1:${collectorPort}`;
  await waitFor('collector', async () => (await fetch(`${api}/healthz`).catch(() => null))?.ok);

  const pages = createServer((req, res) => {
    const url = new URL(req.url, 'http://localhost');
    const [, s, site, example, ...rest] = url.pathname.split('/');
    let file = join(root, 'examples', example ?? '', ...rest);
    if (s !== 's' || !site || !file.startsWith(join(root, 'examples'))) { res.writeHead(404).end(); return; }
    if (!existsSync(file) || statSync(file).isDirectory()) {
      // Client-side routes of the SPA all load its index.
      file = existsSync(join(file, 'index.html')) ? join(file, 'index.html') : join(root, 'examples', example, 'index.html');
    }
    let body = readFileSync(file);
    if (extname(file) === '.html') {
      let html = body.toString().replaceAll('http://127.0.0.1:8080', api).replaceAll('data-site="demo"', `data-site="${site}"`);
      if (url.searchParams.has('no-local')) html = html.replaceAll(' data-allow-localhost', '');
      body = html;
    }
    const headers = { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' };
    // A site whose Content-Security-Policy does not allow WebAssembly ('wasm-unsafe-eval').
    if (url.searchParams.has('no-wasm-csp')) headers['content-security-policy'] = `script-src 'self' 'unsafe-inline' ${api}; connect-src ${api}`;
    res.writeHead(200, headers).end(body);
  });
  const pagesPort = await freePort();
  await new Promise((resolve) => pages.listen(pagesPort, '127.0.0.1', resolve));

  let sites = 0;
  return {
    api,
    /** A new site for `localhost` pages, with `footfall site set` options if any (before the collector first
     * reads it); returns the URL prefix its example pages are served under. */
    site(example, ...settings) {
      const id = `t${process.pid}x${++sites}`;
      cli('site', 'add', 'localhost', '--id', id);
      if (settings.length) cli('site', 'set', id, ...settings);
      return { id, base: `http://localhost:${pagesPort}/s/${id}/${example}/` };
    },
    /** Rows of a query against the collector's SQLite database. */
    sql(query) {
      const out = execFileSync('sqlite3', ['-json', join(dir, 'footfall.db'), query], { encoding: 'utf8' });
      return out.trim() ? JSON.parse(out) : [];
    },
    events(site, where = '1=1') {
      return this.sql(`SELECT e.kind, e.path, e.name, e.props, e.engaged_ms, e.scroll, e.page_group, e.pageview_id,
        e.user_hash, e.sections, e.title FROM events e JOIN sites s ON s.id = e.site_id
        WHERE s.public_id = '${site}' AND (${where}) ORDER BY e.ts, e.rowid`);
    },
    async metrics() {
      return (await fetch(`${api}/metrics`)).text();
    },
    async close() {
      collector.kill('SIGTERM');
      pages.close();
    },
  };
}

// Headless Chromium says "HeadlessChrome" in its User-Agent, which the collector drops as a crawler; the
// visitors these tests play use the User-Agent of a desktop Chrome.
const VISITOR_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36';

/** Chromium as a visitor's browser: automation flags off, so navigator.webdriver is false. */
export function launchBrowser(extraArgs = [], { automation = false } = {}) {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [...CHROMIUM_FLAGS, `--user-agent=${VISITOR_UA}`,
      ...(automation ? [] : ['--disable-blink-features=AutomationControlled']), ...extraArgs],
    ignoreDefaultArgs: automation ? [] : ['--enable-automation'],
  });
}

export const KIND = { pageview: 0, engagement: 1, interaction: 2, identify: 3 };
