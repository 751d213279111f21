// Relative and absolute time formatting.

export function parseTime(s) {
  const t = Date.parse(s);
  return Number.isFinite(t) ? t : Date.now();
}

const sameDay = (a, b) => a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();

/** Short relative time for the conversation list: "now", "5 min", "3 h", "Yesterday", "Mon", "12 Mar". */
export function relativeTime(iso, now = Date.now()) {
  const t = parseTime(iso);
  const diff = Math.max(0, now - t);
  const min = Math.floor(diff / 60000);
  if (min < 1) return 'now';
  if (min < 60) return `${min} min`;
  const d = new Date(t);
  const n = new Date(now);
  if (min < 60 * 12 || sameDay(d, n)) return `${Math.floor(min / 60)} h`;
  const y = new Date(now); y.setDate(y.getDate() - 1);
  if (sameDay(d, y)) return 'Yesterday';
  if (diff < 6 * 86400000) return d.toLocaleDateString(undefined, { weekday: 'short' });
  if (d.getFullYear() === n.getFullYear()) return d.toLocaleDateString(undefined, { day: 'numeric', month: 'short' });
  return d.toLocaleDateString(undefined, { day: 'numeric', month: 'short', year: 'numeric' });
}

export function clockTime(iso) {
  // 'numeric' hours: "6:16 PM" in en-US, "18:16" where the locale uses 24 hours (no padded "06:16 PM").
  return new Date(parseTime(iso)).toLocaleTimeString(undefined, { hour: 'numeric', minute: '2-digit' });
}

export function fullTime(iso) {
  return new Date(parseTime(iso)).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function dayLabel(iso, now = Date.now()) {
  const d = new Date(parseTime(iso));
  const n = new Date(now);
  if (sameDay(d, n)) return 'Today';
  const y = new Date(now); y.setDate(y.getDate() - 1);
  if (sameDay(d, y)) return 'Yesterday';
  const opts = { weekday: 'long', day: 'numeric', month: 'long' };
  if (d.getFullYear() !== n.getFullYear()) opts.year = 'numeric';
  return d.toLocaleDateString(undefined, opts);
}

export function dayKey(iso) {
  const d = new Date(parseTime(iso));
  return `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
}
