// Entry point: bootstraps the session, routes between screens and wires the realtime stream.
import { h, icon } from './dom.js';
import {
  api, getAuth, setAuth, isExpired, setUnauthorizedHandler, onAuthChange, startAuthSync, maybeRefresh, describeError,
} from './api.js';
import * as store from './store.js';
import * as presence from './presence.js';
import * as stream from './stream.js';
import { relativeTime } from './time.js';
import { renderLogin } from './views/login.js';
import { createSidebar, connectionStatus } from './views/list.js';
import { createConversationView, titleFor } from './views/conversation.js';
import { openNewChat, openNewGroup, openMembers, openNotificationSettings } from './views/dialogs.js';
import * as notify from './notify.js';
import { createSearchBox } from './search.js';

const root = document.getElementById('app');
let shell = null;        // { el, sidebar, pane, status }
let chatView = null;     // current conversation view
let signedInAs = null;   // user id the shell was built for

/* ---------------- routing ---------------- */

function parseRoute(path = location.pathname) {
  const m = /^\/c\/([^/]+)\/?$/.exec(path);
  if (m) {
    let id;
    try { id = decodeURIComponent(m[1]); } catch { id = null; }
    if (id && /^[0-9]{1,20}$/.test(id)) return { name: 'conversation', id };
  }
  return { name: 'list' };
}

export function navigate(path, { replace = false } = {}) {
  if (path !== location.pathname) {
    if (replace) history.replaceState(null, '', path);
    else history.pushState(null, '', path);
  }
  route();
}
window.addEventListener('popstate', () => route());

function route() {
  const a = getAuth();
  if (!a || isExpired(a)) {
    if (a) setAuth(null);
    showLogin();
    return;
  }
  if (!shell || signedInAs !== a.user.id) buildShell();
  const r = parseRoute();
  if (r.name === 'conversation') openConversation(r.id);
  else closeConversation();
}

/* ---------------- screens ---------------- */

function showLogin(notice) {
  teardownShell();
  document.title = 'Sign in · Messenger';
  if (location.pathname !== '/') history.replaceState(null, '', '/');
  renderLogin(root, {
    notice,
    onSignedIn: (out) => {
      setAuth({ token: out.token, expiresAt: out.expiresAt, user: out.authUser });
      navigate('/', { replace: true });
    },
  });
}

function teardownShell() {
  stream.stop();
  if (chatView) { chatView.destroy(); chatView = null; }
  if (shell) { shell.sidebar.destroy(); shell.off.forEach((f) => f()); shell = null; }
  signedInAs = null;
  store.resetState();
  presence.reset();
  document.querySelectorAll('dialog').forEach((d) => d.close());
}

function buildShell() {
  teardownShell();
  const a = getAuth();
  signedInAs = a.user.id;
  const notifyBar = notificationBar();
  const search = createSearchBox({ navigate });
  const sidebar = createSidebar({
    searchBox: search.el,
    navigate,
    onNewChat: () => openNewChat({ navigate }),
    onNewGroup: () => openNewGroup({ navigate }),
    onLogout: logout,
    onNotifications: () => openNotificationSettings(notify),
    notifyBar: notifyBar.el,
  });
  const pane = h('main', { class: 'pane', testid: 'conversation-pane' });
  const status = connectionStatus();
  const el = h('div', { class: 'shell', testid: 'app-shell', dataset: { view: 'list' } }, sidebar.el, pane, status.el);
  root.replaceChildren(el);
  const off = [
    store.on('stream', status.update),
    store.on('unread', () => { document.title = titleFor(); }),
    store.on('left', (id) => { if (store.state.openId === id) navigate('/', { replace: true }); }),
    store.on('notify-settings', notifyBar.update),
    notify.init({ navigate }),
    search.destroy,
    store.start(),
  ];
  shell = { el, sidebar, pane, status, off };
  status.update();
  // Stream first, then the list: whatever happens in between arrives on the stream.
  stream.start();
  store.reloadList();
  // Confirm the session is still valid (a 401 sends us back to sign-in) and refresh the user.
  api.authUser().then((u) => {
    const cur = getAuth();
    if (cur && u && u.id === cur.user.id) setAuth({ ...cur, user: u });
  }).catch(() => {});
  maybeRefresh().catch(() => {});
}

