// One notice system for the whole page: short messages that stack at the top
// and expire ("bob declined", "Call ended · 3:05"), errors that stay a little
// longer, and sticky ones with buttons (the notification offer). Missed calls
// are also kept in a list with a call-back button until dismissed.

import { S } from "./strings.js";
import { byId, el, formatClock, icon, show } from "./ui.js";

const LIFETIME_MS = { info: 6000, success: 6000, error: 12000 };
const MAX_SHOWN = 4;

/**
 * Notices in container. show(text, {kind, timeoutMs, actions: [[label, fn]], key})
 * returns {close()}; a notice with the same key replaces the older one, and
 * one without a key is keyed by its kind and words, so the same words never
 * stack (three refused cameras are one notice, shown afresh).
 * timeoutMs 0 keeps it until closed. Returns {show, clear(key)}.
 */
export function createNotices(container) {
  const byKey = new Map();

  function remove(item) {
    clearTimeout(item.timer);
    item.element.remove();
    if (byKey.get(item.key) === item) byKey.delete(item.key);
  }

  function showNotice(text, { kind = "info", timeoutMs, actions = [], key: given = null } = {}) {
    const key = given ?? `${kind}:${text}`;
    if (byKey.has(key)) remove(byKey.get(key));
    const element = el("div", { class: "notice", "data-kind": kind, role: kind === "error" ? "alert" : "status" });
    element.append(el("p", {}, text));
    const item = { element, key, timer: null };
    const close = () => remove(item);
    for (const [label, run] of actions) {
      const button = el("button", { type: "button", class: "notice-action" }, label);
      button.addEventListener("click", () => {
        close();
        run();
      });
      element.append(button);
    }
    const closeButton = el("button", { type: "button", class: "icon-button notice-close", "aria-label": S.dismiss, title: S.dismiss });
    closeButton.append(icon("close"));
    closeButton.addEventListener("click", close);
    element.append(closeButton);
    container.append(element);
    while (container.childElementCount > MAX_SHOWN) {
      const oldest = container.firstElementChild;
      const held = [...byKey.values()].find((i) => i.element === oldest);
      if (held) remove(held);
      else oldest.remove();
    }
    const lifetime = timeoutMs ?? LIFETIME_MS[kind] ?? LIFETIME_MS.info;
    if (lifetime > 0) item.timer = setTimeout(close, lifetime);
    byKey.set(key, item);
    return { close };
  }

  return {
    show: showNotice,
    clear(key) {
      if (byKey.has(key)) remove(byKey.get(key));
    },
  };
}

/** The "Missed calls" list: name, time, Call back, Dismiss. callBack(name) starts a call. */
export function createMissedCalls({ callBack }) {
  const section = byId("missed");
  const list = byId("missed-list");

  function refresh() {
    show(section, list.childElementCount > 0);
  }

  return {
    add(name, at = Date.now()) {
      list.querySelector(`li[data-name="${CSS.escape(name)}"]`)?.remove();
      const item = el("li", { "data-name": name });
      const who = el("p", { class: "missed-who" });
      who.append(icon("missed"), el("span", {}, name), el("time", { datetime: new Date(at).toISOString() }, formatClock(at)));
      const back = el("button", { type: "button", class: "primary small", "aria-label": S.callBackLabel(name) }, S.callBack);
      back.addEventListener("click", () => {
        item.remove();
        refresh();
        callBack(name);
      });
      const dismiss = el("button", { type: "button", class: "icon-button", "aria-label": S.dismiss, title: S.dismiss });
      dismiss.append(icon("close"));
      dismiss.addEventListener("click", () => {
        item.remove();
        refresh();
      });
      // The two actions stay together: in a narrow panel they wrap below the name as one.
      const actions = el("span", { class: "missed-actions" });
      actions.append(back, dismiss);
      item.append(who, actions);
      list.prepend(item);
      refresh();
    },
  };
}
