// The realtime connection, one per browser: EventSource('/api/messages?token=…') held by a leader tab.
//
// Browsers allow 6 HTTP/1.1 connections per host; one EventSource per tab starves the 7th tab. So the tabs of one
// user elect a leader with the Web Locks API (the lock is released by the browser the moment its holder closes or
// crashes, and the next waiting tab gets it). Only the leader opens the EventSource; it passes every event, with its
// id, to the other tabs over a BroadcastChannel. A follower that becomes leader resumes the stream from the last id
// it was given (`?lastEventId=`), so nothing is missed in the handover; without one it reloads over REST.
// Without Web Locks (an insecure context, e.g. plain HTTP on a LAN address) every tab keeps its own stream.
//
// The browser resumes a dropped connection with Last-Event-ID by itself. Only when the EventSource gives up
// (CLOSED: e.g. an HTTP error while the server restarts, or a refreshed token) do we open a new one, passing the
// last event id we saw as ?lastEventId= so nothing is missed. Ids are opaque: passed back unchanged.
import { token, api, ApiError, getAuth } from './api.js';
import * as store from './store.js';
import * as presence from './presence.js';
import { receiveChange } from './message-actions.js';

let es = null;
let lastEventId = null;
let retryTimer = null;
let retryDelay = 1000;
let wantOpen = false;
let everOpened = false;
let usedToken = null;

let role = 'none';          // none | leader | follower
let channel = null;         // BroadcastChannel to the other tabs of this user
let lockAbort = null;       // aborts a pending lock request
let releaseLock = null;     // resolves the held lock
let generation = 0;
let followedOpen = false;   // a follower that saw the leader's stream open (so a takeover must resume)

function setStatus(s) {
  if (store.state.stream === s) return;
  const was = store.state.stream;
  store.state.stream = s;
  store.emit('stream', s);
  if (role === 'leader' && channel) channel.postMessage({ t: 'status', status: s, lastEventId, reason: store.state.streamClosedReason });
  // Back online after an outage: sends that failed for want of a connection go out again (once).
  if (s === 'open' && was === 'down') store.retryFailedAfterReconnect();
}

function parse(data) {
  try { return JSON.parse(data); } catch { return null; }
}

/** Applies one stream event to this tab's state (the leader's own, or one passed on by the leader). */
function apply(kind, data) {
  if (kind === 'reset') { store.resync().catch(() => {}); return; }
  const v = parse(data);
  if (!v) return;
  if (kind === 'message') { presence.messageArrived(v); store.receiveMessage(v); }
  else if (kind === 'read') store.receiveRead(v);
  else if (kind === 'presence') presence.receivePresence(v);
  else if (kind === 'presence_snapshot') presence.receiveSnapshot(v);
  else if (kind === 'typing') presence.receiveTyping(v);
  else if (kind === 'conversation') store.receiveConversationEvent(v);
  else if (kind === 'message_updated' || kind === 'message_deleted') receiveChange(v);
}

/** Leader: apply here and pass on to the other tabs with the event's id (their resume point). */
function deliver(kind, ev) {
  if (ev.lastEventId) lastEventId = ev.lastEventId;
  if (channel) channel.postMessage({ t: 'event', kind, data: ev.data, id: ev.lastEventId || null });
  apply(kind, ev.data);
}

function onPeer(e) {
  const msg = e.data;
  if (!msg || typeof msg !== 'object' || !wantOpen) return;
  if (role === 'leader') {
    // A new tab asks where things stand.
    if (msg.t === 'hello') {
      channel.postMessage({ t: 'status', status: store.state.stream, lastEventId, reason: store.state.streamClosedReason });
      // Presence is state the leader got once, at connect: the new tab gets it now.
      channel.postMessage({ t: 'event', kind: 'presence_snapshot', data: JSON.stringify(presence.snapshot()), id: null });
    }
    return;
  }
  if (role !== 'follower') return;
  if (msg.t === 'event') {
    if (msg.id) lastEventId = msg.id;
    followedOpen = true; // an event from the leader: its stream is open
    apply(msg.kind, msg.data);
  } else if (msg.t === 'status') {
    if (msg.lastEventId) lastEventId = msg.lastEventId;
    if (msg.status === 'open') followedOpen = true;
    if (msg.status === 'closed') {
      // The server ended the leader's stream on purpose: no tab of this browser reconnects.
      store.state.streamClosedReason = msg.reason || 'closed';
      wantOpen = false;
    }
    if (msg.status !== 'idle') setStatus(msg.status);
  } else if (msg.t === 'resync') {
    store.resync().catch(() => {});
  }
}

