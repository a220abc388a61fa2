// What the page keeps across a reload. localStorage (kept until cleared):
// the name and the settings. sessionStorage (this tab only, survives a
// reload, gone when the tab closes): the resume token, the last `seq`, the
// call in progress and the recent chat, so a reload resumes the parked
// session and brings the call back (docs/web-client.md, "Reload").
// Storage can be missing or full (private modes): every access is guarded.

const PREFIX = "chinwag.";

function read(storage, key, fallback) {
  try {
    const raw = storage.getItem(PREFIX + key);
    return raw === null ? fallback : JSON.parse(raw);
  } catch {
    return fallback;
  }
}

function write(storage, key, value) {
  try {
    if (value === null || value === undefined) storage.removeItem(PREFIX + key);
    else storage.setItem(PREFIX + key, JSON.stringify(value));
  } catch {
    // Full or forbidden: the page works on, it just forgets on reload.
  }
}

/** Kept for good: name, ringtone on/off, theme, relay only, notification asked. */
export const saved = {
  get: (key, fallback = null) => read(localStorage, key, fallback),
  set: (key, value) => write(localStorage, key, value),
};

/** Kept for this tab across reloads: resume token, seq, call, chat. */
export const tab = {
  get: (key, fallback = null) => read(sessionStorage, key, fallback),
  set: (key, value) => write(sessionStorage, key, value),
};
