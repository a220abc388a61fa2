// The signed-in person's menu in the top bar: their avatar and name, "Change
// name" (a `username` sent again renames: docs/protocol.md, "Sign-in") and
// "Sign out", which ends the session for good and forgets the remembered
// name, so the next visit asks for a name again.

import { createMenuButton } from "./menu.js";
import { wireDialog } from "./settings.js";
import { S } from "./strings.js";
import { byId, paintAvatar } from "./ui.js";

/**
 * rename(name) sends the new name; signOut() ends the session.
 * Returns {show(name), renamed(name), refused(text) -> boolean}.
 */
export function createAccount({ rename, signOut }) {
  const dialog = byId("rename-dialog");
  const input = byId("rename-input");
  const error = byId("rename-error");
  const sheet = wireDialog(dialog);
  createMenuButton(byId("account-button"), byId("account-menu"), { below: true });
  let asked = ""; // the name asked for, until the server answers

  byId("rename-button").addEventListener("click", () => {
    input.value = byId("self-name").textContent;
    error.textContent = "";
    input.removeAttribute("aria-invalid");
    sheet.toggle();
    input.select();
  });
  byId("rename-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const name = input.value.trim();
    if (!name) return refuse(S.nameEmpty);
    if (name === byId("self-name").textContent) return dialog.close();
    asked = name;
    rename(name);
  });
  byId("sign-out-button").addEventListener("click", signOut);

  function showName(name) {
    byId("self-name").textContent = name;
    paintAvatar(byId("self-avatar"), name);
  }

  function refuse(text) {
    error.textContent = text;
    input.setAttribute("aria-invalid", "true");
    input.focus();
  }

  return {
    /** Our name in the top bar (after sign-in and after a rename). */
    show: showName,
    /** The server renamed us (maybe to a variant of what was asked). */
    renamed(name) {
      asked = "";
      if (dialog.open) dialog.close();
      showName(name);
    },
    /** An error of a `username` sent to rename: said in the dialog; false when none was asked. */
    refused(text) {
      if (!asked) return false;
      asked = "";
      refuse(text);
      return true;
    },
  };
}
