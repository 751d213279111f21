// Realtime reconciliation: stream events (`message`, `read`, `conversation`, `reset`) applied to the state.
// Edits and deletions (`message_updated` / `message_deleted`) are applied in ../message-actions.js.
import { cmpId } from '../dom.js';
import { state, emit, me, pageVisible } from './state.js';
import { rememberLeft, leftTitle, forgetLeft } from './memory.js';
import {
  reloadList, ensureConversation, removeConversation, refreshConversation, bumpConversation, emitUnread,
} from './conversations.js';
import { addMessages, moveReadPosition, loadParticipants, loadHistory, catchUpThread } from './threads.js';
import { holdNewer } from './around.js';
import { applyOpenUnread, markReadIfVisible } from './reads.js';

/** A message from the stream (or any source): dedupe, show, bump the list; the unread count is the server's. */
export async function receiveMessage(m) {
  if (!m || !m.id || !m.conversationId) return;
  const mine = m.mine || (me() && m.user && m.user.id === me().id);
  const t = state.threads.get(m.conversationId);
  let isNew = true;
  if (t) {
    isNew = t.hasNewer ? holdNewer(t, m) : addMessages(t, [m]) > 0;
    // Sending moves the sender's read position to the new message on the server, in the same statement and
    // without a `read` event: the message event is that announcement.
    if (m.user && m.user.id) moveReadPosition(t, m.user.id, m.id);
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
    if (state.openId === m.conversationId && pageVisible()) markReadIfVisible();
    else refreshConversation(m.conversationId).catch(() => {});
  }
  emitUnread();
}

export function receiveRead(ev) {
  if (!ev || !ev.conversationId) return;
  const t = state.threads.get(ev.conversationId);
  if (t) {
    if (!t.participants.has(ev.userId)) loadParticipants(ev.conversationId).catch(() => {});
    else if (moveReadPosition(t, ev.userId, ev.lastReadMessageId)) emit('thread', ev.conversationId);
  }
  const user = me();
  if (user && ev.userId === user.id) {
    // Read here, in another tab or on another device: the server says how many are left unread.
    const c = state.convs.get(ev.conversationId);
    if (c && (c.unreadCount || c.hasUnreadMessages)) refreshConversation(c.id).catch(() => {});
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
    await refreshConversation(ev.conversationId); // a 404 (gone) removes it there
  } catch {
    await reloadList();
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
