// A small explicit event emitter: `on(event, fn)` returns the function that removes the listener; a listener that
// throws is logged and does not stop the others.
export function createEmitter() {
  const listeners = new Map();
  return {
    on(event, fn) {
      if (!listeners.has(event)) listeners.set(event, new Set());
      listeners.get(event).add(fn);
      return () => listeners.get(event).delete(fn);
    },
    emit(event, payload) {
      for (const fn of listeners.get(event) || []) {
        try { fn(payload); } catch (err) { console.error(err); }
      }
    },
  };
}
