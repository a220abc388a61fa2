// Small DOM helpers shared by the other modules. User text only ever goes in
// through textContent (never innerHTML), so nothing a person types can run.

/** Find an element by id; throws when the page lacks it (a bug, not a user error). */
export function byId(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`missing element #${id}`);
  return element;
}

/** Create an element with attributes and optional text content. */
export function el(tag, attributes = {}, text = "") {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    element.setAttribute(name, value === true ? "" : String(value));
  }
  if (text) element.textContent = text;
  return element;
}

/** Show or hide an element (the hidden attribute, so screen readers agree). */
export function show(element, visible = true) {
  element.hidden = !visible;
}

/** "14:05" for a millisecond timestamp, in the person's locale. */
export function formatClock(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

/** "1:05" or "1:02:03" for a duration in seconds. */
export function formatDuration(totalSeconds) {
  const s = Math.max(0, Math.floor(totalSeconds));
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const seconds = String(s % 60).padStart(2, "0");
  return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${seconds}` : `${minutes}:${seconds}`;
}

/**
 * The call area's one-line notice ("Bob declined", "No answer").
 * kind is "info" or "error"; an empty text clears it.
 */
export function createNotice(element) {
  return {
    say(text, kind = "info") {
      element.textContent = text;
      element.dataset.kind = kind;
      show(element, Boolean(text));
    },
    clear() {
      element.textContent = "";
      show(element, false);
    },
  };
}

/**
 * Ask a question with buttons in a prompt element; resolves to the chosen
 * button's value, or to undefined when `signal` aborts (the call ended).
 * Used for "No camera found: call with audio only?".
 */
export function ask(container, question, choices, signal) {
  return new Promise((resolve) => {
    const close = (value) => {
      container.replaceChildren();
      show(container, false);
      resolve(value);
    };
    container.replaceChildren(el("p", {}, question));
    container.setAttribute("aria-label", question);
    const row = el("div", { class: "buttons" });
    for (const [value, label] of choices) {
      const button = el("button", { type: "button" }, label);
      button.addEventListener("click", () => close(value));
      row.append(button);
    }
    container.append(row);
    show(container, true);
    signal?.addEventListener("abort", () => close(undefined), { once: true });
    row.querySelector("button")?.focus();
  });
}

/** A bounded debug log shown in a <details> panel, newest last. */
export function createDebugLog(list, limit = 200) {
  return (text) => {
    const time = new Date().toISOString().slice(11, 23);
    list.append(el("li", {}, `${time} ${text}`));
    while (list.childElementCount > limit) list.firstElementChild.remove();
  };
}
