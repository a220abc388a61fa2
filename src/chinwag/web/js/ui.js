// Small DOM helpers shared by the other modules. User text only ever goes in
// through textContent (never innerHTML), so nothing a person types can run.

const SVG = "http://www.w3.org/2000/svg";

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

/** An inline icon from the page's sprite (index.html), hidden from screen readers. */
export function icon(name) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", "icon");
  svg.setAttribute("aria-hidden", "true");
  const use = document.createElementNS(SVG, "use");
  use.setAttribute("href", `#i-${name}`);
  svg.append(use);
  return svg;
}

/** Point the first icon inside element at another sprite symbol. */
export function setIcon(element, name) {
  element.querySelector("svg.icon use")?.setAttribute("href", `#i-${name}`);
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

/** The first letter of a name, for an avatar circle. */
export function initial(name) {
  return [...String(name).trim()][0]?.toUpperCase() ?? "?";
}

/** How many avatar colours style.css defines (.avatar[data-colour="0"] ... "7"). */
export const AVATAR_COLOURS = 8;

/**
 * A colour number for a name, the same on every page and every visit (a
 * 32-bit FNV-1a hash of its code points), so Bob and Bob1 look different.
 */
export function avatarColour(name) {
  let hash = 0x811c9dc5;
  for (const char of String(name)) {
    hash ^= char.codePointAt(0);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % AVATAR_COLOURS;
}

/** Make `element` the avatar of `name`: its initial on its colour. */
export function paintAvatar(element, name) {
  element.textContent = initial(name);
  element.dataset.colour = String(avatarColour(name));
  return element;
}

/** Is the keyboard focus in a place that takes typing (so single-key shortcuts must not fire)? */
export function typingIn(target) {
  if (!(target instanceof Element)) return false;
  if (target.isContentEditable) return true;
  if (target.tagName === "TEXTAREA" || target.tagName === "SELECT") return true;
  if (target.tagName !== "INPUT") return false;
  return !["checkbox", "radio", "button", "submit", "range"].includes(target.type);
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
      const button = el("button", { type: "button", class: value ? "primary" : "" }, label);
      button.addEventListener("click", () => close(value));
      row.append(button);
    }
    container.append(row);
    show(container, true);
    signal?.addEventListener("abort", () => close(undefined), { once: true });
    // The person started this (a call or an accept), so focus may move here.
    row.querySelector("button")?.focus();
  });
}

/** A bounded debug log (Settings > Diagnostics), newest last; also to the console. */
export function createDebugLog(list, limit = 300) {
  return (text) => {
    const time = new Date().toISOString().slice(11, 23);
    list.append(el("li", {}, `${time} ${text}`));
    while (list.childElementCount > limit) list.firstElementChild.remove();
  };
}
