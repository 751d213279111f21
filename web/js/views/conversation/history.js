// The message history: the scrolling list, paging both ways (older pages at the top; newer pages at the bottom when
// the thread was opened around a search hit), keeping the reader's place, "↓ N new" / "↓ Latest", the unread
// divider, and centring a focused message.
import { h, cmpId, placeInOrder } from '../../dom.js';
import * as store from '../../store.js';
import { describeError } from '../../api.js';
import { buildRows } from './rows.js';
import { isMine, firstUnreadId } from './read-marks.js';

/**
 * Returns `{ el, emptyEl, render, keepScroll, sent, focusOn, destroy }`. `onRender` runs at the start of every
 * render (the header follows the thread); `focusComposer` is called by the jump button.
 */
export function createHistory(id, t, { onRender, focusComposer }) {
  const itemsEl = h('ol', { class: 'msg-items', testid: 'message-items' });
  const olderEl = h('div', { class: 'older-status', testid: 'older-status' });
  const scroller = h('div', {
    class: 'msg-scroll', testid: 'message-list', tabIndex: 0,
    attrs: { role: 'log', 'aria-label': 'Messages', 'aria-live': 'polite', 'aria-relevant': 'additions' },
  }, olderEl, itemsEl);
  const emptyEl = h('div', { class: 'chat-empty', testid: 'conversation-empty', hidden: true },
    h('p', { class: 'chat-empty-title', text: 'No messages yet' }),
    h('p', { class: 'chat-empty-text', text: 'Say hello 👋' }));
  const el = h('div', { class: 'msg-area' }, scroller);

  const cache = new Map(); // key -> { el, sig }
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

  /** Runs `fn` (which changes the list's height) keeping the bottom in view if it was, else the position. */
  function keepScroll(fn) {
    // Measuring collapses the composer for a moment ('auto'), which grows the message list and clamps its scroll
    // position; without restoring it the newest message ends up hidden behind a full-height composer.
    const wasBottom = stuck || distanceFromBottom() < 90;
    const savedTop = scroller.scrollTop;
    fn();
    if (wasBottom) scroller.scrollTop = scroller.scrollHeight;
    else scroller.scrollTop = savedTop;
  }

  function placeDivider() {
    if (dividerPlaced || !t.loaded) return;
    dividerPlaced = true;
    dividerId = firstUnreadId(t, unreadAtOpen);
  }

  const jumpCount = h('span', { class: 'jump-count' });
  const jumpBtn = h('button', {
    type: 'button', class: 'jump-btn', testid: 'jump-to-newest', hidden: true,
    on: {
      click: () => {
        if (t.hasNewer) { forceBottom = true; store.jumpToLatest(id); focusComposer(); return; }
        scroller.scrollTop = scroller.scrollHeight; stuck = true; clearNew(); focusComposer();
      },
    },
  }, h('span', { attrs: { 'aria-hidden': 'true' }, text: '↓ ' }), jumpCount);
  el.append(jumpBtn);

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

  /** Puts the rows in the list, reusing the elements of rows whose signature did not change. */
  function patchRows() {
    const rows = buildRows(id, t, { dividerId });
    const wanted = [];
    const keys = new Set();
    for (const r of rows) {
      keys.add(r.key);
      const cached = cache.get(r.key);
      if (cached && cached.sig === r.sig) { wanted.push(cached.el); continue; }
      const node = r.build();
      if (cached) cached.el.replaceWith(node);
      cache.set(r.key, { el: node, sig: r.sig });
      wanted.push(node);
    }
    for (const k of [...cache.keys()]) if (!keys.has(k)) { cache.get(k).el.remove(); cache.delete(k); }
    placeInOrder(itemsEl, wanted);
  }

  function renderStatus() {
    olderEl.textContent = t.loading && t.loaded ? 'Loading earlier messages…' : (!t.hasMore && t.loaded && t.messages.size > 0 ? 'This is the beginning of the conversation' : '');
    olderEl.classList.toggle('loading', t.loading && t.loaded);
    emptyEl.hidden = !(t.loaded && t.messages.size === 0 && t.pending.size === 0);
    if (!t.loaded && t.loading) olderEl.replaceChildren(h('span', { class: 'spinner' }));
    if (t.error && !t.loaded) olderEl.textContent = describeError(t.error, 'Could not load messages');
  }

  function render() {
    onRender();
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
    patchRows();
    renderStatus();

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

  const ro = new ResizeObserver(() => {
    if (!laidOut()) return;
    if (!initialScrollDone) { render(); return; }
    if (stuck) scroller.scrollTop = scroller.scrollHeight;
  });
  ro.observe(scroller);

  /** Opens the thread: around the focused message (search), else at its newest page. */
  function load() {
    if (focusId) store.openThreadAround(id, focusId).then(render);
    else store.openThread(id).then(render);
  }

  return {
    el,
    emptyEl,
    render,
    keepScroll,
    load,
    /** This tab sent a message: show the bottom on the next render. */
    sent() { forceBottom = true; },
    /** A search hit in this (open) conversation: load the page around it and centre it. */
    focusOn(messageId) {
      focusId = messageId;
      if (focusId) store.openThreadAround(id, focusId).then(render);
    },
    destroy() { ro.disconnect(); },
  };
}
