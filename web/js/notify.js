// Desktop notifications (Notification API) for messages that arrive while the user looks elsewhere.
//
// Permission is asked only from a click on a visible control (browsers ignore or penalise prompts without a user
// gesture). One notification per conversation: its `tag` makes a newer one replace the older, with the count of
// messages since the user last looked. Only the tab holding the browser's stream (the leader) notifies, so several
// tabs never notify twice; it skips a conversation that any visible tab of this browser has open (kept in
// localStorage under `messenger.focus`). Clicking a notification focuses the tab and opens the conversation.
import * as store from './store.js';
import * as stream from './stream.js';
import { conversationTitle } from './views/list.js';

const SETTINGS_KEY = 'messenger.notify';
const FOCUS_KEY = 'messenger.focus';
const tabId = Math.random().toString(36).slice(2);
const counts = new Map(); // conversation id -> messages notified since the user last looked at it
const shown = new Map();  // conversation id -> Notification

export function supported() { return typeof window.Notification === 'function'; }
export function permission() { return supported() ? window.Notification.permission : 'unsupported'; }

export function settings() {
  try {
    const v = JSON.parse(localStorage.getItem(SETTINGS_KEY) || '{}');
    return { enabled: v.enabled !== false, sound: v.sound === true, dismissed: v.dismissed === true };
  } catch {
    return { enabled: true, sound: false, dismissed: false };
  }
}
export function saveSettings(next) {
  try { localStorage.setItem(SETTINGS_KEY, JSON.stringify({ ...settings(), ...next })); } catch { /* memory only */ }
  store.emit('notify-settings');
}

/** Must run inside a click handler: asks the browser for permission. */
export async function requestPermission() {
  if (!supported()) return 'unsupported';
  let p;
  try { p = await window.Notification.requestPermission(); } catch { p = window.Notification.permission; }
  if (p === 'granted') saveSettings({ enabled: true });
  store.emit('notify-settings');
  return p;
}

function visible() { return document.visibilityState === 'visible'; }

/** Tell the other tabs which conversation this tab shows (only while it is visible). */
function publishFocus() {
  try {
    const cur = JSON.parse(localStorage.getItem(FOCUS_KEY) || 'null');
    if (visible() && store.state.openId) {
      localStorage.setItem(FOCUS_KEY, JSON.stringify({ tab: tabId, id: store.state.openId }));
    } else if (cur && cur.tab === tabId) {
      localStorage.removeItem(FOCUS_KEY);
    }
  } catch { /* storage unavailable */ }
  if (visible() && store.state.openId) clear(store.state.openId);
}

function focusedElsewhere(conversationId) {
  if (visible() && store.state.openId === conversationId) return true;
  try {
    const cur = JSON.parse(localStorage.getItem(FOCUS_KEY) || 'null');
    return !!(cur && cur.tab !== tabId && cur.id === conversationId);
  } catch { return false; }
}

function clear(conversationId) {
  counts.delete(conversationId);
  const n = shown.get(conversationId);
  if (n) { try { n.close(); } catch { /* already gone */ } shown.delete(conversationId); }
}

let audio = null;
function beep() {
  try {
    audio = audio || new (window.AudioContext || window.webkitAudioContext)();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.0001, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.15, audio.currentTime + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.25);
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.3);
  } catch { /* no audio: silent */ }
}

function onIncoming(m, navigate) {
  const s = settings();
  if (!s.enabled || permission() !== 'granted' || !stream.isLeader()) return;
  const cid = m.conversationId;
  if (focusedElsewhere(cid)) return;
  const n = (counts.get(cid) || 0) + 1;
  counts.set(cid, n);
  const c = store.state.convs.get(cid);
  const sender = (m.user && m.user.username) || 'Someone';
  const title = c ? conversationTitle(c) : sender;
  const line = c && c.isGroup ? `${sender}: ${m.content}` : m.content;
  const body = n > 1 ? `${n} new messages\n${line}` : line;
  let note;
  try {
    const N = window.Notification;
    note = new N(title, { body: body.slice(0, 300), tag: `conversation-${cid}`, renotify: true, data: { conversationId: cid } });
  } catch { return; }
  shown.set(cid, note);
  note.onclick = () => {
    try { window.focus(); } catch { /* not allowed */ }
    navigate(`/c/${encodeURIComponent(cid)}`);
    clear(cid);
  };
  note.onclose = () => { if (shown.get(cid) === note) shown.delete(cid); };
  if (s.sound) beep();
}

/** Wires notifications to the store; returns a function that unwires them. */
export function init({ navigate }) {
  const offs = [
    store.on('incoming', (m) => onIncoming(m, navigate)),
    store.on('open', publishFocus),
  ];
  document.addEventListener('visibilitychange', publishFocus);
  window.addEventListener('pagehide', publishFocus);
  return () => {
    offs.forEach((f) => f());
    document.removeEventListener('visibilitychange', publishFocus);
    window.removeEventListener('pagehide', publishFocus);
    for (const id of [...shown.keys()]) clear(id);
  };
}
