// Server-side chat history in the chat log (protocol.md, "Chat history";
// docs/web-client.md, "Chat history"). The server sends one `history` page
// when we join a room; older pages come on `history-request` {before: the
// smallest id shown} when the person scrolls to the top or presses "Load
// earlier messages". A page without `before` (asked after a reload that
// resumed the session, or after a jump in `seq` meant lines were lost) is
// merged with what is on screen.
//
// No line is shown twice: every public line carries data-key (name, date,
// text: the server stamps `date`, the same on the live line and the stored
// one) and, once known, data-line-id; a line whose key is on screen is not
// added again.

import { S } from "./strings.js";
import { el, show } from "./ui.js";

const NEAR_TOP_PX = 40;
const NEAR_BOTTOM_PX = 40;

/** The identity of a public chat line, the same for the live line and its stored copy. */
export function lineKey(name, date, text) {
  return `${name}\u0000${date}\u0000${text}`;
}

/** The public lines of a `history` message that have what a line needs. */
function validLines(msg) {
  const lines = Array.isArray(msg.lines) ? msg.lines : [];
  return lines
    .filter((line) => line && Number.isSafeInteger(line.id) && line.id > 0)
    .map((line) => ({ id: line.id, name: String(line.name ?? ""), date: Number(line.date) || 0, text: String(line.text ?? "") }));
}

/**
 * History paging for one chat log. send(msg) -> boolean sends when signed in;
 * lineItem(line) renders a public line ({id, name, date, text}) as an <li>
 * with data-key; clear() empties the log (a room change).
 */
export function createHistory({ logElement, send, lineItem, clear }) {
  let enabled = false;
  let room = ""; // the room whose lines are shown ("" is the lobby until rooms exist)
  let more = false; // the server said older lines exist
  let loaded = false; // a page for this room arrived since the page loaded
  let pending = null; // {before: id | null} while a request is unanswered
  let failedText = "";

  const status = el("span", { class: "history-status" });
  const button = el("button", { type: "button", class: "small history-more" }, S.loadEarlier);
  const edge = el("li", { class: "history-edge" });
  edge.append(status, button);

  function oldestId() {
    return Number(logElement.querySelector("li[data-line-id]")?.dataset.lineId) || null;
  }

  function shownLine(key) {
    for (const item of logElement.querySelectorAll("li[data-key]")) if (item.dataset.key === key) return item;
    return null;
  }

  /** The top row says what is above: a button, "Loading…", the start, or a failure. */
  function drawEdge() {
    if (!enabled) {
      edge.remove();
      return;
    }
    if (logElement.firstElementChild !== edge) logElement.prepend(edge);
    const loadingOlder = Boolean(pending?.before);
    status.textContent = loadingOlder ? S.loadingEarlier : failedText || (more ? "" : S.conversationStart);
    button.setAttribute("aria-disabled", String(loadingOlder));
    const hadFocus = document.activeElement === button;
    show(button, more);
    if (hadFocus && !more) logElement.focus();
  }

  function request(before) {
    if (!enabled || pending) return;
    const msg = before ? { type: "history-request", before } : { type: "history-request" };
    if (!send(msg)) return;
    pending = { before };
    failedText = "";
    drawEdge();
  }

  function loadOlder() {
    if (more && !pending) request(oldestId());
  }

  function nearBottom() {
    return logElement.scrollHeight - logElement.scrollTop - logElement.clientHeight <= NEAR_BOTTOM_PX;
  }

  /** Older lines go on top; what the person is looking at stays where it is. */
  function prepend(lines) {
    const fromBottom = logElement.scrollHeight - logElement.scrollTop;
    const items = lines.filter((line) => !shownLine(lineKey(line.name, line.date, line.text))).map(lineItem);
    edge.after(...items);
    logElement.scrollTop = logElement.scrollHeight - fromBottom;
  }

  /**
   * The newest lines: a line already shown (live, without an id) is replaced by
   * its stored copy; the others go before the first live line said after the
   * page's newest, or at the end.
   */
  function merge(lines) {
    const follow = nearBottom();
    for (const line of lines) shownLine(lineKey(line.name, line.date, line.text))?.remove();
    const newest = lines.length ? lines[lines.length - 1].date : Infinity;
    const later = [...logElement.querySelectorAll("li[data-key]:not([data-line-id])")].find((item) => Number(item.dataset.date) > newest);
    const items = lines.map(lineItem);
    if (later) later.before(...items);
    else logElement.append(...items);
    if (follow) logElement.scrollTop = logElement.scrollHeight;
  }

  button.addEventListener("click", loadOlder);
  logElement.addEventListener("scroll", () => {
    if (logElement.scrollTop <= NEAR_TOP_PX && logElement.scrollHeight > logElement.clientHeight) loadOlder();
  });

  return {
    /** Is server history in use (the `history` feature was granted)? */
    enabled: () => enabled,
    /** The top row, which the chat must not trim away. */
    edge,
    /**
     * Signed in: history is used if the server granted it. A resumed session
     * sends no history, so a page that has none yet (after a reload) asks.
     */
    signedIn({ granted, resumed }) {
      enabled = granted;
      pending = null;
      failedText = "";
      drawEdge();
      if (enabled && resumed && !loaded) request(null);
    },
    /** A `history` message: a room's first page, an older page, or the newest lines. */
    receive(msg) {
      if (!enabled) return;
      const msgRoom = String(msg.room ?? "");
      const lines = validLines(msg);
      const older = msgRoom === room && Boolean(pending?.before);
      if (msgRoom !== room) {
        // Rooms switch without reconnecting: the server sends the new room's history.
        room = msgRoom;
        clear();
      }
      pending = null;
      loaded = true;
      more = Boolean(msg.more);
      logElement.setAttribute("aria-busy", "true");
      if (older) prepend(lines);
      else merge(lines);
      logElement.removeAttribute("aria-busy");
      drawEdge();
    },
    /** A `history-request` failed: say so; `history-off` means the server keeps none. */
    failed(msg) {
      pending = null;
      if (msg.code === "history-off") enabled = false;
      else failedText = S.earlierFailed;
      drawEdge();
    },
    /** A jump in `seq`: lines were lost on the way; fetch the newest page. */
    linesLost() {
      request(null);
    },
    /** Is a line for another room than the one shown? (`message` frames may name a room.) */
    otherRoom: (msgRoom) => typeof msgRoom === "string" && msgRoom !== room,
    /** The room changed (app.js): forget the old room's lines; its history follows. */
    setRoom(next) {
      if (next === room) return;
      room = next;
      loaded = false;
      more = false;
      pending = null;
      clear();
      drawEdge();
    },
    /** Lines were trimmed off the top: older lines exist again. */
    trimmed() {
      if (!enabled || more) return;
      more = true;
      drawEdge();
    },
    /** Is this key on screen already (a live line that history brought first)? */
    shown: (key) => Boolean(shownLine(key)),
  };
}
