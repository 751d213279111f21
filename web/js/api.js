// HTTP client for the messenger API (docs/API.md) and the stored session.

const STORAGE_KEY = 'messenger.auth';

export class ApiError extends Error {
  constructor(status, body, message) {
    super(message || (body && body.error) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
  get network() { return this.status === 0; }
}

let auth = loadAuth();
let onUnauthorized = () => {};
let refreshTimer = null;
let refreshing = null;
const authListeners = new Set();

function loadAuth() {
  try {
    const raw = localStorage.getItem(STORAGE_KEY);
    if (!raw) return null;
    const a = JSON.parse(raw);
    if (!a || typeof a.token !== 'string' || !a.user || typeof a.user.id !== 'string') return null;
    return a;
  } catch {
    return null;
  }
}

export function getAuth() { return auth; }
export function token() { return auth ? auth.token : null; }

export function isExpired(a = auth) {
  if (!a) return true;
  const exp = Date.parse(a.expiresAt);
  return Number.isFinite(exp) && exp <= Date.now() + 5000;
}

export function setAuth(next) {
  auth = next;
  try {
    if (next) localStorage.setItem(STORAGE_KEY, JSON.stringify(next));
    else localStorage.removeItem(STORAGE_KEY);
  } catch { /* storage may be unavailable (private mode); keep it in memory */ }
  scheduleRefresh();
  for (const fn of authListeners) fn(auth);
}

export function onAuthChange(fn) { authListeners.add(fn); return () => authListeners.delete(fn); }
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

let stopAuthSync = null;

/**
 * Starts following another tab's sign-out or sign-in (the `storage` event on the stored session: the auth listeners
 * hear of it as of a change made here); returns its stop. Started by the app at boot rather than when this module is
 * imported, so importing it has no side effects. Starting twice returns the running one's stop.
 */
export function startAuthSync() {
  if (stopAuthSync) return stopAuthSync;
  const onStorage = (e) => {
    if (e.key !== STORAGE_KEY) return;
    const next = loadAuth();
    if ((next && next.token) === (auth && auth.token)) return;
    auth = next;
    scheduleRefresh();
    for (const fn of authListeners) fn(auth);
  };
  window.addEventListener('storage', onStorage);
  stopAuthSync = () => {
    window.removeEventListener('storage', onStorage);
    stopAuthSync = null;
  };
  return stopAuthSync;
}

function jwtTimes(tok) {
  try {
    const part = tok.split('.')[1];
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
    const claims = JSON.parse(json);
    return { iat: Number(claims.iat) * 1000, exp: Number(claims.exp) * 1000 };
  } catch {
    return {};
  }
}

/** When to refresh: once less than a third of the token's lifetime (or 1 hour) is left. */
function refreshDueAt(a) {
  const exp = Date.parse(a.expiresAt);
  if (!Number.isFinite(exp)) return null;
  const t = jwtTimes(a.token);
  const lifetime = Number.isFinite(t.iat) && Number.isFinite(t.exp) && t.iat < t.exp ? t.exp - t.iat : 14 * 86400000;
  const margin = Math.min(Math.max(lifetime / 3, 30000), 86400000);
  return exp - margin;
}

function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = null;
  if (!auth) return;
  const due = refreshDueAt(auth);
  if (due === null) return;
  // Check at most every hour (timers drift while the machine sleeps).
  const wait = Math.min(Math.max(due - Date.now(), 0), 3600000);
  refreshTimer = setTimeout(() => { maybeRefresh().catch(() => {}); }, wait);
}

export async function maybeRefresh() {
  if (!auth) return;
  if (isExpired()) { expire(); return; }
  const due = refreshDueAt(auth);
  if (due !== null && Date.now() >= due) await refreshToken();
  else scheduleRefresh();
}

export function refreshToken() {
  if (refreshing) return refreshing;
  refreshing = (async () => {
    try {
      const out = await request('POST', '/api/refresh_token');
      if (auth && out && out.token) setAuth({ ...auth, token: out.token, expiresAt: out.expiresAt });
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 401) setTimeout(scheduleRefresh, 60000);
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

function expire() {
  setAuth(null);
  onUnauthorized('Your session has expired. Please sign in again.');
}

/** Low-level request. Throws ApiError (status 0 for network failures). */
export async function request(method, path, body, { authed = true, signal } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const usedToken = authed && auth ? auth.token : null;
  if (usedToken) headers.Authorization = `Bearer ${usedToken}`;
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal, cache: 'no-store' });
  } catch (err) {
    if (err && err.name === 'AbortError') throw err;
    throw new ApiError(0, { error: 'network error' }, 'Cannot reach the server');
  }
  let data = null;
  const text = await res.text().catch(() => '');
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!res.ok) {
    const err = new ApiError(res.status, data);
    // A rejected token (not a failed sign-in) sends the user back to sign-in.
    if (res.status === 401 && usedToken && auth && auth.token === usedToken) expire();
    throw err;
  }
  return data;
}

