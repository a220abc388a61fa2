// Rooms (docs/protocol.md, "Rooms"): which room this page is in, its link,
// moving between rooms without reconnecting, and the Lobby's list of public
// rooms and "New room" form.
//
// The room lives in the address: `/` is the default room ("Lobby"),
// `/r/<percent-encoded name>` any other. A link click to a room page is a
// `join-room` on the open socket plus history.pushState; back and forward
// send `join-room` for the address they land on. The address follows the
// server's answer: a refused move puts the old room's address back.

import { wireDialog } from "./settings.js";
import { S } from "./strings.js";
import { byId, el, show } from "./ui.js";

const ROOM_PREFIX = "/r/";
const LIST_REFRESH_MS = 4000;

/** The room an address path names ("" for the Lobby). */
export function roomFromPath(pathname) {
  if (!pathname.startsWith(ROOM_PREFIX)) return "";
  try {
    return decodeURIComponent(pathname.slice(ROOM_PREFIX.length));
  } catch {
    return pathname.slice(ROOM_PREFIX.length); // a broken escape: the server explains (bad-room)
  }
}

/** The page path of a room. */
export function roomPath(room) {
  return room ? ROOM_PREFIX + encodeURIComponent(room) : "/";
}

/** The address of a room's page, keeping this page's settings (?relay=1, ...). */
function address(room) {
  return roomPath(room) + window.location.search;
}

/** What a room is called on screen: its title, else its name, else "Lobby". */
export function roomLabel(room, title = "") {
  return title || room || S.lobbyName;
}

/** The words for a room error code (the server's own text when we have none). */
export function roomError(msg) {
  return S.roomErrors[msg.code] ?? String(msg.message ?? msg.code);
}

/**
 * Rooms for one page. send(msg) -> boolean; live() says whether we are signed
 * in; notices (notices.js); onEntered(ROOM) after the server put us in a room
 * (at sign-in or after a move). Returns the object described at the end.
 */
