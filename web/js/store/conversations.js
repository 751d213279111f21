// The conversation list: pages from `GET /api/conversations`, ordered by last activity, and the unread numbers.
//
// Unread counts are the server's: each conversation's `unreadCount` as `GET /api/conversations[/{id}]` gives it,
// fetched again (`refreshConversation`) when the stream says it may have changed — someone else's message, my own
// `read` event (another tab or device), a `conversation` event. Nothing here adds to a count;
// the only local change is the open conversation going to zero as it is marked read (the server confirms with a
// `read` event).
import { api, ApiError } from '../api.js';
import { cmpId } from '../dom.js';
import { state, emit } from './state.js';
import { applyOpenUnread } from './reads.js';

let listGeneration = 0;
let session = 0; // bumped on sign-out: answers for the previous user are dropped

/** Drops the list (sign-out); answers still in flight are ignored. */
export function resetList() {
  state.convs.clear();
  state.order = [];
  state.listHasMore = true;
  state.listLoading = false;
  state.listLoaded = false;
  state.listError = null;
  listGeneration++;
  session++;
}

function lastActivity(c) {
  return Date.parse((c.lastMessage && c.lastMessage.createdAt) || c.createdAt) || 0;
}

export function sortOrder() {
  state.order.sort((a, b) => {
    const ca = state.convs.get(a), cb = state.convs.get(b);
    const d = lastActivity(cb) - lastActivity(ca);
    if (d) return d;
    const la = ca.lastMessage ? ca.lastMessage.id : '0', lb = cb.lastMessage ? cb.lastMessage.id : '0';
    return cmpId(lb, la) || cmpId(b, a);
  });
}

/** Whether `prev` has seen a newer last message than the copy `c` (a response that was in flight meanwhile). */
function olderThan(c, prev) {
  return !!(prev && prev.lastMessage && (!c.lastMessage || cmpId(prev.lastMessage.id, c.lastMessage.id) > 0));
}

function upsertConv(c) {
  if (!c || !c.id) return;
  const prev = state.convs.get(c.id);
  // Never let an older copy roll the last message or the unread count back (a newer refresh is on its way).
  if (olderThan(c, prev)) {
    c = { ...c, lastMessage: prev.lastMessage, unreadCount: prev.unreadCount, hasUnreadMessages: prev.hasUnreadMessages };
  }
  state.convs.set(c.id, prev ? { ...prev, ...c } : c);
  if (!prev) state.order.push(c.id);
}

function changed() {
  emit('list');
  emitUnread();
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
      // A message that arrived on the stream while this page was in flight is newer than the page: keep our copy
      // (last message and unread count) until its refresh lands.
      const prev = before.get(c.id);
      upsertConv(olderThan(c, prev) ? { ...c, lastMessage: prev.lastMessage, unreadCount: prev.unreadCount, hasUnreadMessages: prev.hasUnreadMessages } : c);
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
  changed();
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
  changed();
}

export async function ensureConversation(id) {
  if (state.convs.has(id)) return state.convs.get(id);
  const c = await api.conversation(id);
  upsertConv(c);
  sortOrder();
  changed();
  return state.convs.get(id);
}

export function addConversation(c) {
  upsertConv(c);
  sortOrder();
  changed();
}

export function removeConversation(id) {
  state.convs.delete(id);
  state.order = state.order.filter((x) => x !== id);
  state.threads.delete(id);
  changed();
}

const refreshing = new Map(); // conversation id -> { again } while a refresh is in flight

/**
 * Fetches one conversation again (its last message, member count and the server's unread count). Calls that come
 * while one is in flight are folded into one more fetch after it, so a burst of messages costs two requests.
 * A 404 (left or gone) removes it; other failures keep what we have.
 */
export async function refreshConversation(id) {
  const busy = refreshing.get(id);
  if (busy) { busy.again = true; return; }
  const entry = { again: true };
  refreshing.set(id, entry);
  const mine = session;
  try {
    while (entry.again) {
      entry.again = false;
      const c = await api.conversation(id);
      if (mine !== session) return;
      upsertConv(c);
      sortOrder();
      changed();
    }
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) removeConversation(id);
    else throw err;
  } finally {
    refreshing.delete(id);
  }
  applyOpenUnread();
}

/** Moves a conversation's last message forward (a message we sent or received). */
export function bumpConversation(m) {
  const c = state.convs.get(m.conversationId);
  if (!c) return false;
  if (!c.lastMessage || cmpId(m.id, c.lastMessage.id) >= 0) {
    state.convs.set(c.id, { ...c, lastMessage: m });
    sortOrder();
  }
  emit('list');
  return true;
}

export function totalUnread() {
  let n = 0;
  for (const c of state.convs.values()) n += c.unreadCount || (c.hasUnreadMessages ? 1 : 0);
  return n;
}

export function emitUnread() { emit('unread', totalUnread()); }
