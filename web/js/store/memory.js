// Per-user memory in localStorage: composer drafts and the groups this user left here.
import { state, me } from './state.js';

function userKey(name) { const u = me(); return u ? `messenger.${name}.${u.id}` : null; }
function loadJSON(name) {
  const k = userKey(name);
  if (!k) return {};
  try { const v = JSON.parse(localStorage.getItem(k) || '{}'); return v && typeof v === 'object' ? v : {}; } catch { return {}; }
}
function saveJSON(name, value) {
  const k = userKey(name);
  if (!k) return;
  try {
    if (Object.keys(value).length) localStorage.setItem(k, JSON.stringify(value));
    else localStorage.removeItem(k);
  } catch { /* storage full or unavailable: keep it in memory only */ }
}

function drafts() {
  if (!state.drafts) state.drafts = new Map(Object.entries(loadJSON('drafts')).filter(([, v]) => typeof v === 'string'));
  return state.drafts;
}
/** The unsent text of a conversation's composer (survives a reload). */
export function getDraft(id) { return drafts().get(id) || ''; }
export function setDraft(id, text) {
  const d = drafts();
  if ((d.get(id) || '') === text) return;
  if (text) d.set(id, text); else d.delete(id);
  // Other tabs write their drafts too: merge into what is stored rather than overwrite it.
  const stored = loadJSON('drafts');
  if (text) stored[id] = text; else delete stored[id];
  saveJSON('drafts', stored);
}
/** Forget this user's stored drafts (on sign-out). */
export function clearStoredDrafts() { saveJSON('drafts', {}); state.drafts = null; }

/** Groups this user left here, by id, with their title: a later visit says "you left", not "not found". */
export function rememberLeft(id, title) {
  const left = loadJSON('left');
  left[id] = String(title || '');
  const ids = Object.keys(left);
  if (ids.length > 200) delete left[ids[0]];
  saveJSON('left', left);
}
export function leftTitle(id) {
  const left = loadJSON('left');
  return Object.prototype.hasOwnProperty.call(left, id) ? left[id] : null;
}
export function forgetLeft(id) {
  const left = loadJSON('left');
  if (Object.prototype.hasOwnProperty.call(left, id)) { delete left[id]; saveJSON('left', left); }
}
