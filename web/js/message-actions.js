// Editing and deleting one's own messages, and applying `message_updated` / `message_deleted` stream events.
//
// The message bubble's content (text + "edited" mark, or the "Message deleted" placeholder) and its actions are
// built here; the conversation view only calls `messageBody` and `messageActions`. Inline editing lives in the
// row's own DOM (the view's render cache keeps a row element while its message is unchanged), so re-renders caused
// by other messages never interrupt an edit; a change to this very message rebuilds the row, which ends the edit.
import { h, linkify } from './dom.js';
import { request, describeError } from './api.js';
import * as store from './store.js';

const path = (conversationId, id) =>
  `/api/conversations/${encodeURIComponent(conversationId)}/messages/${encodeURIComponent(id)}`;

/** A changed message (from the stream, or our own PATCH/DELETE answer): replace it wherever it is shown. */
export function receiveChange(m) {
  if (!m || !m.id || !m.conversationId) return;
  const t = store.state.threads.get(m.conversationId);
  if (t && t.messages.has(m.id)) {
    const old = t.messages.get(m.id);
    const next = { ...old, ...m, mine: old.mine };
    if (!m.deleted) delete next.deleted;
    t.messages.set(m.id, next);
    store.emit('thread', m.conversationId);
  }
  const c = store.state.convs.get(m.conversationId);
  if (c && c.lastMessage && c.lastMessage.id === m.id) {
    store.state.convs.set(c.id, { ...c, lastMessage: { ...c.lastMessage, ...m, mine: c.lastMessage.mine } });
    store.emit('list');
  }
}

/** What the conversation list shows for a last message that was deleted. */
export const DELETED_TEXT = 'Message deleted';

/** The render signature parts this module adds (a row is rebuilt when they change). */
export function signature(m) {
  return [m.editedAt || null, !!m.deleted];
}

/** The bubble's content: the text with an "edited" mark, or the deleted placeholder. */
export function messageBody(m) {
  if (m.deleted) {
    return h('span', { class: 'msg-content msg-deleted', testid: 'message-content', dataset: { deleted: 'true' }, text: DELETED_TEXT });
  }
  const content = h('span', { class: 'msg-content', testid: 'message-content' }, linkify(m.content));
  if (!m.editedAt) return content;
  return h('span', { class: 'msg-body' }, content,
    h('span', { class: 'msg-edited', testid: 'message-edited', text: 'edited', title: `Edited ${new Date(m.editedAt).toLocaleString()}` }));
}

/** Edit and Delete for one of my delivered messages (nothing for others', pending or deleted ones). */
export function messageActions(conversationId, m, { mine, pending }) {
  if (!mine || pending || !m.id || m.deleted) return null;
  const bar = h('div', { class: 'msg-actions', testid: 'message-actions' });
  const show = (...nodes) => bar.replaceChildren(...nodes);
  const error = (err, fallback) => h('span', { class: 'msg-action-error', testid: 'message-action-error', attrs: { role: 'alert' }, text: describeError(err, fallback) });

  const editBtn = h('button', {
    type: 'button', class: 'link-btn', testid: 'edit-message', text: 'Edit', attrs: { 'aria-label': 'Edit message' },
    on: { click: () => startEdit() },
  });
  const deleteBtn = h('button', {
    type: 'button', class: 'link-btn', testid: 'delete-message', text: 'Delete', attrs: { 'aria-label': 'Delete message' },
    on: { click: () => confirmDelete() },
  });
  // Edit only while the server still allows it (a message can be deleted at any time).
  const editable = () => {
    const sent = Date.parse(m.createdAt);
    return Number.isNaN(sent) || Date.now() - sent < store.state.config.editWindowSeconds * 1000;
  };
  const idle = () => (editable() ? show(editBtn, deleteBtn) : show(deleteBtn));

  function confirmDelete() {
    const yes = h('button', {
      type: 'button', class: 'link-btn danger', testid: 'confirm-delete', text: 'Delete',
      on: { click: async () => {
        yes.disabled = true;
        try {
          await request('DELETE', path(conversationId, m.id));
          receiveChange({ ...m, content: '', deleted: true });
        } catch (err) {
          show(error(err, 'Could not delete'), ...(editable() ? [editBtn] : []), deleteBtn);
        }
      } },
    });
    const no = h('button', { type: 'button', class: 'link-btn', testid: 'cancel-delete', text: 'Cancel', on: { click: idle } });
    show(h('span', { class: 'msg-confirm', testid: 'delete-confirmation', text: 'Delete this message for everyone?' }), yes, no);
    no.focus();
  }

  function startEdit() {
    const li = bar.closest('li');
    // The shown text stays in the DOM (hidden) while the editor is open: whoever reads the list still finds it.
    const contentEl = li && li.querySelector('.bubble > .msg-content, .bubble > .msg-body');
    if (!contentEl) return;
    const input = h('textarea', {
      class: 'edit-input', testid: 'edit-input', rows: 2, value: m.content, attrs: { 'aria-label': 'Edit message' },
    });
    const save = h('button', { type: 'button', class: 'link-btn', testid: 'save-edit', text: 'Save' });
    const cancel = h('button', { type: 'button', class: 'link-btn', testid: 'cancel-edit', text: 'Cancel' });
    const restore = () => { input.remove(); contentEl.hidden = false; idle(); };
    async function submit() {
      const content = input.value;
      if (!content.trim()) return;
      if (content === m.content) { restore(); return; }
      save.disabled = true;
      input.disabled = true;
      try {
        const updated = await request('PATCH', path(conversationId, m.id), { content });
        // The row is rebuilt with the new text (its signature changed), which also ends the edit.
        receiveChange(updated);
      } catch (err) {
        save.disabled = false;
        input.disabled = false;
        show(error(err, 'Could not edit'), save, cancel);
      }
    }
    save.addEventListener('click', submit);
    cancel.addEventListener('click', restore);
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); restore(); }
      else if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); submit(); }
    });
    contentEl.hidden = true;
    contentEl.before(input);
    show(save, cancel);
    input.focus();
    input.setSelectionRange(input.value.length, input.value.length);
  }

  idle();
  return bar;
}
