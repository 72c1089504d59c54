// The dashboard's only door to the collector: every request goes through `request()` here, and this module
// is the only one that calls fetch. Endpoint paths, payload names and the three ways of authenticating live
// here so they can be adjusted in one place:
//   - a dashboard session (cookie set by POST /auth/login or /auth/setup; state-changing requests send the
//     CSRF header that the login/status answer names);
//   - a share link (`/share/TOKEN`): `Authorization: Share TOKEN`, read-only, one site;
//   - an API key typed into the sign-in screen (`Authorization: Bearer KEY`), kept in sessionStorage for
//     this tab only — for operators who have a key but no dashboard account.
// Errors always become an ApiError whose message is readable by a person (the API's
// {"error":{"code","message"}} where there is one).

const BASE = '/api/v1';
const KEY_STORAGE = 'footfall.apiKey';

const auth = {
  mode: 'cookie', // 'cookie' | 'share' | 'key'
  csrfHeader: 'X-CSRF-Token',
  csrfToken: null,
  shareToken: null,
  key: null,
};

let onUnauthorized = () => {};

export class ApiError extends Error {
  constructor(status, code, message, retryAfter = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

/** Called when a dashboard session has ended (401 in cookie mode), so the app can show the sign-in form. */
export function setUnauthorizedHandler(handler) {
  onUnauthorized = handler;
}

/** The share token when the page was opened from a share link (`/share/TOKEN`, or `?share=TOKEN`). */
export function shareTokenFromLocation() {
  const match = location.pathname.match(/^\/share\/([A-Za-z0-9_.~-]{8,256})\/?$/);
  if (match) return match[1];
  const param = new URLSearchParams(location.search).get('share');
  return param && /^[A-Za-z0-9_.~-]{8,256}$/.test(param) ? param : null;
}

export function useShareToken(token) {
  Object.assign(auth, { mode: 'share', shareToken: token, key: null });
}

export function storedApiKey() {
  try {
    return sessionStorage.getItem(KEY_STORAGE);
  } catch {
    return null;
  }
}

export function useApiKey(key) {
  Object.assign(auth, { mode: 'key', key });
  try {
    sessionStorage.setItem(KEY_STORAGE, key);
  } catch {
    // Private mode without storage: the key lasts until reload.
  }
}

export function forgetApiKey() {
  try {
    sessionStorage.removeItem(KEY_STORAGE);
  } catch {
    // nothing stored
  }
  Object.assign(auth, { mode: 'cookie', key: null });
}

export function authMode() {
  return auth.mode;
}

/** Read-only: a share link can only read one site; the UI hides every write. */
export function isReadOnly() {
  return auth.mode === 'share';
}

function rememberCsrf(answer) {
  if (!answer || typeof answer !== 'object') return;
  if (typeof answer.csrf_header === 'string' && answer.csrf_header) auth.csrfHeader = answer.csrf_header;
  if (typeof answer.csrf_token === 'string') auth.csrfToken = answer.csrf_token;
}

function headers(method, hasBody) {
  const h = { Accept: 'application/json' };
  if (hasBody) h['Content-Type'] = 'application/json';
  if (auth.mode === 'share') h.Authorization = `Share ${auth.shareToken}`;
  else if (auth.mode === 'key') h.Authorization = `Bearer ${auth.key}`;
  else if (method !== 'GET' && method !== 'HEAD' && auth.csrfToken) h[auth.csrfHeader] = auth.csrfToken;
  return h;
}

function withQuery(path, params) {
  if (!params) return path;
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined || value === null) continue;
    search.set(name, typeof value === 'object' ? JSON.stringify(value) : String(value));
  }
  const text = search.toString();
  return text ? `${path}?${text}` : path;
}

async function errorFrom(response) {
  const retryAfter = response.headers.get('Retry-After');
  let code = 'http_' + response.status;
  let message = '';
  try {
    const body = await response.json();
    if (body && body.error) {
      code = String(body.error.code || code);
      message = String(body.error.message || '');
    }
  } catch {
    // Not JSON (a proxy's page, an empty body): say what we know.
  }
  if (!message) {
    message = {
      401: 'You are not signed in, or your session has ended.',
      403: 'You do not have access to this.',
      404: 'This is not available on this server (yet).',
      429: 'Too many requests.',
      502: 'The Footfall server is not reachable behind its proxy.',
      503: 'The Footfall server is busy or starting; try again shortly.',
    }[response.status] || `The server answered ${response.status} ${response.statusText}.`;
  }
  if (response.status === 429 && retryAfter) message += ` Try again in ${retryAfter} s.`;
  return new ApiError(response.status, code, message, retryAfter ? Number(retryAfter) : null);
}

