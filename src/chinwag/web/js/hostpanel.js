// The host tools in the people panel (docs/web-client.md, "Hosting a room"):
// who may come in, who is waiting (Admit / Deny), mute everyone, end the
// call, lower hands, invite links, and breakout rooms (host only). Shown to
// hosts and moderators; the forms are built once, the lists on each
// `room-control`.

import { roomLabel, roomPath } from "./rooms.js";
import { S } from "./strings.js";
import { el, show } from "./ui.js";

const H = S.hosts;
const EXPIRIES = [3600, 86400, 604800];

/** send(msg); self() -> our name; rooms (rooms.js); notices; people() -> names in the room. */
export function createHostPanel({ send, self, rooms, notices, people }) {
  const element = el("section", { class: "host-panel", "aria-labelledby": "host-panel-title", hidden: true });
  element.append(el("h2", { id: "host-panel-title" }, H.hostTools));
  const entry = entryChooser();
  const waiting = el("section", { class: "waiting-list", "aria-labelledby": "waiting-title" });
  const waitingTitle = el("h3", { id: "waiting-title" });
  const waitingList = el("ul");
  waiting.append(waitingTitle, waitingList);
  const actions = el("div", { class: "host-actions" });
  for (const [label, type, kind] of [
    [H.muteAll, "mute", ""],
    [H.lowerHands, "lower-hands", ""],
    [H.endCall, "end-call", "danger"],
  ]) {
    const button = el("button", { type: "button", class: kind || "secondary", "data-action": type }, label);
    button.addEventListener("click", () => send({ type }));
    actions.append(button);
  }
  const invite = inviteForm();
  const breakouts = breakoutTools();
  const back = el("a", { class: "back-to-main", hidden: true });
  element.append(entry.element, waiting, actions, invite.element, breakouts.element);

  function entryChooser() {
    const fieldset = el("fieldset", { class: "entry-choice" });
    fieldset.append(el("legend", {}, H.entry));
    const inputs = {};
    for (const value of ["open", "waiting", "locked"]) {
      const input = el("input", { type: "radio", name: "room-entry", value });
      input.addEventListener("change", () => input.checked && send({ type: "set-entry", entry: value }));
      const label = el("label", { class: "switch" });
      label.append(input, el("span", {}, H.entries[value]));
      fieldset.append(label);
      inputs[value] = input;
    }
    return { element: fieldset, set: (value) => inputs[value] && (inputs[value].checked = true) };
  }

  function inviteForm() {
    const form = el("form", { class: "invite-form", "aria-labelledby": "invite-title", novalidate: true });
    form.append(el("h3", { id: "invite-title" }, H.invites));
    const role = select("invite-role", H.inviteRole, Object.entries(H.inviteRoles));
    const expiry = select("invite-expiry", H.inviteExpiry, EXPIRIES.map((s) => [String(s), H.expiries[s]]));
    const single = checkbox("single", H.inviteSingle);
    const passLock = checkbox("passLock", H.invitePassLock);
    const output = el("p", { class: "invite-output", hidden: true });
    const linkInput = el("input", { id: "invite-link", readonly: true });
    output.append(el("label", { for: "invite-link" }, H.inviteReady), linkInput);
    form.append(role.wrap, expiry.wrap, single.wrap, passLock.wrap);
    form.append(el("button", { type: "submit", class: "primary" }, H.createInvite), output);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      send({
        type: "invite-create",
        role: role.input.value,
        ttl: Number(expiry.input.value),
        single: single.input.checked,
        passLock: passLock.input.checked,
      });
    });
    return {
      element: form,
      roleSelect: role.input,
      async show(token) {
        const url = new URL(roomPath(rooms.current()), window.location.origin);
        url.searchParams.set("invite", token);
        linkInput.value = url.href;
        show(output, true);
        linkInput.focus();
        linkInput.select();
        try {
          await navigator.clipboard.writeText(url.href);
          notices.show(H.inviteCopied, { key: "invite-copied" });
        } catch {
          // no clipboard (permission, insecure page): the link is selected to copy by hand
        }
      },
    };
  }

  function breakoutTools() {
    const section = el("section", { class: "breakout-tools", "aria-labelledby": "breakout-title" });
    section.append(el("h3", { id: "breakout-title" }, H.breakouts));
    const count = el("input", { id: "breakout-count", type: "number", min: "1", max: "20", value: "2" });
    const openRow = el("div", { class: "row" });
    const openButton = el("button", { type: "button", class: "secondary" }, H.openBreakouts);
    openButton.addEventListener("click", () => send({ type: "breakout-open", count: Number(count.value) || 1 }));
    openRow.append(el("label", { for: "breakout-count" }, H.breakoutCount), count, openButton);
    const running = el("div", { class: "breakout-running", hidden: true });
    const assignList = el("ul", { class: "breakout-assign" });
    const controls = el("div", { class: "host-actions" });
    for (const [label, msg] of [
      [H.assignRandom, { type: "breakout-assign", random: true }],
      [H.startBreakouts, { type: "breakout-start" }],
      [H.closeBreakouts, { type: "breakout-close" }],
    ]) {
      const button = el("button", { type: "button", class: "secondary" }, label);
      button.addEventListener("click", () => send(msg));
      controls.append(button);
    }
    const say = el("form", { class: "row breakout-say" });
    const sayInput = el("input", { id: "breakout-say", maxlength: "500", autocomplete: "off" });
    say.append(el("label", { for: "breakout-say" }, H.broadcast), sayInput);
    say.append(el("button", { type: "submit", class: "secondary" }, H.sendBroadcast));
    say.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!sayInput.value.trim()) return;
      send({ type: "breakout-broadcast", text: sayInput.value.trim() });
      sayInput.value = "";
    });
    running.append(assignList, controls, say);
    section.append(openRow, running);

    function render(control) {
      const names = control?.breakouts ?? [];
      show(running, names.length > 0);
      const assignments = control?.assignments ?? {};
      const items = people()
        .filter((name) => name !== self())
        .map((name) => {
          const id = `assign-${encodeURIComponent(name)}`;
          const choice = el("select", { id, "data-name": name });
          choice.append(el("option", { value: "0" }, H.mainRoom));
          names.forEach((_, index) => choice.append(el("option", { value: String(index + 1) }, H.breakoutNumber(index + 1))));
          choice.value = String(name in assignments ? assignments[name] + 1 : 0);
          choice.addEventListener("change", () => send({ type: "breakout-assign", assign: current(assignList) }));
          const item = el("li");
          item.append(el("label", { for: id }, H.assignTo(name)), choice);
          return item;
        });
      assignList.replaceChildren(...items);
    }
    return { element: section, render };
  }

  return {
    element,
    /** A new `room-control` (null: none) and our role in the room. */
    update(control, role) {
      const runs = role === "host" || role === "moderator";
      show(element, runs);
      const parent = control?.parent;
      back.hidden = !parent;
      if (parent) {
        back.textContent = H.backToMain(roomLabel(parent));
        back.href = roomPath(parent);
        if (!back.isConnected) element.before(back);
      }
      if (!runs || !control) return;
      entry.set(control.entry);
      const knocking = Array.isArray(control.waiting) ? control.waiting.map(String) : [];
      waitingTitle.textContent = H.waitingTitle(knocking.length);
      show(waiting, knocking.length > 0);
      waitingList.replaceChildren(...knocking.map(knocker));
      invite.roleSelect.querySelector('option[value="moderator"]').disabled = role !== "host";
      show(breakouts.element, role === "host" && !parent);
      breakouts.render(control);
    },
    /** The `invite` answer: a new link to show and copy (a revoke says nothing more). */
    invite(msg) {
      if (typeof msg.invite === "string") invite.show(msg.invite);
    },
  };

  function knocker(name) {
    const item = el("li", { "data-name": name });
    item.append(el("span", { class: "user-name" }, name));
    for (const [label, aria, type, kind] of [
      [H.admit, H.admitLabel(name), "admit", "primary"],
      [H.deny, H.denyLabel(name), "deny", "secondary"],
    ]) {
      const button = el("button", { type: "button", class: kind, "aria-label": aria }, label);
      button.addEventListener("click", () => send({ type, target: name }));
      item.append(button);
    }
    return item;
  }
}

/** Every person's chosen breakout room (0: the main room), as `breakout-assign` wants it. */
function current(list) {
  const assign = {};
  for (const choice of list.querySelectorAll("select")) assign[choice.dataset.name] = Number(choice.value);
  return assign;
}

function select(id, text, options) {
  const wrap = el("div", { class: "field" });
  const input = el("select", { id });
  for (const [value, label] of options) input.append(el("option", { value }, label));
  wrap.append(el("label", { for: id }, text), input);
  return { wrap, input };
}

function checkbox(name, text) {
  const wrap = el("label", { class: "switch" });
  const input = el("input", { type: "checkbox", name });
  wrap.append(input, el("span", {}, text));
  return { wrap, input };
}
