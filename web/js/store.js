// Application state and the operations on it. Views subscribe to change events.
import { api, ApiError, getAuth } from './api.js';
import { cmpId } from './dom.js';

const listeners = new Map();
export function on(event, fn) {
  if (!listeners.has(event)) listeners.set(event, new Set());
  listeners.get(event).add(fn);
  return () => listeners.get(event).delete(fn);
}
export function emit(event, payload) {
  for (const fn of listeners.get(event) || []) {
    try { fn(payload); } catch (err) { console.error(err); }
  }
}

export const state = {
  config: { devLogin: false, maxMessageLength: 480, maxGroupSize: 1000 },
  convs: new Map(),       // id -> Conversation
  order: [],              // conversation ids, most recent activity first
  listHasMore: true,
  listLoading: false,
  listLoaded: false,
  listError: null,
  openId: null,
  threads: new Map(),     // conversation id -> Thread
  drafts: null,           // conversation id -> unsent composer text (kept in localStorage per user)
  stream: 'idle',         // idle | connecting | open | down | closed (ended by the server; no reconnect)
  streamClosedReason: null,
};

export function me() { const a = getAuth(); return a ? a.user : null; }

/* ---------------- per-user memory in localStorage (drafts, groups left) ---------------- */

function userKey(name) { const u = me(); return u ? `messenger.${name}.${u.id}` : null; }
function loadJSON(name) {
  const k = userKey(name);
  if (!k) return {};
  try { const v = JSON.parse(localStorage.getItem(k) || '{}'); return v && typeof v === 'object' ? v : {}; } catch { return {}; }
}
function saveJSON(name, value) {
  const k = userKey(name);
  if (!k) return;
  try {
    if (Object.keys(value).length) localStorage.setItem(k, JSON.stringify(value));
    else localStorage.removeItem(k);
  } catch { /* storage full or unavailable: keep it in memory only */ }
}

function drafts() {
  if (!state.drafts) state.drafts = new Map(Object.entries(loadJSON('drafts')).filter(([, v]) => typeof v === 'string'));
  return state.drafts;
}
/** The unsent text of a conversation's composer (survives a reload). */
export function getDraft(id) { return drafts().get(id) || ''; }
export function setDraft(id, text) {
  const d = drafts();
  if ((d.get(id) || '') === text) return;
  if (text) d.set(id, text); else d.delete(id);
  // Other tabs write their drafts too: merge into what is stored rather than overwrite it.
  const stored = loadJSON('drafts');
  if (text) stored[id] = text; else delete stored[id];
  saveJSON('drafts', stored);
}
/** Forget this user's stored drafts (on sign-out). */
export function clearStoredDrafts() { saveJSON('drafts', {}); state.drafts = null; }

/** Groups this user left here, by id, with their title: a later visit says "you left", not "not found". */
export function rememberLeft(id, title) {
  const left = loadJSON('left');
  left[id] = String(title || '');
  const ids = Object.keys(left);
  if (ids.length > 200) delete left[ids[0]];
  saveJSON('left', left);
}
export function leftTitle(id) {
  const left = loadJSON('left');
  return Object.prototype.hasOwnProperty.call(left, id) ? left[id] : null;
}
export function forgetLeft(id) {
  const left = loadJSON('left');
  if (Object.prototype.hasOwnProperty.call(left, id)) { delete left[id]; saveJSON('left', left); }
}

export function resetState() {
  state.convs.clear();
  state.order = [];
  state.listHasMore = true;
  state.listLoading = false;
  state.listLoaded = false;
  state.listError = null;
  state.openId = null;
  state.threads.clear();
  state.drafts = null;
  lastMarked.clear();
  listGeneration++;
  emit('list');
  emitUnread();
}

/* ---------------- conversation list ---------------- */

let listGeneration = 0;

function lastActivity(c) {
  return Date.parse((c.lastMessage && c.lastMessage.createdAt) || c.createdAt) || 0;
}

