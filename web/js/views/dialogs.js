// Modal dialogs: new conversation, new group, group members.
import { h, icon, avatar } from '../dom.js';
import { api, describeError, ApiError } from '../api.js';
import * as store from '../store.js';

let seq = 0;

function modal({ title, testid, body, onClose }) {
  const dlg = h('dialog', { class: 'modal', testid, attrs: { 'aria-labelledby': `dlg-title-${++seq}` } });
  const close = () => dlg.close();
  dlg.append(
    h('header', { class: 'modal-header' },
      h('h2', { id: `dlg-title-${seq}`, class: 'modal-title', text: title }),
      h('button', { type: 'button', class: 'icon-btn', testid: 'dialog-close', title: 'Close', attrs: { 'aria-label': 'Close' }, on: { click: close } }, icon('close'))),
    body,
  );
  dlg.addEventListener('close', () => { dlg.remove(); if (onClose) onClose(); });
  // Click on the backdrop closes.
  dlg.addEventListener('mousedown', (e) => { if (e.target === dlg) close(); });
  document.body.append(dlg);
  dlg.showModal();
  return { dlg, close };
}

function errorLine(testid) {
  return h('p', { class: 'form-error', testid, hidden: true, attrs: { role: 'alert' } });
}
function showErr(el, msg) { el.hidden = !msg; el.textContent = msg || ''; }

/**
 * A username input with suggestions as you type (GET /api/usernames?search=).
 * onPick(username) is called when a suggestion is chosen (click, or arrows + Enter).
 */
function usernamePicker({ testid, placeholder, onPick, exclude = () => [] }) {
  const listId = `sugg-${++seq}`;
  const input = h('input', {
    type: 'text', class: 'input', testid, autocomplete: 'off', spellcheck: false, maxLength: 32,
    attrs: { placeholder, role: 'combobox', 'aria-autocomplete': 'list', 'aria-expanded': 'false', 'aria-controls': listId, autocapitalize: 'none', 'aria-label': placeholder },
  });
  const list = h('ul', { class: 'suggestions', id: listId, testid: 'suggestions', hidden: true, attrs: { role: 'listbox' } });
  let items = [];
  let active = -1;
  let timer = null;
  let ctrl = null;

  function render() {
    list.replaceChildren(...items.map((name, i) => {
      const li = h('li', {
        id: `${listId}-${i}`, class: 'suggestion' + (i === active ? ' active' : ''), testid: 'suggestion',
        attrs: { role: 'option', 'aria-selected': String(i === active) }, dataset: { username: name },
      }, avatar({ name, size: 28 }), h('span', { text: name }));
      li.addEventListener('mousedown', (e) => e.preventDefault());
      li.addEventListener('click', () => pick(name));
      return li;
    }));
    const open = items.length > 0;
    list.hidden = !open;
    input.setAttribute('aria-expanded', String(open));
    if (active >= 0) input.setAttribute('aria-activedescendant', `${listId}-${active}`);
    else input.removeAttribute('aria-activedescendant');
  }
  function clear() { items = []; active = -1; render(); }
  function pick(name) { clear(); onPick(name); }

  input.addEventListener('input', () => {
    clearTimeout(timer);
    const q = input.value.trim();
    if (!q) { clear(); return; }
    timer = setTimeout(async () => {
      if (ctrl) ctrl.abort();
      ctrl = new AbortController();
      try {
        const names = await api.usernames(q, 6, ctrl.signal);
        if (input.value.trim() !== q) return;
        const skip = new Set(exclude().map((n) => n.toLowerCase()));
        items = (Array.isArray(names) ? names : []).filter((n) => typeof n === 'string' && !skip.has(n.toLowerCase()));
        active = -1;
        render();
      } catch { /* aborted or offline: no suggestions */ }
    }, 120);
  });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown' && items.length) { e.preventDefault(); active = (active + 1) % items.length; render(); }
    else if (e.key === 'ArrowUp' && items.length) { e.preventDefault(); active = (active - 1 + items.length) % items.length; render(); }
    else if (e.key === 'Enter' && active >= 0 && items[active]) { e.preventDefault(); e.stopPropagation(); pick(items[active]); }
    else if (e.key === 'Escape' && items.length) { e.preventDefault(); e.stopPropagation(); clear(); }
  });
  input.addEventListener('blur', () => setTimeout(clear, 150));
  const el = h('div', { class: 'picker' }, input, list);
  return { el, input, clear };
}