export function start() {
  stop();
  wantOpen = true;
  store.state.streamClosedReason = null;
  lastEventId = null;
  everOpened = false;
  followedOpen = false;
  const gen = ++generation;
  const user = getAuth() && getAuth().user;
  const shared = user && typeof BroadcastChannel === 'function' && navigator.locks && typeof navigator.locks.request === 'function';
  if (!shared) { role = 'leader'; connect(false); return; }

  role = 'follower';
  setStatus('connecting');
  channel = new BroadcastChannel(`messenger-stream:${user.id}`);
  channel.onmessage = onPeer;
  channel.postMessage({ t: 'hello' });
  lockAbort = new AbortController();
  navigator.locks.request(`messenger-stream-leader:${user.id}`, { signal: lockAbort.signal }, () => {
    if (gen !== generation || !wantOpen) return undefined; // stopped meanwhile (or closed by the server): let go
    return new Promise((resolve) => {
      releaseLock = resolve;
      role = 'leader';
      // Taking over from a leader that was open: resume from the last id it passed on (REST reload without one).
      connect(followedOpen);
    });
  }).catch(() => { /* aborted by stop() */ });
}

export function stop() {
  wantOpen = false;
  generation++;
  clearTimeout(retryTimer);
  if (es) { es.close(); es = null; }
  if (lockAbort) { lockAbort.abort(); lockAbort = null; }
  if (releaseLock) { releaseLock(); releaseLock = null; }
  if (channel) { channel.close(); channel = null; }
  role = 'none';
  setStatus('idle');
}

/** Re-open with the current token (after a token refresh) without losing our place. */
export function reopenWithNewToken() {
  if (role !== 'leader' || !wantOpen || !es || usedToken === token()) return;
  if (!lastEventId) return; // cannot resume precisely: keep the old stream while its token lives
  connect(true);
}

/** Whether this tab holds the browser's stream. */
export function isLeader() { return role === 'leader'; }

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

  source.onopen = () => {
    if (es !== source) return;
    retryDelay = 1000;
    everOpened = true;
    setStatus('open');
    if (needsResync) {
      store.resync().catch(() => {});
      if (channel) channel.postMessage({ t: 'resync' });
    } else if (store.state.listError) store.reloadList();
  };
  source.onmessage = (ev) => { if (es === source) deliver('message', ev); };
  source.addEventListener('read', (ev) => { if (es === source) deliver('read', ev); });
  source.addEventListener('conversation', (ev) => { if (es === source) deliver('conversation', ev); });
  source.addEventListener('reset', (ev) => { if (es === source) deliver('reset', ev); });
  for (const kind of ['message_updated', 'message_deleted']) {
    source.addEventListener(kind, (ev) => { if (es === source) deliver(kind, ev); });
  }
  // Presence and typing carry no id: passing them on does not move anybody's resume point.
  for (const kind of ['presence', 'presence_snapshot', 'typing']) {
    source.addEventListener(kind, (ev) => { if (es === source) deliver(kind, ev); });
  }
  // The server ended this stream on purpose (too many open streams for this user: newer ones took its place).
  // Reconnecting would only evict another stream in turn, so stay closed until the user asks.
  source.addEventListener('closed', (ev) => {
    if (es !== source) return;
    const c = parse(ev.data) || {};
    source.close();
    es = null;
    wantOpen = false;
    clearTimeout(retryTimer);
    store.state.streamClosedReason = c.reason || 'closed';
    setStatus('closed');
    // Keep holding the lock: a follower taking over would reconnect and evict someone else.
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
