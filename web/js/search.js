// The search box above the conversation list: results while typing (debounced), grouped into people,
// conversations and messages, navigable with the keyboard (a combobox with a listbox). Choosing a message opens
// its conversation at that message (see store.focusMessage). Everything the server sends is rendered as text;
// snippet parts become <mark> elements through textContent, never markup.
import { h, icon, avatar } from './dom.js';
import { api, describeError } from './api.js';
import { relativeTime, fullTime } from './time.js';
import * as store from './store.js';

const DEBOUNCE_MS = 180;

export function createSearchBox({ navigate }) {
  const input = h('input', {
    type: 'search', class: 'search-input', testid: 'search-input', spellcheck: false,
    attrs: {
      placeholder: 'Search messages, chats, people', 'aria-label': 'Search messages, chats and people',
      role: 'combobox', 'aria-expanded': 'false', 'aria-controls': 'search-results', 'aria-autocomplete': 'list',
      maxlength: '1000',
    },
  });
  const clearBtn = h('button', {
    type: 'button', class: 'icon-btn search-clear', testid: 'search-clear', title: 'Clear search', hidden: true,
    attrs: { 'aria-label': 'Clear search' }, on: { click: () => { clear(); input.focus(); } },
  }, icon('close', 16));
  const status = h('div', { class: 'search-status', testid: 'search-status', attrs: { role: 'status', 'aria-live': 'polite' } });
  const list = h('div', { class: 'search-results', id: 'search-results', testid: 'search-results', attrs: { role: 'listbox', 'aria-label': 'Search results' } });
  const panel = h('div', { class: 'search-panel', testid: 'search-panel', hidden: true }, status, list);
  const el = h('div', { class: 'search', testid: 'search', attrs: { role: 'search' } },
    h('div', { class: 'search-field' }, input, clearBtn), panel);

  let timer = null;
  let controller = null;
  let query = '';
  let options = [];      // [{ el, choose }]
  let active = -1;
  let nextCursor = null;
  let messagesGroup = null;
  let moreBtn = null;

  function open(isOpen) {
    panel.hidden = !isOpen;
    input.setAttribute('aria-expanded', String(isOpen));
    el.classList.toggle('open', isOpen);
  }

  function clear() {
    clearTimeout(timer);
    if (controller) controller.abort();
    controller = null;
    input.value = '';
    query = '';
    clearBtn.hidden = true;
    list.replaceChildren();
    options = [];
    setActive(-1);
    status.textContent = '';
    open(false);
  }

  function setActive(index) {
    if (active >= 0 && options[active]) {
      options[active].el.classList.remove('active');
      options[active].el.setAttribute('aria-selected', 'false');
    }
    active = index;
    if (active >= 0 && options[active]) {
      const opt = options[active].el;
      opt.classList.add('active');
      opt.setAttribute('aria-selected', 'true');
      input.setAttribute('aria-activedescendant', opt.id);
      opt.scrollIntoView({ block: 'nearest' });
    } else {
      input.removeAttribute('aria-activedescendant');
    }
  }

  function option(kind, key, children, choose) {
    const id = `search-opt-${kind}-${key}`;
    const opt = h('div', {
      class: `search-option search-${kind}`, id, testid: `search-${kind}`,
      attrs: { role: 'option', 'aria-selected': 'false' },
      on: {
        mousedown: (e) => e.preventDefault(), // keep the focus in the input
        click: () => choose(),
      },
    }, children);
    options.push({ el: opt, choose });
    return opt;
  }

  function group(title, testid, items) {
    return h('div', { class: 'search-group', testid, attrs: { role: 'group', 'aria-label': title } },
      h('div', { class: 'search-group-title', text: title, attrs: { 'aria-hidden': 'true' } }), items);
  }

  function conversationName(c) {
    if (c.isGroup) return c.title || 'Group';
    return (c.otherParticipant && c.otherParticipant.username) || 'Unknown user';
  }

  function snippet(parts, fallback) {
    const span = h('span', { class: 'search-snippet', testid: 'search-snippet' });
    const list = (Array.isArray(parts) && parts.length ? parts : [{ text: fallback || '', match: false }])
      .filter((part) => part && typeof part.text === 'string');
    // The server sends the whole message: start a long one shortly before its first match.
    if (list.length > 1 && !list[0].match && list[0].text.length > 40) {
      list[0] = { text: '…' + list[0].text.slice(-30).replace(/^\S*\s/, ''), match: false };
    }
    for (const part of list) {
      span.append(part.match ? h('mark', { text: part.text }) : document.createTextNode(part.text));
    }
    return span;
  }

  function messageOption(hit) {
    const m = hit.message, c = hit.conversation;
    const who = m.mine ? 'You' : (m.user && m.user.username) || 'Someone';
    return option('message', m.id, [
      h('div', { class: 'search-line' },
        h('span', { class: 'search-title', text: conversationName(c) }),
        h('time', { class: 'search-time rel-time', dateTime: m.createdAt, title: fullTime(m.createdAt), text: relativeTime(m.createdAt), dataset: { time: m.createdAt } })),
      h('div', { class: 'search-line search-sub' }, h('span', { class: 'search-who', text: `${who}: ` }), snippet(hit.snippet, m.content)),
    ], () => { clear(); store.focusMessage(c.id, m.id); navigate(`/c/${encodeURIComponent(c.id)}`); });
  }

  function appendMessages(hits) {
    for (const hit of hits) {
      if (!hit || !hit.message || !hit.conversation) continue;
      messagesGroup.append(messageOption(hit));
    }
  }

  function render(result) {
    options = [];
    setActive(-1);
    const groups = [];
    const people = Array.isArray(result.people) ? result.people : [];
    const convs = Array.isArray(result.conversations) ? result.conversations : [];
    const hits = Array.isArray(result.messages) ? result.messages : [];
    if (people.length) {
      groups.push(group('People', 'search-people', people.map((u) => option('person', u.id, [
        avatar({ name: u.username, url: u.avatarURL, size: 28 }), h('span', { class: 'search-title', text: u.username }),
      ], async () => {
        clear();
        try {
          const c = await api.startConversation(u.username);
          store.addConversation(c);
          navigate(`/c/${encodeURIComponent(c.id)}`);
        } catch (err) {
          status.textContent = describeError(err, 'Could not open the conversation');
          open(true);
        }
      }))));
    }
    if (convs.length) {
      groups.push(group('Chats', 'search-conversations', convs.map((c) => option('conversation', c.id, [
        avatar({ name: conversationName(c), url: c.otherParticipant && c.otherParticipant.avatarURL, size: 28, group: c.isGroup }),
        h('span', { class: 'search-title', text: conversationName(c) }),
      ], () => { clear(); navigate(`/c/${encodeURIComponent(c.id)}`); }))));
    }
    messagesGroup = null;
    moreBtn = null;
    if (hits.length) {
      messagesGroup = h('div');
      appendMessages(hits);
      moreBtn = h('button', {
        type: 'button', class: 'btn btn-ghost search-more', testid: 'search-more', text: 'More messages', hidden: !result.nextCursor,
        on: { mousedown: (e) => e.preventDefault(), click: () => loadMore() },
      });
      groups.push(group('Messages', 'search-messages', [messagesGroup, moreBtn]));
    }
    nextCursor = result.nextCursor || null;
    list.replaceChildren(...groups);
    status.textContent = groups.length ? '' : `No results for “${query}”`;
    open(true);
  }

  async function loadMore() {
    if (!nextCursor || !messagesGroup) return;
    const q = query;
    try {
      const result = await api.search(q, nextCursor);
      if (q !== query || !messagesGroup) return;
      appendMessages(Array.isArray(result.messages) ? result.messages : []);
      nextCursor = result.nextCursor || null;
      if (moreBtn) moreBtn.hidden = !nextCursor;
    } catch (err) {
      status.textContent = describeError(err, 'Search failed');
    }
  }

  async function run(q) {
    if (controller) controller.abort();
    controller = new AbortController();
    const signal = controller.signal;
    el.classList.add('busy');
    try {
      const result = await api.search(q, null, signal);
      if (signal.aborted || q !== query) return;
      render(result || {});
    } catch (err) {
      if (signal.aborted || q !== query) return;
      list.replaceChildren();
      options = [];
      setActive(-1);
      status.textContent = describeError(err, 'Search failed');
      open(true);
    } finally {
      if (!signal.aborted) el.classList.remove('busy');
    }
  }

  input.addEventListener('input', () => {
    const q = input.value.trim();
    clearBtn.hidden = input.value === '';
    clearTimeout(timer);
    if (q === query) return;
    query = q;
    if (!q) { clear(); return; }
    timer = setTimeout(() => run(q), DEBOUNCE_MS);
  });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      if (!options.length) return;
      e.preventDefault();
      if (panel.hidden) open(true);
      const step = e.key === 'ArrowDown' ? 1 : -1;
      setActive(active < 0 ? (step > 0 ? 0 : options.length - 1) : (active + step + options.length) % options.length);
    } else if (e.key === 'Enter') {
      const target = options[active >= 0 ? active : 0];
      if (target && !panel.hidden) { e.preventDefault(); target.choose(); }
    } else if (e.key === 'Escape') {
      if (input.value || !panel.hidden) { e.preventDefault(); e.stopPropagation(); clear(); }
    }
  });
  input.addEventListener('focus', () => { if (query && list.childNodes.length) open(true); });
  input.addEventListener('blur', () => { setTimeout(() => { if (document.activeElement !== input) open(false); }, 150); });

  return {
    el,
    destroy: () => { clearTimeout(timer); if (controller) controller.abort(); },
  };
}
