// Public chat: messages with sender and time; Enter sends. The view follows
// new messages unless the person has scrolled up to read older ones.

import { el, formatClock } from "./ui.js";

const NEAR_BOTTOM_PX = 40;
const MAX_MESSAGES = 500;

/**
 * Wire the chat form and message log. send(text) must return true when the
 * message went out. Returns {addMessage(msg), addNote(text)}.
 */
export function createChat({ logElement, formElement, inputElement, send }) {
  formElement.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = inputElement.value;
    if (!text.trim()) return;
    if (send(text)) inputElement.value = "";
  });

  function isNearBottom() {
    const gap = logElement.scrollHeight - logElement.scrollTop - logElement.clientHeight;
    return gap <= NEAR_BOTTOM_PX;
  }

  function append(item) {
    const follow = isNearBottom();
    logElement.append(item);
    while (logElement.childElementCount > MAX_MESSAGES) logElement.firstElementChild.remove();
    if (follow) logElement.scrollTop = logElement.scrollHeight;
  }

  return {
    /** A `message` from the server: {name, text, date}. */
    addMessage(msg) {
      const item = el("li", { class: "message" });
      const meta = el("div", { class: "meta" });
      meta.append(el("span", { class: "sender" }, String(msg.name ?? "")));
      const date = Number(msg.date) || Date.now();
      meta.append(el("time", { datetime: new Date(date).toISOString() }, formatClock(date)));
      item.append(meta, el("p", { class: "text" }, String(msg.text ?? "")));
      append(item);
    },
    /** A line from chinwag itself ("You are now bob1"). */
    addNote(text) {
      append(el("li", { class: "note" }, text));
    },
  };
}