export function createRooms({ send, live, notices, onEntered }) {
  let room = roomFromPath(window.location.pathname); // where we are (or are going at sign-in)
  let info = null; // the server's ROOM for `room`, once in it
  let pending = null; // {room, push} while a join-room is on its way
  const elements = {
    title: byId("room-title"),
    copy: byId("copy-link-button"),
    linkBox: byId("room-link-box"),
    link: byId("room-link"),
    list: byId("room-list"),
    empty: byId("no-rooms"),
    lobbyOnly: byId("lobby-extras"),
    gate: byId("room-password-dialog"),
  };

  function showRoom() {
    const label = roomLabel(room, info?.title);
    elements.title.textContent = label;
    document.title = room ? `${label} – ${S.appName}` : S.appName;
    document.body.dataset.room = room ? "named" : "lobby";
    show(elements.lobbyOnly, room === "");
    show(elements.linkBox, false);
  }

  function linkUrl() {
    return new URL(roomPath(room), window.location.origin).href;
  }

  // The clipboard API needs a secure context and permission; else the link is
  // shown selected, to copy by hand.
  async function copyLink() {
    const url = linkUrl();
    try {
      await navigator.clipboard.writeText(url);
      notices.show(S.linkCopied(url), { key: "link-copied" });
      show(elements.linkBox, false);
    } catch {
      elements.link.value = url;
      show(elements.linkBox, true);
      elements.link.focus();
      elements.link.select();
    }
  }

  /** Go to `target` (a link click, the form, back/forward); fields: password, public, title. */
  function go(target, { push = true, ...fields } = {}) {
    if (!live()) {
      // Not signed in: the sign-in takes us there.
      room = target;
      if (push) history.pushState({ room: target }, "", address(target));
      showRoom();
      return;
    }
    pending = { room: target, push };
    const msg = { type: "join-room", room: target };
    for (const [key, value] of Object.entries(fields)) if (value !== undefined && value !== "") msg[key] = value;
    send(msg);
  }

  function renderList(rooms) {
    const items = rooms.map((entry) => {
      const name = String(entry.room);
      const count = Number(entry.count) || 0;
      const link = el("a", { href: roomPath(name), class: "room-entry", "aria-label": S.roomEntry(roomLabel(name, entry.title), count) });
      link.append(el("span", { class: "room-entry-name" }, roomLabel(name, String(entry.title ?? ""))));
      link.append(el("span", { class: "badge" }, S.roomCount(count)));
      const item = el("li", { "data-room": name });
      item.append(link);
      return item;
    });
    elements.list.replaceChildren(...items);
    show(elements.empty, items.length === 0);
  }

  // The public list is asked for only while it is on screen: not during a call (its view
  // is hidden), not scrolled away, not in a background tab.
  let listOnScreen = false;
  const listWatcher = new IntersectionObserver((entries) => {
    listOnScreen = entries.some((entry) => entry.isIntersecting);
    refreshList();
  });
  listWatcher.observe(elements.list.closest("section") ?? elements.list);

  function refreshList() {
    if (live() && room === "" && info && listOnScreen && !document.hidden) send({ type: "list-rooms" });
  }

  // Same-page room links (the public list, links in chat to this server) move without a reload.
  document.addEventListener("click", (event) => {
    const link = event.target instanceof Element ? event.target.closest("a[href]") : null;
    if (!link || event.defaultPrevented || event.button !== 0) return;
    if (event.ctrlKey || event.metaKey || event.shiftKey || event.altKey || link.target === "_blank") return;
    const url = new URL(link.href, window.location.href);
    if (url.origin !== window.location.origin || !(url.pathname === "/" || url.pathname.startsWith(ROOM_PREFIX))) return;
    event.preventDefault();
    const target = roomFromPath(url.pathname);
    if (target !== room || !info) go(target);
  });
  window.addEventListener("popstate", () => go(roomFromPath(window.location.pathname), { push: false }));
  elements.copy.addEventListener("click", copyLink);
  setupNewRoomForm(go);
  const gate = setupPasswordGate(elements.gate, (target, password) => go(target, { password }));
  setInterval(refreshList, LIST_REFRESH_MS);
  document.addEventListener("visibilitychange", refreshList);
  showRoom();

  return {
    /** Put the room's link on the clipboard (or show it to copy by hand). */
    copyLink,
    /** The room's link. */
    link: linkUrl,
    /** The room we are in, or going to at sign-in. */
    current: () => room,
    /** The server's ROOM of the current room (null before). */
    info: () => info,
    /** Fields for the `username` message (an invite link's token goes with them). */
    signInFields(password) {
      const fields = password ? { room, roomPassword: password } : { room };
      const invite = new URLSearchParams(window.location.search).get("invite");
      if (invite) fields.invite = invite;
      return fields;
    },
    /** The server put us in a room: ROOM from `signed-in` or `room`. */
    entered(value) {
      const previous = room;
      info = value && typeof value === "object" ? value : { room: "", title: "", call: null };
      room = String(info.room ?? "");
      dropInvite(); // used: a reload resumes the session instead
      const path = roomPath(room);
      const wanted = pending;
      pending = null;
      if (wanted?.push && window.location.pathname !== path) history.pushState({ room }, "", address(room));
      else if (window.location.pathname !== path) history.replaceState({ room }, "", address(room));
      gate.close();
      showRoom();
      if (room === "") refreshList();
      onEntered(info, previous !== room);
    },
    /** A `join-room` error: stay where we were, say why (a locked room asks for its password). */
    joinRefused(msg) {
      const target = pending?.room ?? room;
      pending = null;
      if (window.location.pathname !== roomPath(room)) history.replaceState({ room }, "", address(room));
      if (msg.code === "room-password-required" || msg.code === "room-password-wrong") gate.open(target, roomError(msg));
      else notices.show(roomError(msg), { kind: "error" });
    },
    /** `rooms`: the public list. */
    showList: (msg) => renderList(Array.isArray(msg.rooms) ? msg.rooms : []),
  };
}

/** Take an invite link's token out of the address once it has let us in. */
function dropInvite() {
  const url = new URL(window.location.href);
  if (!url.searchParams.has("invite")) return;
  url.searchParams.delete("invite");
  history.replaceState(history.state, "", url.pathname + url.search);
}

/** The Lobby's "New room" form: goes to /r/<name>, opening it with these settings. */
function setupNewRoomForm(go) {
  const form = byId("new-room-form");
  const error = byId("new-room-error");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const name = String(data.get("room") ?? "").trim();
    if (!name) {
      error.textContent = S.roomNameEmpty;
      byId("new-room-name").focus();
      return;
    }
    error.textContent = "";
    go(name, {
      password: String(data.get("password") ?? ""),
      title: String(data.get("title") ?? "").trim(),
      public: data.get("public") === "on",
    });
    form.reset();
  });
}

/** The dialog that asks a locked room's password when moving by link. */
function setupPasswordGate(dialog, submit) {
  const form = dialog.querySelector("form");
  const input = byId("gate-password");
  const error = byId("gate-error");
  const lead = byId("gate-lead");
  let target = "";
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit(target, input.value);
  });
  wireDialog(dialog);
  return {
    open(room, why) {
      target = room;
      lead.textContent = S.roomPasswordLead(roomLabel(room));
      error.textContent = why;
      input.value = "";
      if (!dialog.open) dialog.showModal();
      input.focus();
    },
    close() {
      if (dialog.open) dialog.close();
    },
  };
}
