// Safe DOM helpers. User-provided text only ever reaches the page through
// textContent / createTextNode / validated attributes — never innerHTML.

/**
 * Create an element. `props` keys: class, text, testid, attrs (object), on (object of listeners),
 * dataset (object), or any DOM property (hidden, type, disabled, value, title, ...).
 * Children may be nodes, strings (inserted as text) or null/false (skipped).
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    switch (key) {
      case 'class': el.className = value; break;
      case 'text': el.textContent = String(value); break;
      case 'testid': el.setAttribute('data-testid', value); break;
      case 'attrs': for (const [a, v] of Object.entries(value)) if (v !== undefined && v !== null && v !== false) el.setAttribute(a, String(v)); break;
      case 'dataset': for (const [a, v] of Object.entries(value)) if (v !== undefined && v !== null) el.dataset[a] = String(v); break;
      case 'on': for (const [ev, fn] of Object.entries(value)) el.addEventListener(ev, fn); break;
      default: el[key] = value;
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** An inline SVG icon from a fixed, trusted set (no user data involved). */
const ICONS = {
  send: 'M3.4 20.4 21 12 3.4 3.6 3.4 10.1 15 12 3.4 13.9z',
  back: 'M15.4 4.6 14 3.2 5.2 12l8.8 8.8 1.4-1.4L8 12z',
  edit: 'M3 17.25V21h3.75L17.8 9.94l-3.75-3.75L3 17.25zM20.7 7.04a1 1 0 0 0 0-1.41l-2.34-2.34a1 1 0 0 0-1.41 0l-1.83 1.83 3.75 3.75 1.83-1.83z',
  group: 'M16 11c1.66 0 2.99-1.34 2.99-3S17.66 5 16 5s-3 1.34-3 3 1.34 3 3 3zm-8 0c1.66 0 2.99-1.34 2.99-3S9.66 5 8 5 5 6.34 5 8s1.34 3 3 3zm0 2c-2.33 0-7 1.17-7 3.5V19h14v-2.5C15 14.17 10.33 13 8 13zm8 0c-.29 0-.62.02-.97.05 1.16.84 1.97 1.97 1.97 3.45V19h6v-2.5c0-2.33-4.67-3.5-7-3.5z',
  logout: 'M10.1 15.6 11.5 17l5-5-5-5-1.4 1.4 2.6 2.6H3v2h9.7l-2.6 2.6zM19 3H5a2 2 0 0 0-2 2v4h2V5h14v14H5v-4H3v4a2 2 0 0 0 2 2h14a2 2 0 0 0 2-2V5a2 2 0 0 0-2-2z',
  info: 'M11 7h2v2h-2zm0 4h2v6h-2zm1-9C6.48 2 2 6.48 2 12s4.48 10 10 10 10-4.48 10-10S17.52 2 12 2zm0 18c-4.41 0-8-3.59-8-8s3.59-8 8-8 8 3.59 8 8-3.59 8-8 8z',
  bell: 'M12 22c1.1 0 2-.9 2-2h-4a2 2 0 0 0 2 2zm6-6v-5c0-3.07-1.64-5.64-4.5-6.32V4a1.5 1.5 0 0 0-3 0v.68C7.63 5.36 6 7.92 6 11v5l-2 2v1h16v-1l-2-2z',
  close: 'M19 6.4 17.6 5 12 10.6 6.4 5 5 6.4 10.6 12 5 17.6 6.4 19 12 13.4 17.6 19 19 17.6 13.4 12z',
  chat: 'M20 2H4a2 2 0 0 0-2 2v18l4-4h14a2 2 0 0 0 2-2V4a2 2 0 0 0-2-2zm0 14H5.17L4 17.17V4h16v12z',
  retry: 'M17.65 6.35A7.96 7.96 0 0 0 12 4a8 8 0 1 0 7.73 10h-2.08A6 6 0 1 1 12 6c1.66 0 3.14.69 4.22 1.78L13 11h7V4l-2.35 2.35z',
  addUser: 'M15 12c2.21 0 4-1.79 4-4s-1.79-4-4-4-4 1.79-4 4 1.79 4 4 4zm-9-2V7H4v3H1v2h3v3h2v-3h3v-2H6zm9 4c-2.67 0-8 1.34-8 4v2h16v-2c0-2.66-5.33-4-8-4z',
};
export function icon(name, size = 22) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', String(size));
  svg.setAttribute('height', String(size));
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', ICONS[name] || '');
  path.setAttribute('fill', 'currentColor');
  svg.append(path);
  return svg;
}

/** Returns the URL string when it parses as an absolute http(s) URL, else null. Never throws. */
export function safeHttpUrl(value) {
  if (typeof value !== 'string' || value.length === 0 || value.length > 2048) return null;
  try {
    const url = new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
    return url.href;
  } catch {
    return null;
  }
}

