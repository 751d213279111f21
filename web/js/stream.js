// The one realtime connection: EventSource('/api/messages?token=…').
// The browser resumes with Last-Event-ID by itself after a dropped connection. Only when the
// EventSource gives up (CLOSED: e.g. an HTTP error while the server restarts, or a refreshed token)
// do we open a new one, passing the last event id we saw as ?lastEventId= so nothing is missed.
import { token, api, ApiError } from './api.js';
import * as store from './store.js';

let es = null;
let lastEventId = null;
let sawAnyEvent = false;
let retryTimer = null;
let retryDelay = 1000;
let wantOpen = false;
let everOpened = false;
let usedToken = null;

function setStatus(s) {
  if (store.state.stream === s) return;
  store.state.stream = s;
  store.emit('stream', s);
}

function track(ev) {
  if (ev.lastEventId) lastEventId = ev.lastEventId;
  sawAnyEvent = true;
}

function parse(ev) {
  try { return JSON.parse(ev.data); } catch { return null; }
}

export function start() {
  wantOpen = true;
  store.state.streamClosedReason = null;
  lastEventId = null;
  sawAnyEvent = false;
  everOpened = false;
  connect(false);
}

export function stop() {
  wantOpen = false;
  clearTimeout(retryTimer);
  if (es) { es.close(); es = null; }
  setStatus('idle');
}

/** Re-open with the current token (after a token refresh) without losing our place. */
export function reopenWithNewToken() {
  if (!wantOpen || !es || usedToken === token()) return;
  if (!lastEventId) return; // cannot resume precisely: keep the old stream while its token lives
  connect(true);
}

function connect(resume) {
  clearTimeout(retryTimer);
  if (es) { es.close(); es = null; }
  const tok = token();
  if (!tok || !wantOpen) return;
  usedToken = tok;
  let url = `/api/messages?token=${encodeURIComponent(tok)}`;
  const needsResync = resume && !lastEventId;
  if (resume && lastEventId) url += `&lastEventId=${encodeURIComponent(lastEventId)}`;
  setStatus(everOpened ? 'down' : 'connecting');
  const source = new EventSource(url);
  es = source;
  window.__messengerStreams = (window.__messengerStreams || 0) + 1; // for tests: count of streams ever opened

  source.onopen = () => {
    if (es !== source) return;
    retryDelay = 1000;
    everOpened = true;
    setStatus('open');
    if (needsResync) store.resync().catch(() => {});
    else if (store.state.listError) store.reloadList();
  };
  source.onmessage = (ev) => {
    if (es !== source) return;
    track(ev);
    const m = parse(ev);
    if (m) store.receiveMessage(m);
  };
  source.addEventListener('read', (ev) => {
    if (es !== source) return;
    track(ev);
    const r = parse(ev);
    if (r) store.receiveRead(r);
  });
  source.addEventListener('conversation', (ev) => {
    if (es !== source) return;
    track(ev);
    const c = parse(ev);
    if (c) store.receiveConversationEvent(c);
  });
  // The server ended this stream on purpose (too many open streams for this user: newer tabs took its place).
  // Reconnecting would only evict another tab in turn, so stay closed until the user asks.
  source.addEventListener('closed', (ev) => {
    if (es !== source) return;
    const c = parse(ev) || {};
    source.close();
    es = null;
    wantOpen = false;
    clearTimeout(retryTimer);
    store.state.streamClosedReason = c.reason || 'closed';
    setStatus('closed');
  });
  source.addEventListener('reset', (ev) => {
    if (es !== source) return;
    track(ev);
    store.resync().catch(() => {});
  });
  source.onerror = () => {
    if (es !== source) return;
    if (source.readyState === EventSource.CONNECTING) {
      // The browser reconnects by itself and resumes with Last-Event-ID.
      setStatus(everOpened ? 'down' : 'connecting');
      return;
    }
    // CLOSED: the browser gave up (HTTP error such as 401/503). Check the token, then reopen ourselves.
    setStatus('down');
    source.close();
    es = null;
    scheduleReconnect();
  };
}

function scheduleReconnect() {
  clearTimeout(retryTimer);
  const delay = retryDelay + Math.random() * 500;
  retryDelay = Math.min(retryDelay * 2, 15000);
  retryTimer = setTimeout(async () => {
    if (!wantOpen) return;
    try {
      await api.authUser(); // a 401 here signs the user out (api.js)
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return;
      if (!wantOpen) return;
      scheduleReconnect();
      return;
    }
    if (!wantOpen) return;
    // If we never saw an event id we cannot ask for a replay: reload over REST once open.
    connect(true);
  }, delay);
}

/** For tests and debugging. */
export function debugState() {
  return { readyState: es ? es.readyState : -1, lastEventId, sawAnyEvent, status: store.state.stream };
}