/** "Enable notifications": shown until the user decides (the permission prompt needs this click). */
function notificationBar() {
  const el = h('div', { class: 'notify-bar', testid: 'notify-bar', attrs: { role: 'region', 'aria-label': 'Notifications' } },
    h('span', { text: 'Notifications are off' }),
    h('button', { type: 'button', class: 'btn btn-primary', testid: 'enable-notifications', text: 'Enable notifications',
      on: { click: async () => { await notify.requestPermission(); update(); } } }),
    h('button', { type: 'button', class: 'icon-btn', testid: 'dismiss-notifications', title: 'Not now', attrs: { 'aria-label': 'Not now' },
      on: { click: () => { notify.saveSettings({ dismissed: true }); update(); } } }, icon('close', 18)));
  function update() {
    el.hidden = !(notify.permission() === 'default' && !notify.settings().dismissed);
  }
  update();
  return { el, update };
}

function emptyPane() {
  return h('div', { class: 'pane-empty', testid: 'no-conversation' },
    h('div', { class: 'pane-empty-icon' }, icon('chat', 40)),
    h('h2', { text: 'Your messages' }),
    h('p', { text: 'Pick a conversation on the left, or start a new one.' }),
    h('div', { class: 'pane-empty-actions' },
      h('button', { type: 'button', class: 'btn btn-primary', text: 'New conversation', on: { click: () => openNewChat({ navigate }) } }),
      h('button', { type: 'button', class: 'btn btn-secondary', text: 'New group', on: { click: () => openNewGroup({ navigate }) } })));
}

let listScrollTop = 0;

function closeConversation() {
  if (chatView) { chatView.destroy(); chatView = null; }
  const wasConversation = shell.el.dataset.view === 'conversation';
  store.setOpen(null);
  shell.pane.replaceChildren(emptyPane());
  shell.el.dataset.view = 'list';
  // On phones the list was hidden while the conversation was shown: put it back where it was.
  if (wasConversation && window.matchMedia('(max-width: 760px)').matches) shell.sidebar.scroller.scrollTop = listScrollTop;
  store.emit('list');
  document.title = titleFor();
}

async function openConversation(id) {
  if (chatView && store.state.openId === id) return;
  if (chatView) { chatView.destroy(); chatView = null; }
  if (shell.el.dataset.view === 'list') listScrollTop = shell.sidebar.scroller.scrollTop;
  store.setOpen(id);
  shell.el.dataset.view = 'conversation';
  store.emit('list');
  try {
    await store.ensureConversation(id);
  } catch (err) {
    if (store.state.openId !== id) return;
    const left = store.leftTitle(id);
    const heading = left !== null ? 'You left this group' : 'Conversation not found';
    const text = left !== null
      ? `You are no longer a member of ${left ? `“${left}”` : 'this group'}, so its messages are not shown here.`
      : describeError(err, 'It may have been removed, or you are no longer a member.');
    shell.pane.replaceChildren(h('div', { class: 'pane-empty', testid: 'conversation-missing', dataset: { reason: left !== null ? 'left' : 'missing' } },
      h('h2', { text: heading }),
      h('p', { text }),
      h('button', { type: 'button', class: 'btn btn-secondary', text: 'Back to conversations', on: { click: () => navigate('/') } })));
    return;
  }
  if (store.state.openId !== id || !shell) return;
  chatView = createConversationView(id, {
    onBack: () => navigate('/'),
    onMembers: (cid) => openMembers(cid, { navigate }),
  });
  shell.pane.replaceChildren(chatView.el);
  if (window.matchMedia('(hover: hover)').matches || !('ontouchstart' in window)) chatView.focus();
  document.title = titleFor();
}

async function logout() {
  try { await api.logout(); } catch { /* the token dies with the local session anyway */ }
  store.clearStoredDrafts();
  setAuth(null);
  showLogin();
}

/* ---------------- global wiring ---------------- */

setUnauthorizedHandler((msg) => showLogin(msg));
onAuthChange((a) => {
  // Another tab signed out or switched user.
  if (!a && shell) showLogin();
  else if (a && shell && signedInAs !== a.user.id) route();
  else if (a && shell) stream.reopenWithNewToken();
});
// For the app's whole life, the sign-in screen included: a session another tab starts is the one a reload here uses.
startAuthSync();

// Keep relative times fresh.
setInterval(() => {
  for (const el of document.querySelectorAll('time.rel-time[data-time]')) {
    const txt = relativeTime(el.dataset.time);
    if (el.textContent !== txt) el.textContent = txt;
  }
}, 30000);

// Escape in a conversation goes back to the list on narrow screens.
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && shell && store.state.openId && !document.querySelector('dialog[open]') && window.matchMedia('(max-width: 760px)').matches) {
    navigate('/');
  }
});

async function boot() {
  try {
    const cfg = await api.config();
    if (cfg && typeof cfg === 'object') Object.assign(store.state.config, cfg);
  } catch { /* defaults */ }
  route();
}

boot();
