// Hosts, moderators and guests (docs/protocol.md, "Hosts and guests"): the
// room's roles and raised hands in the people list and on the tiles, each
// person's menu for hosts and moderators, the raise-hand and reaction bar,
// the waiting screen, and what a host's action means for this page (a mute
// is obeyed here: the track is disabled, and the person can unmute).
// The host tools themselves (entry, waiting list, invites, breakout rooms)
// are hostpanel.js.

import { createHostPanel } from "./hostpanel.js";
import { roomLabel } from "./rooms.js";
import { S } from "./strings.js";
import { byId, el, show } from "./ui.js";

const H = S.hosts;
const REACTIONS = ["👍", "👏", "❤️", "😂", "😮", "🎉"];
const REACTION_MS = 4000;
const RUNS = new Set(["host", "moderator"]);

/**
 * send(msg); self() -> our name; notices (notices.js); chat (chat.js, for
 * notes); roomCall (roomcall.js); rooms (rooms.js); lobby (lobby.js).
 * Returns the object at the end.
 */
export function createHosts({ send, self, notices, chat, roomCall, rooms, lobby }) {
  let control = null; // our room's last `room-control`, or null: nobody hosts it
  const tools = byId("room-tools");
  const bar = buildBar();
  const panel = createHostPanel({ send, self, rooms, notices, people: () => lobby.names() });
  tools.replaceChildren(bar.element, panel.element);

  const roleOf = (name) => control?.roles?.[name] ?? "guest";
  const runsRoom = () => RUNS.has(roleOf(self()));
  const handPlace = (name) => (control?.hands ?? []).indexOf(name) + 1;

  function buildBar() {
    const element = el("section", { class: "hand-bar", "aria-label": H.reactions });
    const hand = el("button", { type: "button", id: "hand-button", class: "secondary", "aria-pressed": "false" }, H.raiseHand);
    hand.addEventListener("click", () => send({ type: handPlace(self()) ? "lower-hand" : "raise-hand" }));
    const emojis = el("div", { class: "reactions", role: "group", "aria-label": H.reactions });
    for (const emoji of REACTIONS) {
      const button = el("button", { type: "button", class: "reaction", "aria-label": H.react(emoji), title: H.react(emoji) }, emoji);
      button.addEventListener("click", () => send({ type: "reaction", emoji }));
      emojis.append(button);
    }
    element.append(hand, emojis);
    return { element, hand };
  }

  /** lobby.js calls this for each person's list item: role, hand, and a host's menu. */
  function decorate(name, item, button) {
    const role = roleOf(name);
    const place = handPlace(name);
    item.dataset.role = role;
    item.dataset.hand = place ? String(place) : "";
    if (RUNS.has(role)) button.append(el("span", { class: "badge role", "data-role": role }, H.roles[role]));
    if (place) button.append(el("span", { class: "badge hand", title: H.handLabel(place) }, H.handNumber(place)));
    const mine = roleOf(self());
    if (name !== self() && RUNS.has(mine) && (mine === "host" || role === "guest")) item.append(personMenu(name, role, place));
  }

  function personMenu(name, role, place) {
    const menu = el("details", { class: "person-menu" });
    menu.append(el("summary", { "aria-label": H.personActions(name), title: H.personActions(name) }, "⋯"));
    const list = el("div", { class: "person-actions" });
    const item = (label, msg, kind = "") => {
      const button = el("button", { type: "button", class: kind || "secondary" }, label);
      button.addEventListener("click", () => {
        menu.open = false;
        send(msg);
      });
      list.append(button);
    };
    if (roleOf(self()) === "host") {
      if (role !== "moderator") item(H.makeModerator, { type: "set-role", target: name, role: "moderator" });
      if (role !== "host") item(H.makeHost, { type: "set-role", target: name, role: "host" });
      if (role !== "guest") item(H.makeGuest, { type: "set-role", target: name, role: "guest" });
    }
    item(H.mute, { type: "mute", target: name, kind: "audio" });
    item(H.stopCamera, { type: "mute", target: name, kind: "video" });
    item(H.stopScreen, { type: "mute", target: name, kind: "screen" });
    if (place) item(H.lowerTheirHand, { type: "lower-hand", target: name });
    item(H.remove, { type: "remove", target: name }, "danger");
    item(H.removeAndBan, { type: "remove", target: name, ban: true }, "danger");
    menu.append(list);
    return menu;
  }

  function onControl(msg) {
    control = msg;
    const place = handPlace(self());
    bar.hand.textContent = place ? H.lowerHand : H.raiseHand;
    bar.hand.setAttribute("aria-pressed", String(Boolean(place)));
    lobby.refresh();
    const grid = roomCall.grid();
    for (const name of grid?.names() ?? []) grid.setHand(name, handPlace(name));
    panel.update(control, roleOf(self()));
  }

  /** What a `moderation` message says, as a note in the chat (and obeyed, for a mute). */
  function onModeration(msg) {
    const by = msg.by ? String(msg.by) : H.said.server;
    const who = msg.target ? String(msg.target) : "";
    const me = self();
    const said = H.said;
    let text = "";
    if (msg.action === "mute") text = obeyMute(msg, by, who, me);
    else if (msg.action === "remove") text = said.remove(by, who, Boolean(msg.ban));
    else if (msg.action === "admit") text = said.admit(by, who);
    else if (msg.action === "deny") text = said.deny(by, who);
    else if (msg.action === "role") text = said.role(by, who, String(msg.role));
    else if (msg.action === "entry") text = said.entry(by, String(msg.entry));
    else if (msg.action === "end-call") text = said.endCall(by);
    else if (msg.action === "lower-hands") text = said.lowerHands(by);
    else if (msg.action === "lower-hand") text = said.lowerHand(by, who);
    else if (msg.action === "promote") text = said.promote(who);
    else if (msg.action === "say") text = said.say(msg.by ? by : "", String(msg.text ?? ""));
    else if (msg.action === "breakout-open") text = said.breakoutOpen(by, Number(msg.count));
    else if (msg.action === "breakout-start") text = said.breakoutStart(by);
    else if (msg.action === "breakout-close") text = said.breakoutClose(by);
    if (!text) return;
    chat.addNote(text);
    const loud = (msg.target === me && msg.action !== "admit") || ["say", "end-call"].includes(msg.action);
    if (loud) notices.show(text, { key: `moderation-${msg.action}` });
  }

  function obeyMute(msg, by, who, me) {
    const kind = ["audio", "video", "screen"].includes(msg.kind) ? msg.kind : "audio";
    const mine = who === me || (!who && msg.by !== me);
    if (mine) roomCall.forceOff(kind);
    const said = H.said;
    if (mine) return { audio: said.muteYou, video: said.cameraYou, screen: said.screenYou }[kind](by);
    if (!who) return { audio: said.muteAll, video: said.cameraAll, screen: said.screenAll }[kind](by);
    return { audio: said.muteOne, video: said.cameraOne, screen: said.screenOne }[kind](by, who);
  }

  function onReaction(msg) {
    const name = String(msg.name);
    const emoji = String(msg.emoji);
    const grid = roomCall.grid();
    if (grid?.names().includes(name)) grid.react(name, emoji, REACTION_MS);
    const item = document.querySelector(`#user-list li[data-name="${CSS.escape(name)}"] .user`);
    if (!item) return;
    const shown = el("span", { class: "reaction-burst", role: "img", "aria-label": `${name}: ${emoji}` }, emoji);
    item.append(shown);
    setTimeout(() => shown.remove(), REACTION_MS);
  }

  function showWaiting(info) {
    const waiting = Boolean(info?.waiting);
    document.body.dataset.waiting = String(waiting);
    if (waiting) {
      byId("gate-card-title").textContent = H.waitingCardTitle;
      byId("gate-card-text").textContent = H.waitingCardLead(roomLabel(info.room));
    }
    show(byId("gate-card"), waiting);
    show(byId("gate-card-leave"), waiting);
    show(byId("app"), !waiting);
  }

  return {
    decorate,
    /** Messages this module reads; true when it was one. */
    handle(msg) {
      if (msg.type === "room-control") onControl(msg);
      else if (msg.type === "moderation") onModeration(msg);
      else if (msg.type === "reaction") onReaction(msg);
      else if (msg.type === "invite") panel.invite(msg);
      else return false;
      return true;
    },
    /** We are in a room (ROOM): a knock shows the waiting screen; a move forgets the old roles. */
    entered(info, moved) {
      if (moved) {
        control = null;
        panel.update(null, "guest");
      }
      showWaiting(info);
    },
    /** The server closed our connection: removed (4003) or not let in (4004). */
    sentOff(status) {
      byId("gate-card-title").textContent = status === "removed" ? H.removedTitle : H.deniedTitle;
      byId("gate-card-text").textContent = H.sentOffLead;
      show(byId("gate-card"), true);
      show(byId("gate-card-leave"), false);
      show(byId("app"), false);
      show(byId("signin"), false);
    },
    runsRoom,
  };
}
