// The open conversation: header, message list (with history paging) and composer.
import { h, icon, avatar, cmpId } from '../dom.js';
import { clockTime, fullTime, dayKey, dayLabel, parseTime, relativeTime } from '../time.js';
import * as store from '../store.js';
import * as presence from '../presence.js';
import { describeError } from '../api.js';
import { conversationTitle, conversationAvatar, otherOnline } from './list.js';
import { messageBody, messageActions, signature } from '../message-actions.js';

const GROUP_GAP_MS = 5 * 60 * 1000;

/** Length as the server counts it: after whitespace normalisation, in user-perceived characters. */
export function normalizedLength(text) {
  const norm = String(text).split(/\r?\n/).map((l) => l.replace(/\s+/g, ' ').trim()).filter(Boolean).join('\n');
  if (typeof Intl !== 'undefined' && Intl.Segmenter) {
    let n = 0;
    for (const _ of new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(norm)) n++;
    return n;
  }
  return Array.from(norm).length;
}

export function createConversationView(id, { onBack, onMembers }) {
  const t = store.thread(id);
  const titleEl = h('h2', { class: 'chat-title', testid: 'conversation-title' });
  const subtitleEl = h('p', { class: 'chat-subtitle', testid: 'conversation-subtitle' });
  const avatarSlot = h('span', { class: 'chat-avatar' });
  const membersBtn = h('button', {
    type: 'button', class: 'icon-btn', testid: 'members-button', title: 'Group members', hidden: true,
    attrs: { 'aria-label': 'Group members and settings' }, on: { click: () => onMembers(id) },
  }, icon('info'));

  const header = h('header', { class: 'chat-header' },
    h('button', { type: 'button', class: 'icon-btn back-btn', testid: 'back-button', title: 'Back to conversations', attrs: { 'aria-label': 'Back to conversations' }, on: { click: () => onBack() } }, icon('back')),
    avatarSlot,
    h('div', { class: 'chat-heading' }, titleEl, subtitleEl),
    membersBtn,
  );

  const itemsEl = h('ol', { class: 'msg-items', testid: 'message-items' });
  const olderEl = h('div', { class: 'older-status', testid: 'older-status' });
  const scroller = h('div', {
    class: 'msg-scroll', testid: 'message-list', tabIndex: 0,
    attrs: { role: 'log', 'aria-label': 'Messages', 'aria-live': 'polite', 'aria-relevant': 'additions' },
  }, olderEl, itemsEl);
  const emptyEl = h('div', { class: 'chat-empty', testid: 'conversation-empty', hidden: true },
    h('p', { class: 'chat-empty-title', text: 'No messages yet' }),
    h('p', { class: 'chat-empty-text', text: 'Say hello 👋' }));

  // Composer
  const max = () => store.state.config.maxMessageLength || 480;
  const input = h('textarea', {
    class: 'composer-input', testid: 'composer-input', rows: 1, attrs: { placeholder: 'Write a message…', 'aria-label': 'Message', enterkeyhint: 'send' },
  });
  const counter = h('span', { class: 'char-counter', testid: 'char-counter', hidden: true, attrs: { 'aria-live': 'polite' } });
  const sendBtn = h('button', { type: 'submit', class: 'send-btn', testid: 'send-button', disabled: true, title: 'Send (Enter)', attrs: { 'aria-label': 'Send message' } }, icon('send', 20));
  const composer = h('form', { class: 'composer', testid: 'composer' },
    h('div', { class: 'composer-field' }, input, counter), sendBtn);

  function updateComposer() {
    const len = normalizedLength(input.value);
    const limit = max();
    const near = len > limit - 80;
    counter.hidden = !near;
    counter.textContent = `${len} / ${limit}`;
    counter.classList.toggle('over', len > limit);
    sendBtn.disabled = len === 0 || len > limit;
    input.setAttribute('aria-invalid', String(len > limit));
    // Measuring collapses the box for a moment ('auto'), which grows the message list and clamps its scroll
    // position; without restoring it the newest message ends up hidden behind a full-height composer.
    const wasBottom = stuck || distanceFromBottom() < 90;
    const savedTop = scroller.scrollTop;
    input.style.height = 'auto';
    const full = input.scrollHeight + 2; // + borders (border-box)
    input.style.height = Math.min(full, 160) + 'px';
    input.style.overflowY = full > 160 ? 'auto' : 'hidden';
    if (wasBottom) scroller.scrollTop = scroller.scrollHeight;
    else scroller.scrollTop = savedTop;
  }
  function submit() {
    const content = input.value;
    const len = normalizedLength(content);
    if (len === 0 || len > max()) return;
    // Opened at an older message (search): the new message goes below the newest ones, so show those.
    if (t.hasNewer) store.jumpToLatest(id);
    store.send(id, content.trim());
    presence.localStop(id);
    input.value = '';
    store.setDraft(id, '');
    updateComposer();
    input.focus();
  }
  input.value = store.getDraft(id);
  input.addEventListener('input', () => {
    store.setDraft(id, input.value);
    updateComposer();
    presence.localInput(id, input.value.trim().length > 0);
  });
  input.addEventListener('blur', () => presence.localStop(id));
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && !e.altKey && !e.ctrlKey && !e.metaKey) {
      e.preventDefault();
      submit();
    }
  });
  composer.addEventListener('submit', (e) => { e.preventDefault(); submit(); });

  const msgArea = h('div', { class: 'msg-area' }, scroller);
  // Who is writing: state from the stream, announced politely to screen readers.
  const typingEl = h('div', { class: 'typing-indicator', testid: 'typing-indicator', attrs: { 'aria-live': 'polite' } });
  function renderTyping() { typingEl.textContent = presence.typingText(id); }
  renderTyping();
  const el = h('section', { class: 'chat', testid: 'conversation-view', dataset: { conversationId: id }, attrs: { 'aria-label': 'Conversation' } },
    header, msgArea, emptyEl, typingEl, composer);

  /* ----- header ----- */
  function renderHeader() {
    const c = store.state.convs.get(id);
    if (!c) { titleEl.textContent = t.error ? 'Conversation unavailable' : ''; return; }
    titleEl.textContent = conversationTitle(c);
    avatarSlot.replaceChildren(conversationAvatar(c, 40));
    membersBtn.hidden = !c.isGroup;
    if (c.isGroup) {
      const names = [...t.participants.values()].map((p) => p.username);
      const count = t.participantsLoaded ? t.participants.size : c.participantCount;
      const user = store.me();
      const others = names.filter((n) => !user || n !== user.username);
      subtitleEl.textContent = `${count} member${count === 1 ? '' : 's'}` + (others.length ? ` · ${others.slice(0, 4).join(', ')}${others.length > 4 ? '…' : ''}` : '');
    } else {
      const other = c.otherParticipant;
      const online = otherOnline(c);
      const p = other ? presence.presenceOf(other.id) : null;
      subtitleEl.dataset.online = online === null ? '' : String(online);
      if (online) subtitleEl.textContent = 'Online';
      else if (p && p.lastSeenAt) subtitleEl.textContent = `Last seen ${relativeTime(p.lastSeenAt)}`;
      else subtitleEl.textContent = 'Direct message';
    }
    document.title = titleFor();
  }

  /* ----- messages ----- */
  const cache = new Map(); // key -> { el, sig }

  function isMine(m) {
    const user = store.me();
    return m.mine || (user && m.user && m.user.id === user.id);
  }

  function buildRows() {
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
    // Seen: under my latest delivered message, the others who have read up to it.
    let lastMine = null;
    for (const m of msgs) if (isMine(m)) lastMine = m;
    let readers = [];
    if (lastMine) {
      for (const p of t.participants.values()) {
        if (user && p.id === user.id) continue;
        if (p.lastReadMessageId && cmpId(p.lastReadMessageId, lastMine.id) >= 0) readers.push(p.username);
      }
    }
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
        rows.push({ key: 'unread-divider', sig: 'unread', build: () => h('li', { class: 'unread-divider', testid: 'unread-divider', attrs: { role: 'separator', 'aria-label': 'New messages' } }, h('span', { text: 'New messages' })) });
        prev = null;
      }
      const next = all[i + 1] && all[i + 1].kind === 'msg' ? all[i + 1] : null;
      const sameAs = (a, b) => a && b && a.mine === b.mine && (a.m.user && a.m.user.id) === (b.m.user && b.m.user.id)
        && Math.abs(parseTime(b.m.createdAt) - parseTime(a.m.createdAt)) < GROUP_GAP_MS && dayKey(a.m.createdAt) === dayKey(b.m.createdAt);
      const first = !sameAs(prev, row);
      const last = !sameAs(row, next);
      rows.push(messageRow(row, { first, last, isGroup }));
      if (lastMine && row.m.id === lastMine.id && !row.pending) {
        const hasPendingAfter = t.pending.size > 0;
        if (readers.length && !hasPendingAfter) {
          const text = isGroup ? `Seen by ${readers.join(', ')}` : 'Seen';
          rows.push({ key: 'seen', sig: text, build: () => h('li', { class: 'receipt seen', testid: 'seen-indicator', text }) });
        } else if (all.slice(i + 1).every((r) => r.kind === 'sys')) {
          rows.push({ key: 'sent', sig: 'sent', build: () => h('li', { class: 'receipt', testid: 'sent-indicator', text: 'Sent' }) });
        }
      }
      prev = row;
    });
    return rows;
  }

  function messageRow(row, { first, last, isGroup }) {
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

  let forceBottom = true;
  let initialScrollDone = false;
  let stuck = true;          // the user is at the bottom (kept across layout changes, updated by scrolling)
  let seenNewest = null;     // newest message id the user has had in view (for "↓ N new")
  let newBelow = 0;
  // The unread divider: fixed at the first message that was unread when the conversation was opened.
  const conv0 = store.state.convs.get(id);
  let unreadAtOpen = conv0 ? (conv0.unreadCount || (conv0.hasUnreadMessages ? 1 : 0)) : 0;
  // A search hit to open at (store.focusMessage): centred and highlighted for a moment once it is laid out.
  let focusId = store.takeFocus(id);
  if (focusId) unreadAtOpen = 0;
  let dividerId = null;
  let dividerPlaced = false;

  function distanceFromBottom() { return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight; }
  function laidOut() { return scroller.isConnected && scroller.clientHeight > 0; }

  function placeDivider() {
    if (dividerPlaced || !t.loaded) return;
    dividerPlaced = true;
    if (!unreadAtOpen) return;
    const msgs = store.sortedMessages(t);
    const meUser = store.me();
    const myLast = meUser && t.participants.get(meUser.id) && t.participants.get(meUser.id).lastReadMessageId;
    let first = null;
    if (myLast) {
      first = msgs.find((m) => !isMine(m) && cmpId(m.id, myLast) > 0) || null;
    }
    if (!first) {
      // No read position known: count back the unread messages from the newest.
      let n = unreadAtOpen;
      for (let k = msgs.length - 1; k >= 0 && n > 0; k--) if (!isMine(msgs[k])) { first = msgs[k]; n--; }
    }
    dividerId = first ? first.id : null;
  }

  const jumpCount = h('span', { class: 'jump-count' });
  const jumpBtn = h('button', {
    type: 'button', class: 'jump-btn', testid: 'jump-to-newest', hidden: true,
    on: {
      click: () => {
        if (t.hasNewer) { forceBottom = true; store.jumpToLatest(id); input.focus({ preventScroll: true }); return; }
        scroller.scrollTop = scroller.scrollHeight; stuck = true; clearNew(); input.focus({ preventScroll: true });
      },
    },
  }, h('span', { attrs: { 'aria-hidden': 'true' }, text: '↓ ' }), jumpCount);
  msgArea.append(jumpBtn);

  function newestMessageId() {
    let best = null;
    for (const k of t.messages.keys()) if (!best || cmpId(k, best) > 0) best = k;
    return best;
  }
  function clearNew() {
    newBelow = 0;
    seenNewest = newestMessageId();
    jumpBtn.hidden = true;
  }
  function updateJump() {
    if (t.hasNewer) {
      jumpBtn.hidden = false;
      jumpCount.textContent = 'Latest';
      jumpBtn.setAttribute('aria-label', 'Jump to the latest messages');
      return;
    }
    if (stuck) { clearNew(); return; }
    const newest = newestMessageId();
    if (seenNewest && newest && cmpId(newest, seenNewest) > 0) {
      let n = 0;
      for (const [k, m] of t.messages) if (cmpId(k, seenNewest) > 0 && !isMine(m)) n++;
      newBelow = n;
    }
    jumpBtn.hidden = newBelow === 0;
    jumpCount.textContent = `${newBelow} new`;
    jumpBtn.setAttribute('aria-label', `Jump to ${newBelow} new message${newBelow === 1 ? '' : 's'}`);
  }

  function initialScroll() {
    const div = itemsEl.querySelector('[data-testid="unread-divider"]');
    if (div) {
      // Start at the first unread message (the divider near the top), or at the bottom if it all fits.
      const top = div.getBoundingClientRect().top - scroller.getBoundingClientRect().top + scroller.scrollTop - 12;
      scroller.scrollTop = Math.min(top, scroller.scrollHeight);
    } else {
      scroller.scrollTop = scroller.scrollHeight;
    }
    stuck = distanceFromBottom() < 90;
    seenNewest = newestMessageId();
  }

  function applyFocus() {
    const target = focusId;
    focusId = null;
    const li = [...itemsEl.querySelectorAll('li.msg[data-message-id]')].find((x) => x.dataset.messageId === target);
    if (!li) { initialScroll(); return; }
    const top = li.getBoundingClientRect().top - scroller.getBoundingClientRect().top + scroller.scrollTop;
    scroller.scrollTop = Math.max(0, top - Math.max(0, scroller.clientHeight - li.offsetHeight) / 2);
    stuck = !t.hasNewer && distanceFromBottom() < 90;
    seenNewest = newestMessageId();
    li.classList.add('focused');
    li.dataset.focused = 'true';
    setTimeout(() => { li.classList.remove('focused'); delete li.dataset.focused; }, 2500);
  }

  function render() {
    renderHeader();
    placeDivider();
    const atBottom = !t.hasNewer && (stuck || distanceFromBottom() < 90);
    // Anchor: the first row visible at the top, to keep the position when older messages are prepended.
    let anchor = null, anchorTop = 0;
    if (!atBottom && initialScrollDone) {
      // Only server messages make good anchors: separators and receipts move around.
      const top = scroller.getBoundingClientRect().top;
      for (const li of itemsEl.querySelectorAll('li.msg[data-message-id]')) {
        const r = li.getBoundingClientRect();
        if (r.bottom > top) { anchor = `m:${li.dataset.messageId}`; anchorTop = r.top - top; break; }
      }
    }
    const rows = buildRows();
    const wanted = [];
    const keys = new Set();
    for (const r of rows) {
      keys.add(r.key);
      const cached = cache.get(r.key);
      if (cached && cached.sig === r.sig) { wanted.push(cached.el); continue; }
      const el = r.build();
      if (cached) cached.el.replaceWith(el);
      cache.set(r.key, { el, sig: r.sig });
      wanted.push(el);
    }
    for (const k of [...cache.keys()]) if (!keys.has(k)) { cache.get(k).el.remove(); cache.delete(k); }
    const focused = document.activeElement;
    let cursor = itemsEl.firstChild;
    for (const node of wanted) {
      if (node === cursor) { cursor = cursor.nextSibling; continue; }
      itemsEl.insertBefore(node, cursor);
    }
    while (cursor) { const nx = cursor.nextSibling; cursor.remove(); cursor = nx; }
    if (focused && focused !== document.activeElement && focused.isConnected) focused.focus({ preventScroll: true });

    olderEl.textContent = t.loading && t.loaded ? 'Loading earlier messages…' : (!t.hasMore && t.loaded && t.messages.size > 0 ? 'This is the beginning of the conversation' : '');
    olderEl.classList.toggle('loading', t.loading && t.loaded);
    emptyEl.hidden = !(t.loaded && t.messages.size === 0 && t.pending.size === 0);
    if (!t.loaded && t.loading) olderEl.replaceChildren(h('span', { class: 'spinner' }));
    if (t.error && !t.loaded) olderEl.textContent = describeError(t.error, 'Could not load messages');

    // The view is built before it is in the document: scrolling then happens at height 0 and means nothing.
    // The first real scroll waits until the list has a size (see the ResizeObserver below).
    if (!laidOut()) return;
    if (focusId && t.loaded && !t.loading) {
      applyFocus();
      initialScrollDone = true;
      forceBottom = false;
    } else if (focusId) {
      // Waiting for the page around the message.
    } else if (!initialScrollDone) {
      if (t.loaded) { initialScroll(); initialScrollDone = true; forceBottom = false; }
      else scroller.scrollTop = scroller.scrollHeight;
    } else if (forceBottom || atBottom) {
      scroller.scrollTop = scroller.scrollHeight;
      stuck = true;
      forceBottom = false;
    } else if (anchor && cache.has(anchor)) {
      // Rows are rebuilt when their grouping changes, so find the anchor's current element by key.
      const node = cache.get(anchor).el;
      const moved = node.getBoundingClientRect().top - scroller.getBoundingClientRect().top - anchorTop;
      if (moved) scroller.scrollTop += moved;
    }
    updateJump();
    maybeLoadOlder();
    maybeLoadNewer();
  }

  function maybeLoadNewer() {
    if (!initialScrollDone || focusId || !laidOut() || !t.loaded || t.loading || !t.hasNewer) return;
    if (distanceFromBottom() < 150) store.loadNewer(id);
  }

  function maybeLoadOlder() {
    // Never while detached or before the first scroll: a list of height 0 "needs" older pages forever.
    if (!initialScrollDone || focusId || !laidOut() || !t.loaded || t.loading || !t.hasMore) return;
    if (scroller.scrollTop < 150 || scroller.scrollHeight <= scroller.clientHeight + 10) {
      store.loadOlder(id);
    }
  }
  scroller.addEventListener('scroll', () => {
    if (initialScrollDone && laidOut()) {
      stuck = !t.hasNewer && distanceFromBottom() < 90;
      updateJump();
    }
    maybeLoadOlder();
    maybeLoadNewer();
  }, { passive: true });

  const offs = [
    store.on('thread', (tid) => { if (tid === id) render(); }),
    store.on('thread-loading', (tid) => { if (tid === id) render(); }),
    store.on('thread-older', (e) => { if (e.id === id) render(); }),
    store.on('sent', (tid) => { if (tid === id) forceBottom = true; }),
    store.on('list', renderHeader),
    store.on('presence', renderHeader),
    store.on('typing', (cid) => { if (cid === id) renderTyping(); }),
    store.on('focus', (cid) => {
      if (cid !== id) return;
      focusId = store.takeFocus(id);
      if (focusId) store.openThreadAround(id, focusId).then(render);
    }),
  ];
  const ro = new ResizeObserver(() => {
    if (!laidOut()) return;
    if (!initialScrollDone) { render(); return; }
    if (stuck) scroller.scrollTop = scroller.scrollHeight;
  });
  ro.observe(scroller);

  updateComposer();
  render();
  if (focusId) store.openThreadAround(id, focusId).then(render);
  else store.openThread(id).then(render);

  return {
    el,
    focus: () => input.focus({ preventScroll: true }),
    destroy: () => { offs.forEach((f) => f()); ro.disconnect(); presence.localStop(id); },
  };
}

export function titleFor() {
  const n = store.totalUnread();
  const c = store.state.openId && store.state.convs.get(store.state.openId);
  const base = c ? `${conversationTitle(c)} · Messenger` : 'Messenger';
  return n > 0 ? `(${n}) ${base}` : base;
}

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
