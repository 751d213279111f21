// Sidebar: current user, actions, connection status and the conversation list.
import { DELETED_TEXT } from '../message-actions.js';
import { h, icon, avatar, placeInOrder } from '../dom.js';
import { relativeTime, fullTime } from '../time.js';
import * as store from '../store.js';
import * as presence from '../presence.js';
import { describeError } from '../api.js';

export function conversationTitle(c) {
  if (!c) return '';
  if (c.isGroup) return c.title || 'Group';
  return (c.otherParticipant && c.otherParticipant.username) || 'Unknown user';
}

/** Whether the other person of a 1:1 is online (null: unknown, or a group). */
export function otherOnline(c) {
  if (!c || c.isGroup || !c.otherParticipant) return null;
  presence.seed(c.otherParticipant.id, c.online, c.lastSeenAt);
  const p = presence.presenceOf(c.otherParticipant.id);
  return p ? p.online : null;
}

export function conversationAvatar(c, size) {
  if (c.isGroup) return avatar({ name: c.title || 'Group', size, group: true });
  const u = c.otherParticipant || {};
  const el = avatar({ name: u.username || '?', url: u.avatarURL, size });
  const online = otherOnline(c);
  if (online !== null) el.dataset.online = String(online);
  if (online) {
    el.classList.add('has-presence');
    el.append(h('span', { class: 'presence-dot', testid: 'presence-dot', attrs: { 'aria-label': 'online', role: 'img' } }));
  }
  return el;
}

function preview(c) {
  const m = c.lastMessage;
  if (!m) return { text: c.isGroup ? 'Group created' : 'No messages yet', empty: true };
  const user = store.me();
  const mine = m.mine || (user && m.user && m.user.id === user.id);
  let prefix = '';
  if (mine) prefix = 'You: ';
  else if (c.isGroup && m.user) prefix = `${m.user.username}: `;
  return { text: prefix + (m.deleted ? DELETED_TEXT : m.content), empty: false };
}

