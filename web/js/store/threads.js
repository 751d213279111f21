// Threads: the loaded messages of one conversation, with its participants (read positions) and membership history.
// Paging backwards is here; a thread opened in the middle of its history (search) is in around.js.
import { api } from '../api.js';
import { cmpId } from '../dom.js';
import { state, emit, me } from './state.js';
import { markReadIfVisible } from './reads.js';

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

function extremeId(t, sign) {
  let best = null;
  for (const id of t.messages.keys()) if (!best || cmpId(id, best) * sign > 0) best = id;
  return best;
}
export function newestId(t) { return extremeId(t, 1); }
function oldestId(t) { return extremeId(t, -1); }

/** Adds server messages to a thread; returns how many were new. Reconciles pending ones by clientId. */
export function addMessages(t, msgs) {
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

/** A participant's read position moves forward only. Returns whether it moved. */
export function moveReadPosition(t, userId, messageId) {
  const p = t.participants.get(userId);
  if (!p || (p.lastReadMessageId && cmpId(messageId, p.lastReadMessageId) <= 0)) return false;
  t.participants.set(userId, { ...p, lastReadMessageId: messageId });
  return true;
}

/**
 * One page load of a thread: `loading` while `fn` runs, its failure kept in `error`. Returns what `fn` returns
 * (0 when it failed).
 */
export async function loadPage(t, fn) {
  t.loading = true;
  try {
    return await fn();
  } catch (err) {
    t.error = err;
    return 0;
  } finally {
    t.loading = false;
  }
}

export async function openThread(id) {
  const t = thread(id);
  if (t.loaded || t.loading) return t;
  t.loading = true;
  t.error = null;
  emit('thread', id);
  await loadPage(t, async () => {
    const [msgs] = await Promise.all([
      api.messages(id, { last: 30 }),
      loadParticipants(id).catch(() => {}),
      loadHistory(id).catch(() => {}),
    ]);
    addMessages(t, msgs);
    t.hasMore = msgs.length >= 30;
    t.loaded = true;
  });
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
  const added = await loadPage(t, async () => {
    const msgs = await api.messages(id, { before, last: 30 });
    t.hasMore = msgs.length >= 30;
    return addMessages(t, msgs);
  });
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