export function openNewChat({ navigate }) {
  const err = errorLine('new-chat-error');
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', testid: 'new-chat-submit', text: 'Start chat' });
  let busy = false;
  const form = h('form', { class: 'modal-body' });
  async function start(name) {
    name = String(name || '').trim();
    if (!name || busy) { if (!name) showErr(err, 'Type a username.'); return; }
    busy = true; submit.disabled = true; showErr(err, null);
    try {
      const c = await api.startConversation(name);
      store.addConversation(c);
      m.close();
      navigate(`/c/${encodeURIComponent(c.id)}`);
    } catch (e) {
      let msg = describeError(e, 'Could not start the conversation');
      if (e instanceof ApiError && e.status === 404) msg = `No user called “${name}”.`;
      if (e instanceof ApiError && e.status === 403) msg = 'That’s you! Pick someone else.';
      showErr(err, msg);
    } finally {
      busy = false; submit.disabled = false;
    }
  }
  const picker = usernamePicker({ testid: 'new-chat-username', placeholder: 'Search people by username', onPick: (n) => { picker.input.value = n; start(n); } });
  form.append(
    h('label', { class: 'field' }, h('span', { class: 'field-label', text: 'To' }), picker.el),
    err,
    h('div', { class: 'modal-actions' }, h('button', { type: 'button', class: 'btn btn-ghost', text: 'Cancel', on: { click: () => m.close() } }), submit),
  );
  form.addEventListener('submit', (e) => { e.preventDefault(); start(picker.input.value); });
  const m = modal({ title: 'New conversation', testid: 'new-chat-dialog', body: form });
  picker.input.focus();
}

export function openNewGroup({ navigate }) {
  const members = [];
  const err = errorLine('new-group-error');
  const titleInput = h('input', { type: 'text', class: 'input', testid: 'group-title', maxLength: 100, required: true, attrs: { placeholder: 'e.g. Weekend trip', 'aria-label': 'Group name' } });
  const chips = h('ul', { class: 'chips', testid: 'group-members', attrs: { 'aria-label': 'Members to add' } });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', testid: 'group-create-submit', text: 'Create group' });
  function renderChips() {
    chips.replaceChildren(...members.map((name) => h('li', { class: 'chip', testid: 'group-member-chip', dataset: { username: name } },
      h('span', { text: name }),
      h('button', { type: 'button', class: 'chip-remove', title: `Remove ${name}`, attrs: { 'aria-label': `Remove ${name}` }, on: { click: () => { members.splice(members.indexOf(name), 1); renderChips(); picker.input.focus(); } } }, icon('close', 14)))));
    chips.hidden = members.length === 0;
  }
  function addKnown(name) {
    if (!members.some((n) => n.toLowerCase() === name.toLowerCase())) members.push(name);
    picker.input.value = '';
    showErr(err, null);
    renderChips();
    picker.input.focus();
  }
  /** A typed name becomes a chip only once the server knows it (the search is by prefix, exact match first). */
  async function addMember(name) {
    name = String(name || '').trim();
    if (!name) return true;
    let found = null;
    try {
      const names = await api.usernames(name, 1);
      found = Array.isArray(names) && typeof names[0] === 'string' && names[0].toLowerCase() === name.toLowerCase() ? names[0] : null;
    } catch (ex) {
      showErr(err, describeError(ex, 'Could not check that username'));
      return false;
    }
    const user = store.me();
    if (!found) {
      showErr(err, user && user.username.toLowerCase() === name.toLowerCase() ? 'You are in the group already.' : `No user called “${name}”.`);
      picker.input.focus();
      return false;
    }
    if (picker.input.value.trim() === name) addKnown(found);
    else if (!members.some((n) => n.toLowerCase() === found.toLowerCase())) { members.push(found); renderChips(); }
    return true;
  }
  const picker = usernamePicker({ testid: 'group-member-input', placeholder: 'Add people by username', onPick: addKnown, exclude: () => members });
  picker.input.addEventListener('keydown', (e) => {
    if ((e.key === 'Enter' || e.key === ',') && picker.input.value.trim()) { e.preventDefault(); addMember(picker.input.value); }
  });
  const addBtn = h('button', { type: 'button', class: 'btn btn-secondary', testid: 'group-member-add', text: 'Add', on: { click: () => addMember(picker.input.value) } });
  const form = h('form', { class: 'modal-body' },
    h('label', { class: 'field' }, h('span', { class: 'field-label', text: 'Group name' }), titleInput),
    h('div', { class: 'field' }, h('span', { class: 'field-label', text: 'Members' }), h('div', { class: 'picker-row' }, picker.el, addBtn), chips),
    err,
    h('div', { class: 'modal-actions' }, h('button', { type: 'button', class: 'btn btn-ghost', text: 'Cancel', on: { click: () => m.close() } }), submit));
  let busy = false;
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (busy) return;
    if (picker.input.value.trim() && !(await addMember(picker.input.value))) return;
    const title = titleInput.value.trim();
    if (!title) { showErr(err, 'Give the group a name.'); titleInput.focus(); return; }
    if (!members.length) { showErr(err, 'Add at least one member.'); picker.input.focus(); return; }
    busy = true; submit.disabled = true; showErr(err, null);
    try {
      const c = await api.createGroup(title, members);
      store.addConversation(c);
      m.close();
      navigate(`/c/${encodeURIComponent(c.id)}`);
    } catch (ex) {
      showErr(err, describeError(ex, 'Could not create the group'));
    } finally {
      busy = false; submit.disabled = false;
    }
  });
  renderChips();
  const m = modal({ title: 'New group', testid: 'new-group-dialog', body: form });
  titleInput.focus();
}

