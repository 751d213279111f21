// Presence (who is online, when they were last seen) and typing indicators. State, not history: it comes from the
// stream (`presence_snapshot` first, then `presence` and `typing` events) and is never stored.
import { api } from './api.js';
import * as store from './store.js';

const people = new Map();   // user id -> { online, lastSeenAt }
const typing = new Map();   // conversation id -> Map(user id -> { username, timer })

/** What we know of a user's presence, or null. */
export function presenceOf(userId) {
  return userId == null ? null : people.get(String(userId)) || null;
}

/** Everything we know, for a tab that joins later (the leader passes it on). */
export function snapshot() {
  return { users: [...people.entries()].map(([userId, p]) => ({ userId, online: p.online, lastSeenAt: p.lastSeenAt })) };
}

function set(u) {
  if (!u || u.userId == null) return false;
  const id = String(u.userId);
  const old = people.get(id);
  const next = { online: !!u.online, lastSeenAt: u.lastSeenAt || null };
  people.set(id, next);
  return !old || old.online !== next.online || old.lastSeenAt !== next.lastSeenAt;
}

export function receiveSnapshot(ev) {
  let changed = false;
  for (const u of (ev && ev.users) || []) changed = set(u) || changed;
  if (changed) store.emit('presence');
}

export function receivePresence(u) {
  if (set(u)) store.emit('presence', String(u.userId));
}

/** REST answers carry presence too (a 1:1's other person); the stream stays the authority once it spoke. */
export function seed(userId, online, lastSeenAt) {
  if (userId == null || online == null || people.has(String(userId))) return;
  people.set(String(userId), { online: !!online, lastSeenAt: lastSeenAt || null });
}

/* ---------------- typing ---------------- */

function typists(cid) {
  let m = typing.get(cid);
  if (!m) { m = new Map(); typing.set(cid, m); }
  return m;
}

function stopShowing(cid, uid) {
  const m = typing.get(cid);
  const entry = m && m.get(uid);
  if (!entry) return;
  clearTimeout(entry.timer);
  m.delete(uid);
  store.emit('typing', cid);
}

export function receiveTyping(ev) {
  if (!ev || ev.conversationId == null || ev.userId == null) return;
  const cid = String(ev.conversationId);
  const uid = String(ev.userId);
  const me = store.me();
  if (me && String(me.id) === uid) return;
  if (!ev.typing) { stopShowing(cid, uid); return; }
  const m = typists(cid);
  const old = m.get(uid);
  if (old) clearTimeout(old.timer);
  // The indicator lasts as long as the server says unless refreshed; a lost "stop" cannot leave it up.
  const timer = setTimeout(() => stopShowing(cid, uid), ev.expiresInMs || 6000);
  m.set(uid, { username: ev.username || 'Someone', timer });
  store.emit('typing', cid);
}

/** A message from a typing user ends their indicator. */
export function messageArrived(m) {
  if (m && m.conversationId != null && m.user && m.user.id != null) stopShowing(String(m.conversationId), String(m.user.id));
}

/** "alice is typing…", "alice and bob are typing…", "alice, bob and 2 others are typing…", or ''. */
export function typingText(cid) {
  const names = [...((typing.get(String(cid)) || new Map()).values())].map((e) => e.username);
  if (names.length === 0) return '';
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return `${names[0]}, ${names[1]} and ${names.length - 2} other${names.length === 3 ? '' : 's'} are typing…`;
}

/* ---------------- our own typing ---------------- */

const sentAt = new Map();    // conversation id -> when we last said "typing"
const pauses = new Map();    // conversation id -> timer that says "stopped" after a pause

/** The user typed in a conversation's composer: tell the others, at most every 2 s (the server's refresh). */
export function localInput(cid, hasText) {
  if (!hasText) { localStop(cid); return; }
  const now = Date.now();
  if (!sentAt.has(cid) || now - sentAt.get(cid) > 2000) {
    sentAt.set(cid, now);
    api.typing(cid, true).catch(() => {});
  }
  clearTimeout(pauses.get(cid));
  pauses.set(cid, setTimeout(() => localStop(cid), 4000));
}

/** Sent, blurred, cleared or paused: stop the indicator for the others (only if we started one). */
export function localStop(cid) {
  clearTimeout(pauses.get(cid));
  pauses.delete(cid);
  if (!sentAt.has(cid)) return;
  sentAt.delete(cid);
  api.typing(cid, false).catch(() => {});
}

export function reset() {
  people.clear();
  for (const m of typing.values()) for (const e of m.values()) clearTimeout(e.timer);
  typing.clear();
  for (const t of pauses.values()) clearTimeout(t);
  pauses.clear();
  sentAt.clear();
}
