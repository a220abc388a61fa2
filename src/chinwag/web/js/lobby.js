// Who is online: one full `userlist`, then `presence` deltas (the `deltas`
// feature). A plain `userlist` (reference server behaviour) replaces all.

import { el } from "./ui.js";

/**
 * Render the user list into listElement. onCall(name) runs when a person
 * activates someone else's name. Returns the methods app.js feeds messages to.
 */
export function createLobby({ listElement, countElement, onCall }) {
  let users = []; // names in sign-in order
  const busy = new Set();
  let self = "";

  function render() {
    const items = users.map((name) => {
      const isSelf = name === self;
      const isBusy = busy.has(name);
      const label = isSelf ? `${name} (you)` : isBusy ? `Call ${name} (in a call)` : `Call ${name}`;
      const button = el("button", { type: "button", class: "user", "aria-label": label });
      button.append(el("span", { class: "user-name" }, name));
      if (isSelf) button.append(el("span", { class: "badge self" }, "you"));
      if (isBusy) button.append(el("span", { class: "badge busy" }, "in a call"));
      button.disabled = isSelf;
      button.addEventListener("click", () => onCall(name));
      const item = el("li", { "data-name": name, "data-busy": isBusy ? "true" : "false" });
      item.append(button);
      return item;
    });
    listElement.replaceChildren(...items);
    countElement.textContent = String(users.length);
  }

  return {
    /** Our own name, so it is marked; call again after a rename. */
    setSelf(name) {
      self = name;
      render();
    },
    /** A full list: `users` and, for deltas clients, `busy`. */
    applyUserlist(msg) {
      users = Array.isArray(msg.users) ? msg.users.map(String) : [];
      busy.clear();
      for (const name of msg.busy ?? []) busy.add(String(name));
      render();
    },
    /** A delta: left, then renamed, then joined, then busy / idle. */
    applyPresence(msg) {
      const left = new Set((msg.left ?? []).map(String));
      users = users.filter((name) => !left.has(name));
      for (const name of left) busy.delete(name);
      for (const [oldName, newName] of msg.renamed ?? []) {
        users = users.map((name) => (name === oldName ? String(newName) : name));
        if (busy.delete(oldName)) busy.add(String(newName));
      }
      for (const name of msg.joined ?? []) if (!users.includes(name)) users.push(String(name));
      for (const name of msg.busy ?? []) busy.add(String(name));
      for (const name of msg.idle ?? []) busy.delete(String(name));
      render();
    },
  };
}
