// Keyboard shortcuts, listed in the help dialog (S.shortcutList).
// Single keys (M, V, S, F, C, P, ?) act only when the focus is not in a text
// field, so typing never mutes anyone. Accept, decline and hang up need
// Alt+Shift and a letter: hard to press by accident, and they work from
// anywhere, the chat box included. Nothing here ever moves the focus into a
// call prompt: a ringing call does not steal the keyboard.

import { S } from "./strings.js";
import { byId, el, typingIn } from "./ui.js";

/**
 * actions: {accept, decline, hangUp, mute, camera, share, fullscreen, chat,
 * people, help}; each is a function. inCall() says whether call keys apply.
 */
export function createShortcuts(actions, inCall) {
  const withModifiers = { KeyA: actions.accept, KeyD: actions.decline, KeyH: actions.hangUp };
  const single = {
    m: [actions.mute, true],
    v: [actions.camera, true],
    s: [actions.share, true],
    f: [actions.fullscreen, true],
    c: [actions.chat, false],
    p: [actions.people, false],
    "?": [actions.help, false],
  };

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.repeat) return;
    if (event.altKey && event.shiftKey && !event.ctrlKey && !event.metaKey && withModifiers[event.code]) {
      event.preventDefault();
      withModifiers[event.code]();
      return;
    }
    if (event.altKey || event.ctrlKey || event.metaKey || typingIn(event.target)) return;
    if (document.querySelector("dialog[open]")) return;
    const entry = single[event.key.toLowerCase()] ?? single[event.key];
    if (!entry) return;
    const [run, needsCall] = entry;
    if (needsCall && !inCall()) return;
    event.preventDefault();
    run();
  });

  const rows = byId("shortcut-rows");
  for (const [keys, action] of S.shortcutList) {
    const row = el("tr");
    const cell = el("td");
    keys.split("+").forEach((key, i) => {
      if (i) cell.append("+");
      cell.append(el("kbd", {}, key));
    });
    row.append(cell, el("td", {}, action));
    rows.append(row);
  }
}