function sortOrder() {
  state.order.sort((a, b) => {
    const ca = state.convs.get(a), cb = state.convs.get(b);
    const d = lastActivity(cb) - lastActivity(ca);
    if (d) return d;
    const la = ca.lastMessage ? ca.lastMessage.id : '0', lb = cb.lastMessage ? cb.lastMessage.id : '0';
    return cmpId(lb, la) || cmpId(b, a);
  });
}

function upsertConv(c) {
  if (!c || !c.id) return;
  const prev = state.convs.get(c.id);
  // Never let an older copy (a response that was in flight while the stream delivered a newer
  // message) roll the last message or the unread count back.
  if (prev && prev.lastMessage && (!c.lastMessage || cmpId(prev.lastMessage.id, c.lastMessage.id) > 0)) {
    c = { ...c, lastMessage: prev.lastMessage, unreadCount: prev.unreadCount, hasUnreadMessages: prev.hasUnreadMessages };
  }
  state.convs.set(c.id, prev ? { ...prev, ...c } : c);
  if (!prev) state.order.push(c.id);
}

/** Loads the first page again (replaces the list). */
export async function reloadList() {
  const gen = ++listGeneration;
  state.listLoading = true;
  emit('list');
  try {
    const page = await api.conversations(undefined, 25);
    if (gen !== listGeneration) return;
    const keepOpen = state.openId && state.convs.get(state.openId);
    const before = new Map(state.convs);
    state.convs.clear();
    state.order = [];
    for (const c of page) {
      // A message that arrived on the stream while this page was in flight is newer than the page:
      // keep our copy (last message and unread count).
      const prev = before.get(c.id);
      if (prev && prev.lastMessage && (!c.lastMessage || cmpId(prev.lastMessage.id, c.lastMessage.id) > 0)) {
        upsertConv({ ...c, lastMessage: prev.lastMessage, unreadCount: prev.unreadCount, hasUnreadMessages: prev.hasUnreadMessages });
      } else {
        upsertConv(c);
      }
    }
    if (keepOpen && !state.convs.has(state.openId)) {
      // The open conversation is further down the list: keep it (with a fresh copy if we can).
      try { upsertConv(await api.conversation(state.openId)); } catch { /* left or gone */ }
    }
    sortOrder();
    state.listHasMore = page.length >= 25;
    state.listLoaded = true;
    state.listError = null;
  } catch (err) {
    if (gen !== listGeneration) return;
    state.listError = err;
  } finally {
    if (gen === listGeneration) state.listLoading = false;
  }
  applyOpenUnread();
  emit('list');
  emitUnread();
}

/** Loads the next page after the last conversation we have. */
export async function loadMoreConversations() {
  if (state.listLoading || !state.listHasMore || !state.listLoaded) return;
  const lastId = state.order[state.order.length - 1];
  const last = lastId && state.convs.get(lastId);
  if (!last || !last.cursor) { state.listHasMore = false; return; }
  const gen = listGeneration;
  state.listLoading = true;
  emit('list');
  try {
    const page = await api.conversations(last.cursor, 25);
    if (gen !== listGeneration) return;
    for (const c of page) if (!state.convs.has(c.id)) upsertConv(c);
    sortOrder();
    state.listHasMore = page.length >= 25;
  } catch (err) {
    if (gen === listGeneration) state.listError = err;
  } finally {
    if (gen === listGeneration) state.listLoading = false;
  }
  emit('list');
  emitUnread();
}

export async function ensureConversation(id) {
  if (state.convs.has(id)) return state.convs.get(id);
  const c = await api.conversation(id);
  upsertConv(c);
  sortOrder();
  emit('list');
  emitUnread();
  return state.convs.get(id);
}

export function addConversation(c) {
  upsertConv(c);
  sortOrder();
  emit('list');
  emitUnread();
}

export function removeConversation(id) {
  state.convs.delete(id);
  state.order = state.order.filter((x) => x !== id);
  state.threads.delete(id);
  emit('list');
  emitUnread();
}

