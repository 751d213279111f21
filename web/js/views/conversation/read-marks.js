// Read marks: "Seen" / "Sent" under my latest message (from the participants' read positions) and the
// "New messages" divider before the first message that was unread when the conversation was opened.
import { h, cmpId } from '../../dom.js';
import * as store from '../../store.js';

export function isMine(m) {
  const user = store.me();
  return m.mine || (user && m.user && m.user.id === user.id);
}

/** My latest delivered message and the others whose read position reached it. */
export function seenBy(t, msgs) {
  const user = store.me();
  let lastMine = null;
  for (const m of msgs) if (isMine(m)) lastMine = m;
  const readers = [];
  if (lastMine) {
    for (const p of t.participants.values()) {
      if (user && p.id === user.id) continue;
      if (p.lastReadMessageId && cmpId(p.lastReadMessageId, lastMine.id) >= 0) readers.push(p.username);
    }
  }
  return { lastMine, readers };
}

/** The receipt row under my latest message, or null: "Seen" once read, "Sent" while it is the last thing shown. */
export function receiptRow(t, { readers, isGroup, nothingAfter }) {
  const hasPendingAfter = t.pending.size > 0;
  if (readers.length && !hasPendingAfter) {
    const text = isGroup ? `Seen by ${readers.join(', ')}` : 'Seen';
    return { key: 'seen', sig: text, build: () => h('li', { class: 'receipt seen', testid: 'seen-indicator', text }) };
  }
  if (nothingAfter) return { key: 'sent', sig: 'sent', build: () => h('li', { class: 'receipt', testid: 'sent-indicator', text: 'Sent' }) };
  return null;
}

export function dividerRow() {
  return { key: 'unread-divider', sig: 'unread', build: () => h('li', { class: 'unread-divider', testid: 'unread-divider', attrs: { role: 'separator', 'aria-label': 'New messages' } }, h('span', { text: 'New messages' })) };
}

/**
 * The first message that was unread when the conversation opened with `unreadAtOpen` unread: the first one of
 * the others' after my read position, or (position unknown) counted back from the newest.
 */
export function firstUnreadId(t, unreadAtOpen) {
  if (!unreadAtOpen) return null;
  const msgs = store.sortedMessages(t);
  const meUser = store.me();
  const myLast = meUser && t.participants.get(meUser.id) && t.participants.get(meUser.id).lastReadMessageId;
  let first = null;
  if (myLast) {
    first = msgs.find((m) => !isMine(m) && cmpId(m.id, myLast) > 0) || null;
  }
  if (!first) {
    let n = unreadAtOpen;
    for (let k = msgs.length - 1; k >= 0 && n > 0; k--) if (!isMine(msgs[k])) { first = msgs[k]; n--; }
  }
  return first ? first.id : null;
}
