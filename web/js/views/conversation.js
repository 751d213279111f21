// The open conversation, assembled from the pieces in views/conversation/: the header, the history (message list
// with paging both ways, read marks, message actions), the typing line and the composer.
import { h } from '../dom.js';
import * as store from '../store.js';
import * as presence from '../presence.js';
import { createHeader } from './conversation/header.js';
import { createHistory } from './conversation/history.js';
import { createComposer } from './conversation/composer.js';

export { titleFor } from './conversation/header.js';
export { normalizedLength } from './conversation/composer.js';
export { systemText } from './conversation/rows.js';

export function createConversationView(id, { onBack, onMembers }) {
  const t = store.thread(id);
  const header = createHeader(id, t, { onBack, onMembers });
  let composer = null;
  const history = createHistory(id, t, {
    onRender: header.render,
    focusComposer: () => composer.input.focus({ preventScroll: true }),
  });
  composer = createComposer(id, t, { keepScroll: history.keepScroll });

  // Who is writing: state from the stream, announced politely to screen readers.
  const typingEl = h('div', { class: 'typing-indicator', testid: 'typing-indicator', attrs: { 'aria-live': 'polite' } });
  function renderTyping() { typingEl.textContent = presence.typingText(id); }
  renderTyping();
  const el = h('section', { class: 'chat', testid: 'conversation-view', dataset: { conversationId: id }, attrs: { 'aria-label': 'Conversation' } },
    header.el, history.el, history.emptyEl, typingEl, composer.el);

  const offs = [
    store.on('thread', (tid) => { if (tid === id) history.render(); }),
    store.on('thread-loading', (tid) => { if (tid === id) history.render(); }),
    store.on('thread-older', (e) => { if (e.id === id) history.render(); }),
    store.on('sent', (tid) => { if (tid === id) history.sent(); }),
    store.on('list', header.render),
    store.on('presence', header.render),
    store.on('typing', (cid) => { if (cid === id) renderTyping(); }),
    store.on('focus', (cid) => { if (cid === id) history.focusOn(store.takeFocus(id)); }),
  ];

  composer.update();
  history.render();
  history.load();

  return {
    el,
    focus: () => composer.input.focus({ preventScroll: true }),
    destroy: () => { offs.forEach((f) => f()); history.destroy(); presence.localStop(id); },
  };
}
