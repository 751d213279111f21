// Read positions: the open conversation is marked read (`POST .../read`) while the page is visible, a moment after
// it changes. `start()` listens for the page becoming visible again; it returns the function that stops it.
import { api } from '../api.js';
import { cmpId } from '../dom.js';
import { state, emit, pageVisible } from './state.js';
import { newestId } from './threads.js';
import { emitUnread } from './conversations.js';

let readTimer = null;
const lastMarked = new Map(); // conversation id -> message id marked

export function resetReads() {
  clearTimeout(readTimer);
  lastMarked.clear();
}

/** The open conversation has unread messages and the page is visible: mark it read. */
export function applyOpenUnread() {
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

export function setOpen(id) {
  state.openId = id;
  if (id) markReadIfVisible();
  emit('open', id);
}

/** Marks the open conversation read whenever the page becomes visible. Returns the function that stops it. */
export function start() {
  const onVisibility = () => { if (pageVisible()) markReadIfVisible(); };
  document.addEventListener('visibilitychange', onVisibility);
  return () => document.removeEventListener('visibilitychange', onVisibility);
}
