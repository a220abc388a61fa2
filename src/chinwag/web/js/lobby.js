// Who is online: one full `userlist`, then `presence` deltas (the `deltas`
// feature). A plain `userlist` (reference server behaviour) replaces all.
// Joins, leaves and renames after the first list are reported, for the
// chat's join and leave lines.

import { S } from "./strings.js";
import { byId, el, icon, paintAvatar, show } from "./ui.js";

/**
 * Render the user list into listElement. onCall(name, {audioOnly}) runs when
 * a person activates someone else's name (or its audio-call button); onChange(names, {joined, left, renamed})
 * after every change. Returns the methods app.js feeds messages to.
 */
export function createLobby({ listElement, countElement, onCall, onChange = () => {}, decorate = () => {} }) {
  let users = []; // names in sign-in order
  const busy = new Set();
  let self = "";
  let online = true;
  let known = false; // a first full list has arrived (later ones are diffs)

  function render() {
    const items = users.map((name) => {
      const isSelf = name === self;
      const isBusy = busy.has(name);
      const label = isSelf ? S.selfLabel(name) : isBusy ? S.callPersonBusy(name) : S.callPerson(name);
      const button = el("button", { type: "button", class: "user", "aria-label": label, title: label });
      button.append(paintAvatar(el("span", { class: "avatar small", "aria-hidden": "true" }), name));
      button.append(el("span", { class: "user-name" }, name));
      if (isSelf) button.append(el("span", { class: "badge self" }, S.you));
      if (isBusy) button.append(el("span", { class: "badge busy" }, S.inACall));
      button.disabled = isSelf || !online;
      button.addEventListener("click", () => onCall(name));
      const item = el("li", { "data-name": name, "data-busy": isBusy ? "true" : "false" });
      item.append(button);
      if (!isSelf) {
        const audio = el("button", { type: "button", class: "icon-button audio-call", "aria-label": S.audioCallPerson(name), title: S.audioCallPerson(name) });
        audio.append(icon("phone"));
        audio.disabled = !online;
        audio.addEventListener("click", () => onCall(name, { audioOnly: true }));
        item.append(audio);
      }
      decorate(name, item, button); // roles, hands and a host's menu (hosts.js)
      return item;
    });
    listElement.replaceChildren(...items);
    countElement.textContent = String(users.length);
    show(byId("alone-note"), users.length === 1 && users[0] === self);
  }

  function changed(delta) {
    render();
    onChange([...users], known ? delta : { joined: [], left: [], renamed: [] });
    known = true;
  }

  return {
    /** Our own name, so it is marked; call again after a rename. */
    setSelf(name) {
      self = name;
      render();
    },
    /** While the server is unreachable no call can start: names are not clickable. */
    setOnline(value) {
      online = value;
      render();
    },
    /** A full list: `users` and, for deltas clients, `busy`. */
    applyUserlist(msg) {
      const before = new Set(users);
      users = Array.isArray(msg.users) ? msg.users.map(String) : [];
      busy.clear();
      for (const name of msg.busy ?? []) busy.add(String(name));
      const now = new Set(users);
      changed({
        joined: users.filter((n) => !before.has(n)),
        left: [...before].filter((n) => !now.has(n)),
        renamed: [],
      });
    },
    /** A delta: left, then renamed, then joined, then busy / idle. */
    applyPresence(msg) {
      const left = (msg.left ?? []).map(String);
      users = users.filter((name) => !left.includes(name));
      for (const name of left) busy.delete(name);
      const renamed = (msg.renamed ?? []).map(([a, b]) => [String(a), String(b)]);
      for (const [oldName, newName] of renamed) {
        users = users.map((name) => (name === oldName ? newName : name));
        if (busy.delete(oldName)) busy.add(newName);
      }
      const joined = (msg.joined ?? []).map(String).filter((name) => !users.includes(name));
      users.push(...joined);
      for (const name of msg.busy ?? []) busy.add(String(name));
      for (const name of msg.idle ?? []) busy.delete(String(name));
      changed({ joined, left, renamed });
    },
    /** Moved to another room: its first list is who is there, not people joining. */
    forget() {
      known = false;
    },
    /** Draw the list again (roles or hands changed). */
    refresh: render,
    /** After a resume the server sends the full list again: diff it, do not replay joins. */
    names: () => [...users],
  };
}