export function totalUnread() {
  let n = 0;
  for (const c of state.convs.values()) n += c.unreadCount || (c.hasUnreadMessages ? 1 : 0);
  return n;
}

function emitUnread() { emit('unread', totalUnread()); }

/* ---------------- threads (messages of one conversation) ---------------- */

export function thread(id) {
  let t = state.threads.get(id);
  if (!t) {
    t = {
      id,
      messages: new Map(),   // server id -> Message
      pending: new Map(),    // clientId -> { clientId, content, status: 'sending'|'failed', error, createdAt }
      hasMore: true,
      loading: false,
      loaded: false,
      error: null,
      participants: new Map(), // user id -> Participant
      participantsLoaded: false,
      history: new Map(),      // stream event id -> { id, type, user, actor, createdAt } (membership lines)
      hasNewer: false,         // opened around a message (search): newer messages still to load
      held: new Map(),         // messages from the stream while hasNewer (added once the newest page is reached)
    };
    state.threads.set(id, t);
  }
  return t;
}

export function sortedMessages(t) {
  return [...t.messages.values()].sort((a, b) => cmpId(a.id, b.id));
}

function newestId(t) {
  let best = null;
  for (const id of t.messages.keys()) if (!best || cmpId(id, best) > 0) best = id;
  return best;
}
function oldestId(t) {
  let best = null;
  for (const id of t.messages.keys()) if (!best || cmpId(id, best) < 0) best = id;
  return best;
}

/** Adds server messages to a thread; returns how many were new. Reconciles pending ones by clientId. */
function addMessages(t, msgs) {
  let added = 0;
  for (const m of msgs) {
    if (!m || !m.id) continue;
    if (m.clientId && t.pending.has(m.clientId) && (m.mine || (m.user && me() && m.user.id === me().id))) {
      t.pending.delete(m.clientId);
    }
    if (!t.messages.has(m.id)) added++;
    t.messages.set(m.id, m);
  }
  return added;
}

export async function openThread(id) {
  const t = thread(id);
  if (t.loaded || t.loading) return t;
  t.loading = true;
  t.error = null;
  emit('thread', id);
  try {
    const [msgs] = await Promise.all([
      api.messages(id, { last: 30 }),
      loadParticipants(id).catch(() => {}),
      loadHistory(id).catch(() => {}),
    ]);
    addMessages(t, msgs);
    t.hasMore = msgs.length >= 30;
    t.loaded = true;
  } catch (err) {
    t.error = err;
  } finally {
    t.loading = false;
  }
  emit('thread', id);
  markReadIfVisible();
  return t;
}

/** Older page before the oldest message we have. Returns the number of messages added. */
export async function loadOlder(id) {
  const t = thread(id);
  if (t.loading || !t.hasMore || !t.loaded) return 0;
  const before = oldestId(t);
  if (!before) { t.hasMore = false; return 0; }
  t.loading = true;
  emit('thread-loading', id);
  let added = 0;
  try {
    const msgs = await api.messages(id, { before, last: 30 });
    added = addMessages(t, msgs);
    t.hasMore = msgs.length >= 30;
  } catch (err) {
    t.error = err;
  } finally {
    t.loading = false;
  }
  emit('thread-older', { id, added });
  return added;
}

/** Fetch everything after the newest message we have (after a reset or a fresh stream). */
export async function catchUpThread(id) {
  const t = state.threads.get(id);
  if (!t || !t.loaded) return;
  let after = newestId(t);
  if (t.hasNewer) {
    // Opened around an older message: the newer pages load as the user scrolls down.
  } else if (!after) {
    const msgs = await api.messages(id, { last: 30 });
    addMessages(t, msgs);
  } else {
    for (let i = 0; i < 20; i++) {
      const msgs = await api.messages(id, { after, first: 100 });
      addMessages(t, msgs);
      if (msgs.length < 100) break;
      after = newestId(t);
    }
  }
  await Promise.all([loadParticipants(id).catch(() => {}), loadHistory(id).catch(() => {})]);
  emit('thread', id);
  markReadIfVisible();
}

