// The conversation's header: back button, avatar, title, and a subtitle (members of a group; online / last seen
// of the other person).
import { h, icon } from '../../dom.js';
import { relativeTime } from '../../time.js';
import * as store from '../../store.js';
import * as presence from '../../presence.js';
import { conversationTitle, conversationAvatar, otherOnline } from '../list.js';

export function titleFor() {
  const n = store.totalUnread();
  const c = store.state.openId && store.state.convs.get(store.state.openId);
  const base = c ? `${conversationTitle(c)} · Messenger` : 'Messenger';
  return n > 0 ? `(${n}) ${base}` : base;
}

/** Returns `{ el, render }`; `render()` follows the conversation, its participants and presence. */
export function createHeader(id, t, { onBack, onMembers }) {
  const titleEl = h('h2', { class: 'chat-title', testid: 'conversation-title' });
  const subtitleEl = h('p', { class: 'chat-subtitle', testid: 'conversation-subtitle' });
  const avatarSlot = h('span', { class: 'chat-avatar' });
  const membersBtn = h('button', {
    type: 'button', class: 'icon-btn', testid: 'members-button', title: 'Group members', hidden: true,
    attrs: { 'aria-label': 'Group members and settings' }, on: { click: () => onMembers(id) },
  }, icon('info'));

  const el = h('header', { class: 'chat-header' },
    h('button', { type: 'button', class: 'icon-btn back-btn', testid: 'back-button', title: 'Back to conversations', attrs: { 'aria-label': 'Back to conversations' }, on: { click: () => onBack() } }, icon('back')),
    avatarSlot,
    h('div', { class: 'chat-heading' }, titleEl, subtitleEl),
    membersBtn,
  );

  function render() {
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

  return { el, render };
}