export function createSidebar({ navigate, onNewChat, onNewGroup, onLogout, onNotifications, notifyBar, searchBox }) {
  const user = store.me();
  const listEl = h('ul', { class: 'conv-list', testid: 'conversation-list', attrs: { 'aria-label': 'Conversations' } });
  const emptyEl = h('div', { class: 'list-empty', testid: 'conversation-list-empty', hidden: true },
    h('div', { class: 'list-empty-icon' }, icon('chat', 32)),
    h('p', { class: 'list-empty-title', text: 'No conversations yet' }),
    h('p', { class: 'list-empty-text', text: 'Start a chat with someone or create a group.' }),
    h('button', { type: 'button', class: 'btn btn-primary', text: 'Start a conversation', on: { click: () => onNewChat() } }),
  );
  const moreBtn = h('button', { type: 'button', class: 'btn btn-ghost load-more', testid: 'load-more-conversations', text: 'Load more', hidden: true, on: { click: () => store.loadMoreConversations() } });
  const spinner = h('div', { class: 'list-loading', testid: 'list-loading', hidden: true }, h('span', { class: 'spinner' }));
  const errorText = h('span');
  const errorEl = h('div', { class: 'list-error', testid: 'list-error', hidden: true, attrs: { role: 'alert' } },
    errorText, h('button', { type: 'button', class: 'link-btn', text: 'Try again', on: { click: () => store.reloadList() } }));

  const scroller = h('div', { class: 'sidebar-scroll' }, listEl, emptyEl, spinner, errorEl, moreBtn);
  scroller.addEventListener('scroll', () => {
    if (scroller.scrollTop + scroller.clientHeight > scroller.scrollHeight - 240) store.loadMoreConversations();
  }, { passive: true });

    const header = h('header', { class: 'sidebar-header' },
    h('div', { class: 'me', testid: 'current-user', title: `Signed in as ${user.username}` },
      avatar({ name: user.username, url: user.avatarURL, size: 36 }),
      h('div', { class: 'me-text' },
        h('h1', { class: 'me-label', text: 'Chats' }),
        h('span', { class: 'me-name', testid: 'current-username', text: user.username }))),
    h('div', { class: 'header-actions' },
      h('button', { type: 'button', class: 'icon-btn', testid: 'new-chat-button', title: 'New conversation', attrs: { 'aria-label': 'New conversation' }, on: { click: () => onNewChat() } }, icon('edit')),
      h('button', { type: 'button', class: 'icon-btn', testid: 'new-group-button', title: 'New group', attrs: { 'aria-label': 'New group' }, on: { click: () => onNewGroup() } }, icon('group')),
      h('button', { type: 'button', class: 'icon-btn', testid: 'notifications-button', title: 'Notifications', attrs: { 'aria-label': 'Notification settings' }, on: { click: () => onNotifications() } }, icon('bell')),
      h('button', { type: 'button', class: 'icon-btn', testid: 'logout-button', title: 'Sign out', attrs: { 'aria-label': 'Sign out' }, on: { click: () => onLogout() } }, icon('logout'))),
  );

  const el = h('aside', { class: 'sidebar', testid: 'sidebar', attrs: { 'aria-label': 'Conversations' } }, header, searchBox || null, notifyBar || null, scroller);

  const items = new Map(); // id -> { el, sig }

  function itemFor(c) {
    const p = preview(c);
    const unread = c.unreadCount || (c.hasUnreadMessages ? 1 : 0);
    const active = store.state.openId === c.id;
    const title = conversationTitle(c);
    const time = (c.lastMessage && c.lastMessage.createdAt) || c.createdAt;
    const sig = JSON.stringify([title, p.text, unread, active, time, c.isGroup, c.otherParticipant && c.otherParticipant.avatarURL, otherOnline(c)]);
    const cached = items.get(c.id);
    if (cached && cached.sig === sig) return cached.el;
    const link = h('a', {
      class: 'conv-item' + (unread ? ' unread' : '') + (active ? ' active' : ''),
      href: `/c/${encodeURIComponent(c.id)}`,
      testid: 'conversation-item',
      dataset: { conversationId: c.id, unread: String(unread) },
      attrs: { 'aria-current': active ? 'page' : null },
      on: {
        click: (e) => {
          if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
          e.preventDefault();
          navigate(`/c/${encodeURIComponent(c.id)}`);
        },
      },
    },
      conversationAvatar(c, 48),
      h('span', { class: 'conv-main' },
        h('span', { class: 'conv-top' },
          h('span', { class: 'conv-title', testid: 'conv-title', text: title }),
          h('time', { class: 'conv-time rel-time', testid: 'conv-time', dateTime: time, title: fullTime(time), dataset: { time }, text: relativeTime(time) })),
        h('span', { class: 'conv-bottom' },
          h('span', { class: 'conv-preview' + (p.empty ? ' muted' : ''), testid: 'conv-preview', text: p.text }),
          unread ? h('span', { class: 'badge', testid: 'unread-badge', text: unread > 99 ? '99+' : String(unread), attrs: { 'aria-label': `${unread} unread` } }) : null)),
    );
    const li = h('li', { class: 'conv-li' }, link);
    items.set(c.id, { el: li, sig });
    return li;
  }

  function render() {
    const s = store.state;
    const wanted = [];
    for (const id of s.order) {
      const c = s.convs.get(id);
      if (c) wanted.push(itemFor(c));
    }
    for (const id of [...items.keys()]) if (!s.convs.has(id)) items.delete(id);
    // Reorder in place, moving as little as possible.
    placeInOrder(listEl, wanted);

    emptyEl.hidden = !(s.listLoaded && s.order.length === 0 && !s.listLoading);
    spinner.hidden = !s.listLoading;
    moreBtn.hidden = !(s.listLoaded && s.listHasMore && !s.listLoading && s.order.length > 0);
    errorEl.hidden = !s.listError;
    errorText.textContent = s.listError ? describeError(s.listError, 'Could not load conversations') + ' ' : '';
    // Fill the viewport: if nothing scrolls yet and more exist, fetch the next page.
    if (s.listLoaded && s.listHasMore && !s.listLoading && scroller.scrollHeight <= scroller.clientHeight + 10) {
      setTimeout(() => store.loadMoreConversations(), 0);
    }
  }

  const offs = [store.on('list', render), store.on('presence', render)];
  render();
  return { el, scroller, destroy: () => { offs.forEach((f) => f()); } };
}

/** The connection indicator: hidden while the stream is open, a banner otherwise. */
export function connectionStatus() {
  const text = h('span', { class: 'conn-text' });
  const el = h('div', { class: 'conn-status', testid: 'connection-status', attrs: { role: 'status', 'aria-live': 'polite' } },
    h('span', { class: 'conn-dot' }), text);
  let showTimer = null;
  function update() {
    const s = store.state.stream;
    el.dataset.state = s;
    clearTimeout(showTimer);
    if (s === 'open' || s === 'idle') {
      el.classList.remove('visible');
      text.textContent = 'Connected';
    } else if (s === 'closed') {
      // Not a failure to retry: the server closed this tab's stream because newer ones took its place.
      text.textContent = store.state.streamClosedReason === 'too_many_streams'
        ? 'Live updates paused: this account is open in too many tabs. Reload to resume here.'
        : 'Live updates stopped. Reload to resume.';
      el.classList.add('visible');
    } else if (s === 'connecting') {
      text.textContent = 'Connecting…';
      // Avoid a flash on a quick first connect.
      showTimer = setTimeout(() => el.classList.add('visible'), 800);
    } else {
      text.textContent = 'Connection lost — reconnecting…';
      el.classList.add('visible');
    }
  }
  return { el, update, destroy: () => clearTimeout(showTimer) };
}