/** The group's membership history (created / joined / left), shown as lines between the messages. */
export async function loadHistory(id) {
  const c = state.convs.get(id);
  if (c && !c.isGroup) return;
  const list = await api.history(id);
  const t = thread(id);
  t.history = new Map((Array.isArray(list) ? list : []).filter((e) => e && e.id).map((e) => [e.id, e]));
  emit('thread', id);
}

export async function loadParticipants(id) {
  const list = await api.participants(id);
  const t = thread(id);
  t.participants = new Map(list.map((p) => [p.id, p]));
  t.participantsLoaded = true;
  emit('thread', id);
  return list;
}

/* ---------------- sending ---------------- */

function makeClientId() {
  try {
    if (crypto.randomUUID) return 'c-' + crypto.randomUUID();
  } catch { /* insecure context */ }
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return 'c-' + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

export function send(id, content) {
  const t = thread(id);
  const p = { clientId: makeClientId(), content, status: 'sending', error: null, createdAt: new Date().toISOString(), conversationId: id };
  t.pending.set(p.clientId, p);
  emit('thread', id);
  emit('sent', id);
  deliver(id, p);
  return p.clientId;
}

export function retry(id, clientId) {
  const t = thread(id);
  const p = t.pending.get(clientId);
  if (!p || p.status === 'sending') return;
  p.status = 'sending';
  p.error = null;
  emit('thread', id);
  deliver(id, p);
}

export function discard(id, clientId) {
  const t = thread(id);
  t.pending.delete(clientId);
  emit('thread', id);
}

async function deliver(id, p) {
  const t = thread(id);
  try {
    const m = await api.send(id, p.content, p.clientId);
    addMessages(t, [m]);
    t.pending.delete(p.clientId);
    bumpConversation(m);
  } catch (err) {
    if (!t.pending.has(p.clientId)) return; // reconciled by the stream meanwhile
    p.status = 'failed';
    p.error = err instanceof ApiError ? err : new ApiError(0, null, 'failed');
  }
  emit('thread', id);
}

/**
 * The connection came back: every message that failed because the server could not be reached is sent again,
 * once, with its clientId (the server answers a repeated clientId with the original, so nothing is doubled).
 */
export function retryFailedAfterReconnect() {
  for (const t of state.threads.values()) {
    for (const p of t.pending.values()) {
      if (p.status !== 'failed' || p.autoRetried || !p.error || p.error.status !== 0) continue;
      p.autoRetried = true;
      retry(t.id, p.clientId);
    }
  }
}

/* ---------------- realtime ---------------- */

function bumpConversation(m) {
  const c = state.convs.get(m.conversationId);
  if (!c) return false;
  if (!c.lastMessage || cmpId(m.id, c.lastMessage.id) >= 0) {
    state.convs.set(c.id, { ...c, lastMessage: m });
    sortOrder();
  }
  emit('list');
  return true;
}

function pageVisible() { return document.visibilityState === 'visible'; }

/** A message from the stream (or any source): dedupe, show, bump the list, count unread. */
export async function receiveMessage(m) {
  if (!m || !m.id || !m.conversationId) return;
  const mine = m.mine || (me() && m.user && m.user.id === me().id);
  const t = state.threads.get(m.conversationId);
  let isNew = true;
  if (t) {
    isNew = t.hasNewer ? holdNewer(t, m) : addMessages(t, [m]) > 0;
    // Sending moves the sender's read position to the new message on the server, in the same statement and
    // without a `read` event: the message event is that announcement.
    if (m.user && m.user.id) authorRead(t, m.user.id, m.id);
    if (t.loaded || t.loading) emit('thread', m.conversationId);
  }
  const known = state.convs.get(m.conversationId);
  if (!known) {
    // A conversation we don't have loaded (new, or further down the list): fetch it.
    try { await ensureConversation(m.conversationId); } catch { /* not visible to us */ }
    applyOpenUnread();
    emit('list');
    emitUnread();
    return;
  }
  const wasNewer = !known.lastMessage || cmpId(m.id, known.lastMessage.id) > 0;
  bumpConversation(m);
  if (!mine && isNew) emit('incoming', m);
  if (!mine && wasNewer && isNew) {
    if (state.openId === m.conversationId && pageVisible()) {
      markReadIfVisible();
    } else {
      const c = state.convs.get(m.conversationId);
      state.convs.set(c.id, { ...c, unreadCount: (c.unreadCount || 0) + 1, hasUnreadMessages: true });
      emit('list');
    }
  }
  emitUnread();
}

function authorRead(t, userId, messageId) {
  const p = t.participants.get(userId);
  if (p && (!p.lastReadMessageId || cmpId(messageId, p.lastReadMessageId) > 0)) {
    t.participants.set(userId, { ...p, lastReadMessageId: messageId });
  }
}

export function receiveRead(ev) {
  if (!ev || !ev.conversationId) return;
  const t = state.threads.get(ev.conversationId);
  if (t) {
    const p = t.participants.get(ev.userId);
    if (p && (!p.lastReadMessageId || cmpId(ev.lastReadMessageId, p.lastReadMessageId) > 0)) {
      t.participants.set(ev.userId, { ...p, lastReadMessageId: ev.lastReadMessageId });
      emit('thread', ev.conversationId);
    } else if (!p) {
      loadParticipants(ev.conversationId).catch(() => {});
    }
  }
  const user = me();
  if (user && ev.userId === user.id) {
    // Read in another tab or device.
    const c = state.convs.get(ev.conversationId);
    if (c && c.unreadCount && (!c.lastMessage || cmpId(ev.lastReadMessageId, c.lastMessage.id) >= 0)) {
      state.convs.set(c.id, { ...c, unreadCount: 0, hasUnreadMessages: false });
      emit('list');
      emitUnread();
    }
  }
}

export async function receiveConversationEvent(ev) {
  const user = me();
  if (ev && user && ev.type === 'left' && ev.user && ev.user.id === user.id) {
    const c = state.convs.get(ev.conversationId);
    // Left through this tab's dialog, the conversation is already gone here and its title remembered: an event that
    // arrives after the answer must not overwrite that title with nothing.
    if (c || leftTitle(ev.conversationId) === null) rememberLeft(ev.conversationId, c && c.title);
    removeConversation(ev.conversationId);
    emit('left', ev.conversationId);
    return;
  }
  if (!ev || !ev.conversationId) { await reloadList(); return; }
  // Refresh just that conversation (new to us, or its member count changed); keep the list's paging.
  try {
    const c = await api.conversation(ev.conversationId);
    upsertConv(c);
    sortOrder();
    emit('list');
    emitUnread();
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) removeConversation(ev.conversationId);
    else await reloadList();
  }
  if (state.threads.has(ev.conversationId)) {
    loadParticipants(ev.conversationId).catch(() => {});
    loadHistory(ev.conversationId).catch(() => {});
  }
  if (user && ev.user && ev.user.id === user.id && ev.type !== 'left') forgetLeft(ev.conversationId);
}