/** One API call: JSON in, JSON out; throws ApiError (or AbortError when `signal` aborts). */
export async function request(method, path, { body, query, signal } = {}) {
  let response;
  try {
    response = await fetch(withQuery(BASE + path, query), {
      method,
      headers: headers(method, body !== undefined),
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
      signal,
    });
  } catch (error) {
    if (error && error.name === 'AbortError') throw error;
    throw new ApiError(0, 'network', 'Cannot reach the Footfall server. Check your connection and try again.');
  }
  if (!response.ok) {
    const error = await errorFrom(response);
    // A refused sign-in, or a refused password on an invitation, is an answer to show, not a session that ended.
    const asksPassword = path.startsWith('/auth/') || path.startsWith('/invitations/');
    if (response.status === 401 && auth.mode !== 'share' && !asksPassword) onUnauthorized(error);
    throw error;
  }
  if (response.status === 204) return null;
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(response.status, 'invalid_response', 'The server sent an answer the dashboard cannot read.');
  }
}

// ---- auth -------------------------------------------------------------------------------------------------

/** `{setup_required, user: {email, id, is_admin}, principal, csrf_header, csrf_token}`. */
export async function authStatus(signal) {
  const status = await request('GET', '/auth/status', { signal });
  rememberCsrf(status);
  return status || {};
}

export async function login(email, password) {
  const answer = await request('POST', '/auth/login', { body: { email, password } });
  rememberCsrf(answer);
  forgetApiKey();
  return answer;
}

/** First run: create the first account (and be signed in as it). */
export async function setup(email, password) {
  const answer = await request('POST', '/auth/setup', { body: { email, password } });
  rememberCsrf(answer);
  forgetApiKey();
  return answer;
}

export async function logout() {
  try {
    await request('POST', '/auth/logout');
  } finally {
    auth.csrfToken = null;
  }
}

// ---- sites ------------------------------------------------------------------------------------------------

function normaliseSite(raw) {
  if (!raw || typeof raw !== 'object') return null;
  const id = raw.id ?? raw.public_id ?? raw.site;
  if (id === undefined || id === null) return null;
  return { ...raw, id: String(id), domain: String(raw.domain ?? id) };
}

function list(answer, key) {
  const items = Array.isArray(answer) ? answer : answer && Array.isArray(answer[key]) ? answer[key] : [];
  return items;
}

export async function listSites(signal) {
  return list(await request('GET', '/sites', { signal }), 'sites').map(normaliseSite).filter(Boolean);
}

export async function createSite({ domain, timezone }) {
  const answer = await request('POST', '/sites', { body: { domain, timezone } });
  return normaliseSite(answer && answer.site ? answer.site : answer);
}

export async function getSite(id, signal) {
  const answer = await request('GET', `/sites/${encodeURIComponent(id)}`, { signal });
  return normaliseSite(answer && answer.site ? answer.site : answer);
}

export async function updateSite(id, changes) {
  const answer = await request('PATCH', `/sites/${encodeURIComponent(id)}`, { body: changes });
  return normaliseSite(answer && answer.site ? answer.site : answer);
}

/**
 * Is `domain` a development address: loopback, a private network, link-local or a `.local`/`.localhost` name?
 * The tracker skips loopback pages unless its tag says `data-allow-localhost`, so a site on such an address
 * would otherwise never see its first page view.
 */
export function isLocalDomain(domain) {
  const host = String(domain).trim().toLowerCase().replace(/\.$/, '').replace(/^\[(.*)\]$/, '$1');
  if (host === 'localhost' || host.endsWith('.localhost') || host.endsWith('.local')) return true;
  const v4 = /^(\d{1,3})\.(\d{1,3})\.\d{1,3}\.\d{1,3}$/.exec(host);
  if (v4) {
    const [a, b] = [Number(v4[1]), Number(v4[2])];
    return a === 127 || a === 10 || a === 0 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254);
  }
  // IPv6: loopback, unique local (fc00::/7), link-local (fe80::/10).
  return host.includes(':') && (/^(0*:)*:?0*1$/.test(host) || /^f[cd][0-9a-f]{0,2}:/.test(host) || /^fe[89ab][0-9a-f]?:/.test(host));
}

/** The tag a site owner pastes into their pages; a local site's counts local pages too. */
export function trackerSnippet(siteId, { allowLocalhost = false } = {}) {
  const local = allowLocalhost ? ' data-allow-localhost' : '';
  return `<script defer src="${location.origin}/t.js" data-site="${siteId}"${local}></script>`;
}

