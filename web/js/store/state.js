// The app's state object and its event bus, shared by the store's modules and read by the views.
//
// Events: `list` (conversation list changed), `unread` (total unread, a number), `thread` / `thread-loading` /
// `thread-older` (a conversation's messages), `sent`, `open`, `focus`, `left`, `incoming` (someone else's new
// message), plus `stream`, `presence`, `typing`, `notify-settings` emitted by the modules that own them.
import { getAuth } from '../api.js';
import { createEmitter } from './emitter.js';

export const bus = createEmitter();
export const on = bus.on;
export const emit = bus.emit;

export const state = {
  config: { devLogin: false, maxMessageLength: 480, maxGroupSize: 1000, editWindowSeconds: 48 * 3600 },
  convs: new Map(),       // id -> Conversation
  order: [],              // conversation ids, most recent activity first
  listHasMore: true,
  listLoading: false,
  listLoaded: false,
  listError: null,
  openId: null,
  threads: new Map(),     // conversation id -> Thread
  drafts: null,           // conversation id -> unsent composer text (kept in localStorage per user)
  stream: 'idle',         // idle | connecting | open | down | closed (ended by the server; no reconnect)
  streamClosedReason: null,
};

export function me() { const a = getAuth(); return a ? a.user : null; }

export function pageVisible() { return document.visibilityState === 'visible'; }