export function openMembers(id, { navigate }) {
  const t = store.thread(id);
  const c = store.state.convs.get(id);
  const list = h('ul', { class: 'member-list', testid: 'member-list' });
  const err = errorLine('members-error');
  function renderList() {
    const user = store.me();
    const ps = [...t.participants.values()].sort((a, b) => a.username.localeCompare(b.username));
    list.replaceChildren(...ps.map((p) => h('li', { class: 'member', testid: 'member-item', dataset: { username: p.username } },
      avatar({ name: p.username, url: p.avatarURL, size: 32 }),
      h('span', { class: 'member-name', text: p.username }),
      user && p.id === user.id ? h('span', { class: 'member-you', text: 'you' }) : null)));
  }
  const addSubmit = h('button', { type: 'submit', class: 'btn btn-secondary', testid: 'add-member-submit', text: 'Add' });
  const picker = usernamePicker({
    testid: 'add-member-input', placeholder: 'Add someone by username',
    onPick: (n) => { picker.input.value = n; add(n); },
    exclude: () => [...t.participants.values()].map((p) => p.username),
  });
  let busy = false;
  async function add(name) {
    name = String(name || '').trim();
    if (!name || busy) return;
    busy = true; addSubmit.disabled = true; showErr(err, null);
    try {
      await api.addParticipant(id, name);
      picker.input.value = '';
      await store.loadParticipants(id);
      renderList();
    } catch (e) {
      let msg = describeError(e, 'Could not add them');
      if (e instanceof ApiError && e.status === 409) msg = `${name} is already in the group.`;
      if (e instanceof ApiError && e.status === 404) msg = `No user called “${name}”.`;
      showErr(err, msg);
    } finally {
      busy = false; addSubmit.disabled = false;
    }
  }
  const addForm = h('form', { class: 'picker-row' }, picker.el, addSubmit);
  addForm.addEventListener('submit', (e) => { e.preventDefault(); add(picker.input.value); });

  const confirmRow = h('div', { class: 'confirm-row', hidden: true },
    h('span', { text: 'Leave this group? You will stop receiving its messages.' }),
    h('button', { type: 'button', class: 'btn btn-danger', testid: 'leave-group-confirm', text: 'Leave', on: { click: leave } }));
  const leaveBtn = h('button', { type: 'button', class: 'btn btn-ghost danger-text', testid: 'leave-group-button', text: 'Leave group',
    on: { click: () => { confirmRow.hidden = false; leaveBtn.hidden = true; confirmRow.querySelector('button').focus(); } } });
  async function leave() {
    try {
      await api.leave(id);
      store.rememberLeft(id, c && c.title);
      store.removeConversation(id);
      m.close();
      navigate('/');
    } catch (e) {
      showErr(err, describeError(e, 'Could not leave the group'));
    }
  }
  const body = h('div', { class: 'modal-body' },
    h('p', { class: 'modal-sub', text: c && c.title ? c.title : '' }),
    h('div', { class: 'field' }, h('span', { class: 'field-label', text: 'Members' }), list),
    h('div', { class: 'field' }, h('span', { class: 'field-label', text: 'Add member' }), addForm),
    err,
    h('div', { class: 'modal-actions spread' }, leaveBtn, confirmRow));
  const off = store.on('thread', (tid) => { if (tid === id) renderList(); });
  renderList();
  store.loadParticipants(id).catch(() => {});
  const m = modal({ title: 'Group info', testid: 'members-dialog', body, onClose: off });
  picker.input.focus();
}

/** Notification settings: desktop notifications (asks for permission on the click) and an optional sound. */
export function openNotificationSettings(notify) {
  const note = h('p', { class: 'muted-note', testid: 'notify-note' });
  const desktop = h('input', { type: 'checkbox', testid: 'notify-desktop' });
  const sound = h('input', { type: 'checkbox', testid: 'notify-sound' });
  function sync() {
    const s = notify.settings();
    const p = notify.permission();
    desktop.checked = p === 'granted' && s.enabled;
    desktop.disabled = p === 'denied' || p === 'unsupported';
    sound.checked = s.sound;
    note.textContent = p === 'denied' ? 'Notifications are blocked for this site in the browser settings.'
      : p === 'unsupported' ? 'This browser cannot show notifications.'
      : 'Shown while this tab is hidden or another conversation is open.';
  }
  desktop.addEventListener('change', async () => {
    if (desktop.checked && notify.permission() !== 'granted') await notify.requestPermission();
    else notify.saveSettings({ enabled: desktop.checked });
    sync();
  });
  sound.addEventListener('change', () => { notify.saveSettings({ sound: sound.checked }); sync(); });
  const body = h('div', { class: 'modal-body' },
    h('label', { class: 'check-row' }, desktop, h('span', { text: 'Desktop notifications' })),
    h('label', { class: 'check-row' }, sound, h('span', { text: 'Play a sound' })),
    note,
    h('div', { class: 'modal-actions' }, h('button', { type: 'button', class: 'btn btn-primary', testid: 'notify-done', text: 'Done', on: { click: () => m.close() } })));
  sync();
  const m = modal({ title: 'Notifications', testid: 'notifications-dialog', body });
  desktop.focus();
}
