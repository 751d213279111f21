// The composer: a growing textarea with the length counter, Enter to send, the draft kept per conversation, and
// typing announced through presence.
import { h, icon } from '../../dom.js';
import * as store from '../../store.js';
import * as presence from '../../presence.js';

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

/**
 * Returns `{ el, input, update }`. `keepScroll(fn)` runs the textarea's resize (which changes the message list's
 * height) so that the list keeps its place.
 */
export function createComposer(id, t, { keepScroll }) {
  const max = () => store.state.config.maxMessageLength || 480;
  const input = h('textarea', {
    class: 'composer-input', testid: 'composer-input', rows: 1, attrs: { placeholder: 'Write a message…', 'aria-label': 'Message', enterkeyhint: 'send' },
  });
  const counter = h('span', { class: 'char-counter', testid: 'char-counter', hidden: true, attrs: { 'aria-live': 'polite' } });
  const sendBtn = h('button', { type: 'submit', class: 'send-btn', testid: 'send-button', disabled: true, title: 'Send (Enter)', attrs: { 'aria-label': 'Send message' } }, icon('send', 20));
  const el = h('form', { class: 'composer', testid: 'composer' },
    h('div', { class: 'composer-field' }, input, counter), sendBtn);

  function update() {
    const len = normalizedLength(input.value);
    const limit = max();
    const near = len > limit - 80;
    counter.hidden = !near;
    counter.textContent = `${len} / ${limit}`;
    counter.classList.toggle('over', len > limit);
    sendBtn.disabled = len === 0 || len > limit;
    input.setAttribute('aria-invalid', String(len > limit));
    keepScroll(() => {
      input.style.height = 'auto';
      const full = input.scrollHeight + 2; // + borders (border-box)
      input.style.height = Math.min(full, 160) + 'px';
      input.style.overflowY = full > 160 ? 'auto' : 'hidden';
    });
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
    update();
    input.focus();
  }
  input.value = store.getDraft(id);
  input.addEventListener('input', () => {
    store.setDraft(id, input.value);
    update();
    presence.localInput(id, input.value.trim().length > 0);
  });
  input.addEventListener('blur', () => presence.localStop(id));
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && !e.altKey && !e.ctrlKey && !e.metaKey) {
      e.preventDefault();
      submit();
    }
  });
  el.addEventListener('submit', (e) => { e.preventDefault(); submit(); });

  return { el, input, update };
}