export const api = {
  config: () => request('GET', '/api/config', undefined, { authed: false }),
  register: (username, password) => request('POST', '/api/register', { username, password }, { authed: false }),
  login: (username, password) => request('POST', '/api/login', password === undefined ? { username } : { username, password }, { authed: false }),
  authUser: () => request('GET', '/api/auth_user'),
  logout: () => request('POST', '/api/logout'),
  usernames: (search, first = 6, signal) => request('GET', `/api/usernames?search=${encodeURIComponent(search)}&first=${first}`, undefined, { signal }),
  conversations: (before, first = 25) => request('GET', `/api/conversations?first=${first}${before ? `&before=${encodeURIComponent(before)}` : ''}`),
  conversation: (id) => request('GET', `/api/conversations/${encodeURIComponent(id)}`),
  startConversation: (username) => request('POST', '/api/conversations', { username }),
  createGroup: (title, usernames) => request('POST', '/api/conversations', { title, usernames }),
  participants: (id) => request('GET', `/api/conversations/${encodeURIComponent(id)}/participants`),
  addParticipant: (id, username) => request('POST', `/api/conversations/${encodeURIComponent(id)}/participants`, { username }),
  leave: (id) => request('DELETE', `/api/conversations/${encodeURIComponent(id)}/participants/me`),
  messages: (id, { before, after, last, first } = {}) => {
    const q = new URLSearchParams();
    if (before) q.set('before', before);
    if (after) q.set('after', after);
    if (last) q.set('last', String(last));
    if (first) q.set('first', String(first));
    const qs = q.toString();
    return request('GET', `/api/conversations/${encodeURIComponent(id)}/messages${qs ? `?${qs}` : ''}`);
  },
  messagesAround: (id, messageId) => request('GET', `/api/conversations/${encodeURIComponent(id)}/messages?around=${encodeURIComponent(messageId)}`),
  search: (q, cursor, signal) => request('GET', `/api/search?q=${encodeURIComponent(q)}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, undefined, { signal }),
  history: (id) => request('GET', `/api/conversations/${encodeURIComponent(id)}/events`),
  send: (id, content, clientId) => request('POST', `/api/conversations/${encodeURIComponent(id)}/messages`, { content, clientId }),
  typing: (id, typing) => request('POST', `/api/conversations/${encodeURIComponent(id)}/typing`, { typing }),
  markRead: (id, upTo) => request('POST', `/api/conversations/${encodeURIComponent(id)}/read_messages`, upTo ? { upTo } : {}),
};

/** A human sentence for an API error. */
export function describeError(err, fallback = 'Something went wrong') {
  if (!(err instanceof ApiError)) return fallback;
  if (err.status === 0) return 'Cannot reach the server. Check your connection.';
  if (err.status === 429) return 'Too many requests — please wait a moment.';
  const errors = err.body && err.body.errors;
  if (errors && typeof errors === 'object') {
    const first = Object.entries(errors)[0];
    if (first) return `${capitalize(first[0])}: ${first[1]}`;
  }
  if (err.body && Array.isArray(err.body.usernames) && err.body.usernames.length) {
    return `Unknown user${err.body.usernames.length > 1 ? 's' : ''}: ${err.body.usernames.join(', ')}`;
  }
  if (err.body && typeof err.body.error === 'string') return capitalize(err.body.error);
  return fallback;
}

function capitalize(s) { s = String(s); return s.charAt(0).toUpperCase() + s.slice(1); }
