// A thread opened in the middle of its history, around one message (a search hit): `?around=` loads the page,
// newer pages load as the user scrolls down (`hasNewer`), and stream messages are held back until the newest page
// is reached so there is never a gap.
import { api } from '../api.js';
import { state, emit } from './state.js';
import { thread, addMessages, newestId, openThread, loadParticipants, loadHistory, loadPage } from './threads.js';
import { markReadIfVisible } from './reads.js';

let focus = null; // { conversationId, messageId } to show when that conversation's view opens

/** Asks the conversation's view to open at this message (now if it is open, else when it opens). */
export function focusMessage(conversationId, messageId) {
  focus = { conversationId, messageId };
  if (state.openId === conversationId) emit('focus', conversationId);
}

/** The message the view of this conversation should open at, once. */
export function takeFocus(conversationId) {
  if (!focus || focus.conversationId !== conversationId) return null;
  const id = focus.messageId;
  focus = null;
  return id;
}

/** A stream message for a thread that has newer pages still to load: kept aside. Returns whether it is new. */
export function holdNewer(t, m) {
  const isNew = !t.messages.has(m.id) && !t.held.has(m.id);
  t.held.set(m.id, m);
  return isNew;
}

/** Replaces the loaded messages with the page around `messageId` (unless it is already loaded). */
export async function openThreadAround(id, messageId) {
  const t = thread(id);
  if (t.loaded && t.messages.has(messageId)) return t;
  t.loading = true;
  t.error = null;
  emit('thread-loading', id);
  await loadPage(t, async () => {
    const [win] = await Promise.all([
      api.messagesAround(id, messageId),
      t.participantsLoaded ? null : loadParticipants(id).catch(() => {}),
      loadHistory(id).catch(() => {}),
    ]);
    t.messages = new Map();
    t.held = new Map();
    addMessages(t, Array.isArray(win.messages) ? win.messages : []);
    t.hasMore = !!win.before;
    t.hasNewer = !!win.after;
    t.loaded = true;
  });
  emit('thread', id);
  return t;
}

/** The next newer page of a thread opened around a message. Returns the number of messages added. */
export async function loadNewer(id) {
  const t = thread(id);
  if (t.loading || !t.hasNewer || !t.loaded) return 0;
  const after = newestId(t);
  t.loading = true;
  emit('thread-loading', id);
  const added = await loadPage(t, async () => {
    const msgs = await api.messages(id, { after, first: 30 });
    let n = addMessages(t, msgs);
    if (msgs.length < 30) {
      // The newest page: from here on the stream adds messages directly.
      t.hasNewer = false;
      n += addMessages(t, [...t.held.values()]);
      t.held.clear();
      markReadIfVisible();
    }
    return n;
  });
  emit('thread', id);
  return added;
}

/** Leaves a thread opened around a message for the newest page (before sending, or "jump to latest"). */
export async function jumpToLatest(id) {
  const t = thread(id);
  if (!t.hasNewer) return;
  t.messages = new Map();
  t.held = new Map();
  t.hasNewer = false;
  t.hasMore = true;
  t.loaded = false;
  t.loading = false;
  await openThread(id);
}

/** Forgets a pending focus (sign-out). */
export function resetFocus() { focus = null; }