/** Reload everything through REST (after `event: reset` or a stream without a resume point). */
export async function resync() {
  await reloadList();
  if (state.openId) await catchUpThread(state.openId).catch(() => {});
  for (const id of state.threads.keys()) {
    if (id !== state.openId) state.threads.delete(id); // reloaded when opened again
  }
}

/* ---------------- read positions ---------------- */

let readTimer = null;
let lastMarked = new Map(); // conversation id -> message id marked

function applyOpenUnread() {
  if (state.openId && pageVisible()) {
    const c = state.convs.get(state.openId);
    if (c && (c.unreadCount || c.hasUnreadMessages)) markReadIfVisible();
  }
}

export function markReadIfVisible() {
  clearTimeout(readTimer);
  readTimer = setTimeout(doMarkRead, 150);
}

async function doMarkRead() {
  const id = state.openId;
  if (!id || !pageVisible()) return;
  const t = state.threads.get(id);
  if (!t || !t.loaded || t.hasNewer) return;
  const upTo = newestId(t);
  const c = state.convs.get(id);
  if (c && (c.unreadCount || c.hasUnreadMessages)) {
    state.convs.set(id, { ...c, unreadCount: 0, hasUnreadMessages: false });
    emit('list');
    emitUnread();
  }
  if (!upTo) return;
  if (lastMarked.get(id) && cmpId(lastMarked.get(id), upTo) >= 0) return;
  try {
    await api.markRead(id, upTo);
    lastMarked.set(id, upTo);
  } catch { /* retried on the next message or visibility change */ }
}

