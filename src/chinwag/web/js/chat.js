// Chat: public messages to everyone and private (direct) messages to one
// person; own messages set apart; join and leave lines; a "New messages"
// marker and a jump button when scrolled up; Enter sends, Shift+Enter makes
// a new line. Written while offline, messages wait (a bounded number) and go
// out when the page is signed in again. Where the server keeps history
// (the `history` feature) earlier lines come from it (history.js); where it
// does not, the last lines survive a reload in sessionStorage.
//
// Direct messages travel as a relayed `direct-message` {target, text}; the
// server stamps the sender's `name` (docs/web-client.md, "Chat").

import { createHistory, lineKey } from "./history.js";
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
  let kept = tab.get("chat", []); // the sessionStorage fallback
  let restored = []; // what a reload restored from it, until the server's history replaces it

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
    // Trim the oldest only while following the end: someone reading older pages keeps them.
    while (follow && logElement.childElementCount > MAX_MESSAGES) {
      const top = logElement.firstElementChild === history.edge ? history.edge.nextElementSibling : logElement.firstElementChild;
      top.remove();
      history.trimmed();
    }
    if (follow) scrollToEnd();
    show(jumpButton, unread > 0 && !isNearBottom());
  }

  function remember(entry) {
    if (history.enabled()) return;
    kept.push(entry);
    kept = kept.slice(-KEPT_FOR_RELOAD);
    tab.set("chat", kept);
  }

  function messageItem({ name, text, date, direct = null, own = false, pending = false, id = null }) {
    const classes = ["message", own && "own", direct && "direct", pending && "pending"].filter(Boolean);
    // Public lines carry their identity, so a line is never shown twice (history.js).
    const key = direct || pending ? null : lineKey(name, date, text);
    const item = el("li", { class: classes.join(" "), "data-key": key, "data-date": key && date, "data-line-id": id });
    const meta = el("div", { class: "meta" });
    // A private line names both ends: "You · Privately to bob", "Private from bob".
    if (!direct || own) meta.append(el("span", { class: "sender" }, own ? S.youLabel : name));
    if (direct) {
      const badge = el("span", { class: "private-badge" });
      badge.append(icon("lock"), el("span", { class: own ? "" : "sender" }, own ? S.privateTo(direct) : S.privateFrom(name)));
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
    const item = entry.kind === "note" ? el("li", { class: "note", "data-kind": entry.noteKind ?? "info" }, entry.text) : messageItem(entry);
    append(item, { counts: counts && entry.kind !== "note" });
    return item;
  }

  const history = createHistory({
    logElement,
    send,
    lineItem: (line) => messageItem({ ...line, own: line.name === self() }),
    clear() {
      logElement.replaceChildren();
      marker = null;
      show(jumpButton, false);
      if (unread) setUnread(0);
    },
  });

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
    // A private message is one message: the next goes to everyone unless chosen again.
    targetElement.value = EVERYONE;
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

  restored = kept.map((entry) => render(entry, false));

  return {
    /** A public `message` from the server: {name, text, date}. */
    addMessage(msg) {
      if (history.otherRoom(msg.room)) return;
      const entry = { kind: "message", name: String(msg.name ?? ""), text: String(msg.text ?? ""), date: msg.date };
      // History may have brought this line already (said just as we joined, or replayed on resume).
      if (history.enabled() && history.shown(lineKey(entry.name, entry.date, entry.text))) return;
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
    /** Another kind of item (a file card, filecards.js); counts as unread when it is someone else's. */
    addItem: (item, counts) => append(item, { counts }),
    /** The private target chosen now ("" for everyone in the room). */
    target: () => targetElement.value || EVERYONE,
    /**
     * Signed in with the server's features: with `history` the server's lines
     * replace what sessionStorage restored, and nothing more is kept there.
     */
    signedIn({ features, resumed }) {
      const granted = Array.isArray(features) && features.includes("history");
      if (granted) {
        for (const item of restored) item.remove();
        kept = [];
        tab.set("chat", null);
      }
      restored = [];
      history.signedIn({ granted, resumed });
    },
    /** A `history` message from the server. */
    addHistory: (msg) => history.receive(msg),
    /** A `history-request` was refused (rate-limited, unavailable, history-off). */
    historyFailed: (msg) => history.failed(msg),
    /** `seq` jumped: chat lines were lost; bring the newest back. */
    linesLost: () => history.linesLost(),
    /** The room changed: its history replaces what is shown. */
    setRoom: (room) => history.setRoom(room),
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