// ---- stats ------------------------------------------------------------------------------------------------

/**
 * POST /query's body, sent as GET /query's parameters (the same fields; lists JSON-encoded): a read that
 * share links may make (they allow GET only) and that needs no CSRF token.
 */
export function query(body, signal) {
  const params = { ...body };
  if (Array.isArray(params.filters) && !params.filters.length) delete params.filters;
  return request('GET', '/query', { query: params, signal });
}

/**
 * A query whose metrics the server may not all offer yet: metrics it answers `unsupported_metric` for
 * (named in backticks in the message) are dropped and the query is asked again. Returns the answer with
 * each row's metrics re-expanded to the requested list (null where unavailable) and `unavailable`.
 */
// Metrics this server said it does not offer, so later queries (other panels, other periods) skip them at
// once instead of paying one refused request each. Forgotten on reload, when the server may have grown.
const unsupportedMetrics = new Set();

export async function queryLenient(body, signal) {
  let metrics = body.metrics.filter((m) => !unsupportedMetrics.has(m));
  if (!metrics.length) metrics = [...body.metrics];
  const unavailable = body.metrics.filter((m) => !metrics.includes(m));
  for (;;) {
    try {
      const answer = await query({ ...body, metrics }, signal);
      const expand = (rows) =>
        (rows || []).map((row) => ({
          dimensions: row.dimensions || [],
          metrics: body.metrics.map((m) => {
            const i = metrics.indexOf(m);
            return i < 0 ? null : row.metrics[i];
          }),
        }));
      return { ...answer, results: expand(answer.results), compare: answer.compare ? expand(answer.compare) : null, unavailable };
    } catch (error) {
      const name = error.code === 'unsupported_metric' && /`([a-z_]+)`/.exec(error.message);
      if (!name || !metrics.includes(name[1]) || metrics.length === 1) throw error;
      metrics = metrics.filter((m) => m !== name[1]);
      unavailable.push(name[1]);
      unsupportedMetrics.add(name[1]);
    }
  }
}

const sitePath = (site, rest = '') => `/sites/${encodeURIComponent(site)}${rest}`;

export function realtime(site, signal) {
  return request('GET', sitePath(site, '/realtime'), { signal });
}

/**
 * Follows `GET /sites/{site}/realtime/stream` (Server-Sent Events; one JSON object per message, the shape of
 * /realtime). Read with fetch rather than EventSource because EventSource cannot send the Authorization header
 * that share links and API keys need. Reconnects with backoff; `onError(ApiError)` reports failures (the stream
 * keeps retrying unless the server said 4xx). Returns a function that stops it.
 */
export function realtimeStream(site, { onData, onError, onOpen }) {
  const controller = new AbortController();
  let delay = 1000;
  const run = async () => {
    while (!controller.signal.aborted) {
      try {
        const response = await fetch(BASE + sitePath(site, '/realtime/stream'), {
          headers: { ...headers('GET', false), Accept: 'text/event-stream' },
          credentials: 'same-origin',
          cache: 'no-store',
          signal: controller.signal,
        });
        if (!response.ok) {
          const error = await errorFrom(response);
          onError(error);
          if (response.status >= 400 && response.status < 500 && response.status !== 429) return;
        } else {
          onOpen && onOpen();
          delay = 1000;
          const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
          let buffer = '';
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            buffer += value.replace(/\r\n?/g, '\n');
            let end;
            while ((end = buffer.indexOf('\n\n')) >= 0) {
              const block = buffer.slice(0, end);
              buffer = buffer.slice(end + 2);
              const data = block
                .split('\n')
                .filter((line) => line.startsWith('data:'))
                .map((line) => line.slice(5).replace(/^ /, ''))
                .join('\n');
              if (!data) continue;
              try {
                onData(JSON.parse(data));
              } catch {
                onError(new ApiError(200, 'invalid_response', 'The live stream sent a message the dashboard cannot read.'));
              }
            }
          }
          onError(new ApiError(0, 'stream_closed', 'The live connection closed; reconnecting…'));
        }
      } catch (error) {
        if (controller.signal.aborted) return;
        onError(new ApiError(0, 'network', 'Lost the live connection; reconnecting…'));
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 30000);
    }
  };
  run();
  return () => controller.abort();
}

export function sessions(site, { dateRange, filters, limit, offset }, signal) {
  return request('GET', sitePath(site, '/sessions'), {
    query: { date_range: dateRange, filters: filters && filters.length ? filters : undefined, limit, offset },
    signal,
  });
}