document.addEventListener('visibilitychange', () => { if (pageVisible()) markReadIfVisible(); });

export function setOpen(id) {
  state.openId = id;
  if (id) markReadIfVisible();
  emit('open', id);
}

/* ---------------- a thread opened around one message (search) ---------------- */

let focus = null; // { conversationId, messageId } to show when that conversation's view opens

/** Asks the conversation's view to open at this message (now if it is open, else when it opens). */
export function focusMessage(conversationId, messageId) {
  focus = { conversationId, messageId };
  if (state.openId === conversationId) emit('focus', conversationId);
}

/** The message the view of this conversation should open at, once. */
export function takeFocus(conversationId) {
  if (!focus || focus.conversationId !== conversationId) return null;
  const id = focus.messageId;
  focus = null;
  return id;
}

function holdNewer(t, m) {
  const isNew = !t.messages.has(m.id) && !t.held.has(m.id);
  t.held.set(m.id, m);
  return isNew;
}

/** Replaces the loaded messages with the page around `messageId` (unless it is already loaded). */
export async function openThreadAround(id, messageId) {
  const t = thread(id);
  if (t.loaded && t.messages.has(messageId)) return t;
  t.loading = true;
  t.error = null;
  emit('thread-loading', id);
  try {
    const [win] = await Promise.all([
      api.messagesAround(id, messageId),
      t.participantsLoaded ? null : loadParticipants(id).catch(() => {}),
      loadHistory(id).catch(() => {}),
    ]);
    t.messages = new Map();
    t.held = new Map();
    addMessages(t, Array.isArray(win.messages) ? win.messages : []);
    t.hasMore = !!win.before;
    t.hasNewer = !!win.after;
    t.loaded = true;
  } catch (err) {
    t.error = err;
  } finally {
    t.loading = false;
  }
  emit('thread', id);
  return t;
}

/** The next newer page of a thread opened around a message. Returns the number of messages added. */
export async function loadNewer(id) {
  const t = thread(id);
  if (t.loading || !t.hasNewer || !t.loaded) return 0;
  const after = newestId(t);
  t.loading = true;
  emit('thread-loading', id);
  let added = 0;
  try {
    const msgs = await api.messages(id, { after, first: 30 });
    added = addMessages(t, msgs);
    if (msgs.length < 30) {
      // The newest page: from here on the stream adds messages directly.
      t.hasNewer = false;
      added += addMessages(t, [...t.held.values()]);
      t.held.clear();
      markReadIfVisible();
    }
  } catch (err) {
    t.error = err;
  } finally {
    t.loading = false;
  }
  emit('thread', id);
  return added;
}

/** Leaves a thread opened around a message for the newest page (before sending, or "jump to latest"). */
export async function jumpToLatest(id) {
  const t = thread(id);
  if (!t.hasNewer) return;
  t.messages = new Map();
  t.held = new Map();
  t.hasNewer = false;
  t.hasMore = true;
  t.loaded = false;
  t.loading = false;
  await openThread(id);
}
