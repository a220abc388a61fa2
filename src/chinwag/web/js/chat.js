// Chat: public messages to everyone and private (direct) messages to one
// person; own messages set apart; join and leave lines; a "New messages"
// marker and a jump button when scrolled up; Enter sends, Shift+Enter makes
// a new line. Written while offline, messages wait (a bounded number) and go
// out when the page is signed in again. The last messages survive a reload
// (sessionStorage).
//
// Direct messages travel as a relayed `direct-message` {target, text}; the
// server stamps the sender's `name` (docs/web-client.md, "Chat").

import { linkify } from "./links.js";
import { S } from "./strings.js";
import { tab } from "./store.js";
import { el, formatClock, icon, show } from "./ui.js";

const NEAR_BOTTOM_PX = 40;
const MAX_MESSAGES = 500;
const KEPT_FOR_RELOAD = 100;
const OUTBOX_LIMIT = 20;
const EVERYONE = "";

/**
 * Wire the chat. send(msg) -> boolean sends a socket message when signed in;
 * self() -> our name; visible() -> is the chat panel on screen;
 * onUnread(count) reports unread messages.
 */
export function createChat({ logElement, formElement, inputElement, targetElement, jumpButton, send, self, visible, onUnread }) {
  const outbox = []; // {msg, element}
  let unread = 0;
  let marker = null;
  let history = tab.get("chat", []);

  function isNearBottom() {
    const gap = logElement.scrollHeight - logElement.scrollTop - logElement.clientHeight;
    return gap <= NEAR_BOTTOM_PX;
  }

  function scrollToEnd() {
    logElement.scrollTop = logElement.scrollHeight;
  }

  function setUnread(count) {
    unread = count;
    onUnread(count);
  }

  /** Add an item; a message from someone else counts as unread unless seen now. */
  function append(item, { counts = false } = {}) {
    const follow = isNearBottom();
    const seen = follow && visible() && !document.hidden;
    if (counts && !seen) {
      if (unread === 0) {
        marker?.remove();
        marker = el("li", { class: "new-marker", role: "separator" }, S.newMessages);
        logElement.append(marker);
      }
      setUnread(unread + 1);
    }
    logElement.append(item);
    while (logElement.childElementCount > MAX_MESSAGES) logElement.firstElementChild.remove();
    if (follow) scrollToEnd();
    show(jumpButton, unread > 0 && !isNearBottom());
  }

  function remember(entry) {
    history.push(entry);
    history = history.slice(-KEPT_FOR_RELOAD);
    tab.set("chat", history);
  }

  function messageItem({ name, text, date, direct = null, own = false, pending = false }) {
    const classes = ["message", own && "own", direct && "direct", pending && "pending"].filter(Boolean);
    const item = el("li", { class: classes.join(" ") });
    const meta = el("div", { class: "meta" });
    meta.append(el("span", { class: "sender" }, own ? S.youLabel : name));
    if (direct) {
      const badge = el("span", { class: "private-badge" });
      badge.append(icon("lock"), el("span", {}, own ? S.privateTo(direct) : `${S.privateBadge} · ${S.privateFrom}`));
      meta.append(badge);
    }
    const when = Number(date) || Date.now();
    meta.append(el("time", { datetime: new Date(when).toISOString() }, pending ? S.pending : formatClock(when)));
    const body = el("p", { class: "text" });
    body.append(linkify(String(text)));
    item.append(meta, body);
    return item;
  }

  function render(entry, counts) {
    if (entry.kind === "note") append(el("li", { class: "note", "data-kind": entry.noteKind ?? "info" }, entry.text));
    else append(messageItem(entry), { counts });
  }

  function submit() {
    const text = inputElement.value;
    if (!text.trim()) return;
    const target = targetElement.value || EVERYONE;
    const msg = target
      ? { type: "direct-message", target, text, date: Date.now() }
      : { type: "message", text, date: Date.now() };
    if (send(msg)) {
      if (target) addOwnDirect(target, text, msg.date);
    } else if (outbox.length < OUTBOX_LIMIT) {
      const element = messageItem({ name: self(), text, date: msg.date, direct: target || null, own: true, pending: true });
      append(element);
      outbox.push({ msg, element });
    } else {
      addNote(S.outboxFull, "error");
      return;
    }
    inputElement.value = "";
    fitInput();
  }

  function addOwnDirect(target, text, date) {
    const entry = { kind: "direct", name: self(), text, date, direct: target, own: true };
    render(entry, false);
    remember(entry);
  }

  function addNote(text, noteKind = "info") {
    const entry = { kind: "note", text, noteKind };
    render(entry, false);
    remember(entry);
  }

  // The input grows with its text, up to the limit the stylesheet sets.
  function fitInput() {
    inputElement.style.height = "auto";
    inputElement.style.height = `${inputElement.scrollHeight + 2}px`;
  }

  formElement.addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
  });
  inputElement.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || event.shiftKey || event.isComposing) return;
    event.preventDefault();
    submit();
  });
  inputElement.addEventListener("input", fitInput);
  logElement.addEventListener("scroll", () => {
    if (isNearBottom()) markRead();
  });
  jumpButton.addEventListener("click", () => {
    (marker ?? logElement.lastElementChild)?.scrollIntoView({ block: "start" });
    scrollToEnd();
    markRead();
  });

  function markRead() {
    if (!visible()) return;
    show(jumpButton, false);
    if (unread) setUnread(0);
  }

  for (const entry of history) render(entry, false);

  return {
    /** A public `message` from the server: {name, text, date}. */
    addMessage(msg) {
      const entry = { kind: "message", name: String(msg.name ?? ""), text: String(msg.text ?? ""), date: msg.date };
      entry.own = entry.name === self();
      render(entry, !entry.own);
      remember(entry);
    },
    /** A `direct-message` someone sent us. */
    addDirect(msg) {
      const name = String(msg.name ?? "");
      const entry = { kind: "direct", name, text: String(msg.text ?? ""), date: msg.date, direct: name };
      render(entry, true);
      remember(entry);
    },
    addNote,
    /** The people a private message can go to (everyone online but us). */
    setPeople(names) {
      const keep = targetElement.value;
      const options = [el("option", { value: EVERYONE }, S.everyone)];
      for (const name of names) if (name !== self()) options.push(el("option", { value: name }, S.privateTo(name)));
      targetElement.replaceChildren(...options);
      targetElement.value = names.includes(keep) ? keep : EVERYONE;
    },
    /** Write privately to name next (from the people list). */
    writeTo(name) {
      targetElement.value = name;
      inputElement.focus();
    },
    /** Signed in again: send what was written offline, in order. */
    flush() {
      while (outbox.length) {
        const { msg, element } = outbox[0];
        if (!send(msg)) return;
        outbox.shift();
        element.remove();
        if (msg.type === "direct-message") addOwnDirect(msg.target, msg.text, msg.date);
      }
    },
    /** Online or not: the placeholder says what happens to a message. */
    setOnline(online) {
      inputElement.placeholder = online ? S.writeMessage : S.writeMessageOffline;
    },
    /** The chat became visible: count what is on screen as read. */
    seen() {
      if (isNearBottom() || unread === 0) scrollToEnd();
      markRead();
    },
    /** A private message could not be delivered (no-such-user). */
    notDelivered(target) {
      addNote(S.notDelivered(target), "error");
    },
  };
}
