// The outbox: messages being sent. Each gets a clientId; the optimistic copy is replaced by the server's copy (from
// the POST answer or the stream, whichever comes first), and a retry reuses the clientId so it is never doubled.
import { api, ApiError } from '../api.js';
import { state, emit } from './state.js';
import { thread, addMessages } from './threads.js';
import { bumpConversation } from './conversations.js';

function makeClientId() {
  try {
    if (crypto.randomUUID) return 'c-' + crypto.randomUUID();
  } catch { /* insecure context */ }
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return 'c-' + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

export function send(id, content) {
  const t = thread(id);
  const p = { clientId: makeClientId(), content, status: 'sending', error: null, createdAt: new Date().toISOString(), conversationId: id };
  t.pending.set(p.clientId, p);
  emit('thread', id);
  emit('sent', id);
  deliver(id, p);
  return p.clientId;
}

export function retry(id, clientId) {
  const t = thread(id);
  const p = t.pending.get(clientId);
  if (!p || p.status === 'sending') return;
  p.status = 'sending';
  p.error = null;
  emit('thread', id);
  deliver(id, p);
}

export function discard(id, clientId) {
  const t = thread(id);
  t.pending.delete(clientId);
  emit('thread', id);
}

async function deliver(id, p) {
  const t = thread(id);
  try {
    const m = await api.send(id, p.content, p.clientId);
    addMessages(t, [m]);
    t.pending.delete(p.clientId);
    bumpConversation(m);
  } catch (err) {
    if (!t.pending.has(p.clientId)) return; // reconciled by the stream meanwhile
    p.status = 'failed';
    p.error = err instanceof ApiError ? err : new ApiError(0, null, 'failed');
  }
  emit('thread', id);
}

/**
 * The connection came back: every message that failed because the server could not be reached is sent again,
 * once, with its clientId (the server answers a repeated clientId with the original, so nothing is doubled).
 */
export function retryFailedAfterReconnect() {
  for (const t of state.threads.values()) {
    for (const p of t.pending.values()) {
      if (p.status !== 'failed' || p.autoRetried || !p.error || p.error.status !== 0) continue;
      p.autoRetried = true;
      retry(t.id, p.clientId);
    }
  }
}
