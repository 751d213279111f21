// The rows of the message list as data (`{ key, sig, build }`): day separators, membership lines, messages grouped
// by sender and time, pending sends, the unread divider and the receipt. The history view builds a row's element
// only when its `sig` changes. A message's body and its edit/delete actions come from ../../message-actions.js.
import { h, avatar, cmpId } from '../../dom.js';
import { clockTime, fullTime, dayKey, dayLabel, parseTime } from '../../time.js';
import * as store from '../../store.js';
import { describeError } from '../../api.js';
import { messageBody, messageActions, signature } from '../../message-actions.js';
import { isMine, seenBy, receiptRow, dividerRow } from './read-marks.js';

const GROUP_GAP_MS = 5 * 60 * 1000;

/** The sentence for a membership event: "alice created the group", "bob added carol", "carol left". */
export function systemText(e) {
  const user = store.me();
  const name = (u) => (u && user && u.id === user.id ? 'You' : (u && u.username) || 'Someone');
  if (e.type === 'created') return `${name(e.user)} created the group`;
  if (e.type === 'left') return `${name(e.user)} left`;
  if (e.type === 'joined') {
    if (e.actor && e.actor.id !== (e.user && e.user.id)) return `${name(e.actor)} added ${e.user && user && e.user.id === user.id ? 'you' : name(e.user)}`;
    return `${name(e.user)} joined`;
  }
  return '';
}

export function buildRows(id, t, { dividerId }) {
  const c = store.state.convs.get(id);
  const isGroup = !!(c && c.isGroup);
  const user = store.me();
  const msgs = store.sortedMessages(t);
  const rows = [];
  const all = msgs.map((m) => ({ kind: 'msg', m, mine: isMine(m), pending: null }));
  // Membership history ("alice created the group") between the messages, in the stream's id order. Only what
  // falls inside the loaded window of messages (older ones arrive with older pages).
  const oldest = msgs.length ? msgs[0].id : null;
  const sys = isGroup ? [...t.history.values()].filter((e) => !t.hasMore || (oldest && cmpId(e.id, oldest) > 0)) : [];
  if (sys.length) {
    for (const e of sys) all.push({ kind: 'sys', m: { id: e.id, createdAt: e.createdAt }, e });
    all.sort((a, b) => cmpId(a.m.id, b.m.id));
  }
  for (const p of t.pending.values()) {
    all.push({ kind: 'msg', m: { id: null, clientId: p.clientId, content: p.content, createdAt: p.createdAt, user }, mine: true, pending: p });
  }
  const { lastMine, readers } = seenBy(t, msgs);
  let prev = null;
  let prevDay = null;
  all.forEach((row, i) => {
    const day = dayKey(row.m.createdAt);
    if (day !== prevDay) {
      rows.push({ key: `day:${day}`, sig: dayLabel(row.m.createdAt), build: () => h('li', { class: 'day-sep', attrs: { role: 'separator' } }, h('span', { text: dayLabel(row.m.createdAt) })) });
      prevDay = day;
      prev = null;
    }
    if (row.kind === 'sys') {
      const text = systemText(row.e);
      rows.push({ key: `e:${row.e.id}`, sig: text, build: () => h('li', { class: 'sys-line', testid: 'system-line', dataset: { eventId: row.e.id, type: row.e.type } }, h('span', { text })) });
      prev = null;
      return;
    }
    if (dividerId && row.m.id === dividerId) {
      rows.push(dividerRow());
      prev = null;
    }
    const next = all[i + 1] && all[i + 1].kind === 'msg' ? all[i + 1] : null;
    const sameAs = (a, b) => a && b && a.mine === b.mine && (a.m.user && a.m.user.id) === (b.m.user && b.m.user.id)
      && Math.abs(parseTime(b.m.createdAt) - parseTime(a.m.createdAt)) < GROUP_GAP_MS && dayKey(a.m.createdAt) === dayKey(b.m.createdAt);
    const first = !sameAs(prev, row);
    const last = !sameAs(row, next);
    rows.push(messageRow(id, row, { first, last, isGroup }));
    if (lastMine && row.m.id === lastMine.id && !row.pending) {
      const receipt = receiptRow(t, { readers, isGroup, nothingAfter: all.slice(i + 1).every((r) => r.kind === 'sys') });
      if (receipt) rows.push(receipt);
    }
    prev = row;
  });
  return rows;
}

function messageRow(id, row, { first, last, isGroup }) {
  const { m, mine, pending } = row;
  const key = pending ? `c:${pending.clientId}` : `m:${m.id}`;
  const showSender = isGroup && !mine && first;
  const showAvatar = isGroup && !mine;
  const sig = JSON.stringify([m.id, m.content, mine, first, last, showSender, pending && pending.status, pending && pending.error && pending.error.message, m.user && m.user.username, ...signature(m)]);
  return {
    key, sig,
    build: () => {
      const time = h('time', { class: 'msg-time', dateTime: m.createdAt, title: fullTime(m.createdAt), text: clockTime(m.createdAt) });
      const bubble = h('div', { class: 'bubble' },
        messageBody(m),
        time);
      const li = h('li', {
        class: `msg ${mine ? 'mine' : 'theirs'}${first ? ' first' : ''}${last ? ' last' : ''}${pending ? ` pending ${pending.status}` : ''}${showAvatar ? ' with-avatar' : ''}`,
        testid: 'message',
        dataset: { messageId: m.id || undefined, clientId: m.clientId || (pending && pending.clientId) || undefined, status: pending ? pending.status : 'sent', mine: String(!!mine) },
      });
      if (showSender) li.append(h('span', { class: 'msg-sender', testid: 'message-sender', text: (m.user && m.user.username) || 'Unknown' }));
      const rowEl = h('div', { class: 'msg-row' });
      if (showAvatar) rowEl.append(last ? avatar({ name: (m.user && m.user.username) || '?', url: m.user && m.user.avatarURL, size: 28 }) : h('span', { class: 'avatar-spacer' }));
      rowEl.append(bubble);
      li.append(rowEl);
      const actions = messageActions(id, m, { mine, pending });
      if (actions) li.append(actions);
      if (pending && pending.status === 'sending') {
        li.append(h('span', { class: 'msg-meta', testid: 'message-sending', text: 'Sending…' }));
      } else if (pending && pending.status === 'failed') {
        li.append(h('div', { class: 'msg-error', testid: 'message-error', attrs: { role: 'alert' } },
          h('span', { text: `Not sent — ${describeError(pending.error, 'failed')}` }),
          h('button', { type: 'button', class: 'link-btn', testid: 'retry-button', text: 'Retry', on: { click: () => store.retry(id, pending.clientId) } }),
          h('button', { type: 'button', class: 'link-btn', testid: 'discard-button', text: 'Delete', on: { click: () => store.discard(id, pending.clientId) } })));
      }
      return li;
    },
  };
}
