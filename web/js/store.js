// The app's state and every operation on it, one module per concern under store/; this file is the one the rest of
// the app imports. Views subscribe with `on(event, fn)` (see store/state.js for the events).
//
//   store/emitter.js        the small event emitter behind `on` / `emit`
//   store/state.js          the state object, the bus, the signed-in user
//   store/memory.js         drafts and groups left, per user, in localStorage
//   store/conversations.js  the conversation list and the server's unread counts
//   store/threads.js        a conversation's messages (paging back), participants, membership history
//   store/around.js         a thread opened around one message (search), paging forward
//   store/outbox.js         sending, retrying, discarding
//   store/realtime.js       stream events applied to the state
//   store/reads.js          marking the open conversation read
import { state, emit } from './store/state.js';
import { resetList, emitUnread } from './store/conversations.js';
import { resetReads, start as startReads } from './store/reads.js';
import { resetFocus } from './store/around.js';

export { state, on, emit, me } from './store/state.js';
export { getDraft, setDraft, clearStoredDrafts, rememberLeft, leftTitle, forgetLeft } from './store/memory.js';
export {
  reloadList, loadMoreConversations, ensureConversation, addConversation, removeConversation, refreshConversation,
  totalUnread,
} from './store/conversations.js';
export { thread, sortedMessages, openThread, loadOlder, catchUpThread, loadHistory, loadParticipants } from './store/threads.js';
export { focusMessage, takeFocus, openThreadAround, loadNewer, jumpToLatest } from './store/around.js';
export { send, retry, discard, retryFailedAfterReconnect } from './store/outbox.js';
export { receiveMessage, receiveRead, receiveConversationEvent, resync } from './store/realtime.js';
export { markReadIfVisible, setOpen } from './store/reads.js';

/** Starts what the store does on its own (marking read when the page becomes visible); returns its stop. */
export function start() {
  return startReads();
}

/** Forgets everything of the signed-in user (sign-out, or another user signing in). */
export function resetState() {
  resetList();
  state.openId = null;
  state.threads.clear();
  state.drafts = null;
  resetReads();
  resetFocus();
  emit('list');
  emitUnread();
}