export function session(site, id, signal) {
  return request('GET', sitePath(site, `/sessions/${encodeURIComponent(id)}`), { signal });
}

export function conversions(site, { dateRange, filters }, signal) {
  return request('GET', sitePath(site, '/conversions'), {
    query: { date_range: dateRange, filters: filters && filters.length ? filters : undefined },
    signal,
  });
}

export function bots(site, { dateRange }, signal) {
  return request('GET', sitePath(site, '/bots'), { query: { date_range: dateRange }, signal });
}

// ---- share links and keys -----------------------------------------------------------------------------------

export async function shareLinks(site, signal) {
  return list(await request('GET', sitePath(site, '/share-links'), { signal }), 'share_links');
}

export function createShareLink(site) {
  return request('POST', sitePath(site, '/share-links'), { body: {} });
}

export function deleteShareLink(site, id) {
  return request('DELETE', sitePath(site, `/share-links/${encodeURIComponent(id)}`));
}

/** The dashboard address a new share link opens (the server's `url` may be relative: made absolute here). */
export function shareUrl(link) {
  if (link.url) return new URL(String(link.url), location.origin).href;
  return `${location.origin}/share/${encodeURIComponent(link.token)}`;
}

export async function apiKeys(signal) {
  return list(await request('GET', '/keys', { signal }), 'keys');
}

/** `{scope, site}` → the new key; its secret (`key`) is in this answer only. */
export function createApiKey({ scope, site }) {
  return request('POST', '/keys', { body: { scope, site } });
}

export function deleteApiKey(id) {
  return request('DELETE', `/keys/${encodeURIComponent(id)}`);
}

// ---- people, invitations and passwords ----------------------------------------------------------------------

/** `{members: [{user_id, email, role, since}], invitations: [{id, email, role, created_at, expires_at}]}`. */
export async function members(site, signal) {
  const answer = (await request('GET', sitePath(site, '/members'), { signal })) || {};
  return { members: list(answer, 'members'), invitations: list(answer, 'invitations') };
}

export function setMemberRole(site, userId, role) {
  return request('PATCH', sitePath(site, `/members/${encodeURIComponent(userId)}`), { body: { role } });
}

/** Removes a member, or (with one's own id) leaves the site. */
export function removeMember(site, userId) {
  return request('DELETE', sitePath(site, `/members/${encodeURIComponent(userId)}`));
}

/** `{member}` for an existing account, `{invitation, url}` (the one-time link, shown once) for a new email. */
export function invite(site, { email, role }) {
  return request('POST', sitePath(site, '/invitations'), { body: { email, role } });
}

export function revokeInvitation(site, id) {
  return request('DELETE', sitePath(site, `/invitations/${encodeURIComponent(id)}`));
}

export function transferSite(site, email) {
  return request('POST', sitePath(site, '/transfer'), { body: { email } });
}

/** A one-time link the server made, absolute (the server answers a relative one when it cannot tell its host). */
export function absoluteUrl(url) {
  return new URL(String(url), location.origin).href;
}

const TOKEN = /^ff[ir]_[0-9a-f]{64}$/;

/** The token of an invitation (`#/invite/TOKEN`) or reset link (`#/reset/TOKEN`) this page was opened with. */
export function linkFromLocation() {
  const match = location.hash.match(/^#\/(invite|reset)\/([^/?#]+)$/);
  return match && TOKEN.test(match[2]) ? { kind: match[1], token: match[2] } : null;
}

/** `{site: {id, domain}, role, email, expires_at, account_exists}`. */
export function invitation(token, signal) {
  return request('GET', `/invitations/${encodeURIComponent(token)}`, { signal });
}

/** Joins the site (creating the account when it is new) and signs in as the invited account. */
export async function acceptInvitation(token, password) {
  const answer = await request('POST', `/invitations/${encodeURIComponent(token)}/accept`, { body: { password } });
  rememberCsrf(answer);
  forgetApiKey();
  return answer;
}

/** Changes the signed-in account's password; its other sign-ins end. */
export function changePassword(current, next) {
  return request('POST', '/account/password', { body: { current, new: next } });
}

/** The instance's accounts (for its administrator). */
export async function users(signal) {
  return list(await request('GET', '/users', { signal }), 'users');
}

/** `{url, expires_at}`: a one-time password reset link for account `id`, valid one hour. */
export function resetLink(id) {
  return request('POST', `/users/${encodeURIComponent(id)}/reset-link`);
}

/** Sets the password of the account a reset link is for → `{email}`. */
export function redeemReset(token, password) {
  return request('POST', `/password-reset/${encodeURIComponent(token)}`, { body: { password } });
}