// Absolute http(s) URLs, and bare "www." hosts (linked as https://).
const URL_RE = /\bhttps?:\/\/[^\s<>"'`]+|(?<![\w@.\/-])www\.[a-z0-9-]+(?:\.[a-z0-9-]+)+(?:[/?#][^\s<>"'`]*)?/gi;
const TRAILING = /[.,;:!?)\]}'"]+$/;

/**
 * Content as a fragment of text nodes and <a> elements. Links are only made for absolute
 * http(s) URLs; the visible text is the raw text (no decoding, so malformed % escapes are harmless).
 */
export function linkify(text) {
  const frag = document.createDocumentFragment();
  const s = String(text ?? '');
  let last = 0;
  URL_RE.lastIndex = 0;
  let m;
  while ((m = URL_RE.exec(s)) !== null) {
    let raw = m[0];
    // Keep closing punctuation that is likely part of the sentence out of the link,
    // but keep a ')' when the URL has a matching '('.
    const trail = raw.match(TRAILING);
    if (trail) {
      let cut = trail[0];
      if (cut.startsWith(')') && raw.slice(0, -cut.length).includes('(')) cut = cut.slice(1);
      if (cut.length) raw = raw.slice(0, raw.length - cut.length);
    }
    const start = m.index;
    const href = safeHttpUrl(/^www\./i.test(raw) ? `https://${raw}` : raw);
    if (!href) continue;
    if (start > last) frag.append(document.createTextNode(s.slice(last, start)));
    const a = document.createElement('a');
    a.href = href;
    a.textContent = raw;
    a.target = '_blank';
    a.rel = 'noopener noreferrer nofollow';
    a.setAttribute('data-testid', 'message-link');
    frag.append(a);
    last = start + raw.length;
    URL_RE.lastIndex = last;
  }
  if (last < s.length) frag.append(document.createTextNode(s.slice(last)));
  return frag;
}

// Twelve clearly different colours, each with white initials at 4.9:1 or more (WCAG AA for small text).
const AVATAR_COLOURS = ['#c2410c', '#b91c1c', '#be185d', '#a21caf', '#7e22ce', '#4338ca',
  '#1d4ed8', '#0369a1', '#0f766e', '#15803d', '#4d7c0f', '#a16207'];

/** FNV-1a: similar names ("ana_1", "ana_2") land far apart, unlike a plain multiply-and-add hash. */
function hashName(s) {
  let x = 0x811c9dc5;
  for (const ch of String(s)) { x ^= ch.codePointAt(0); x = Math.imul(x, 0x01000193) >>> 0; }
  return x;
}

/** First visible character (emoji/astral safe), upper-cased. */
export function initialOf(name) {
  const s = String(name ?? '').trim();
  if (!s) return '?';
  const first = Array.from(s)[0];
  return first.toLocaleUpperCase();
}

/** Avatar: an <img> for a safe http(s) avatar URL, else a coloured circle with the initial. */
export function avatar({ name, url, size = 44, group = false }) {
  const colour = AVATAR_COLOURS[hashName(name || '?') % AVATAR_COLOURS.length];
  const wrap = h('span', {
    class: 'avatar' + (group ? ' avatar-group' : ''),
    testid: 'avatar',
    attrs: { 'aria-hidden': 'true' },
  });
  wrap.style.setProperty('--size', size + 'px');
  wrap.style.setProperty('--avatar-bg', colour);
  const letter = h('span', { class: 'avatar-initial', text: initialOf(name) });
  wrap.append(letter);
  const safe = safeHttpUrl(url);
  if (safe) {
    const img = document.createElement('img');
    img.alt = '';
    img.loading = 'lazy';
    img.referrerPolicy = 'no-referrer';
    img.addEventListener('error', () => img.remove());
    img.src = safe;
    wrap.append(img);
  }
  return wrap;
}

/** Numeric comparison of id strings (ids are decimal strings of any length). */
export function cmpId(a, b) {
  a = String(a); b = String(b);
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Decodes a %-escaped string without ever throwing. */
export function safeDecode(s) {
  try { return decodeURIComponent(s); } catch { return s; }
}

/**
 * Makes `parent`'s children exactly `nodes`, in that order, moving as few as possible (rows whose element is reused
 * keep their state), and gives the focus back to the element that had it if a move took it away.
 */
export function placeInOrder(parent, nodes) {
  const focused = document.activeElement;
  let cursor = parent.firstChild;
  for (const node of nodes) {
    if (node === cursor) { cursor = cursor.nextSibling; continue; }
    parent.insertBefore(node, cursor);
  }
  while (cursor) { const next = cursor.nextSibling; cursor.remove(); cursor = next; }
  if (focused && focused !== document.activeElement && focused.isConnected) focused.focus({ preventScroll: true });
}
