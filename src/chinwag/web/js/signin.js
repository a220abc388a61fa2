// The sign-in card: asks for a name (and a locked room's password), shows
// errors under the field they are about, and the name the server gave.

import { roomError, roomFromPath } from "./rooms.js";
import { S } from "./strings.js";
import { byId, show } from "./ui.js";

/** The sign-in form: asks for a name; shows errors and the assigned name. */
export function createSignIn(session, submit) {
  const form = byId("signin-form");
  const input = byId("name-input");
  const error = byId("name-error");
  let renamedFrom = "";

  function explain(text) {
    error.textContent = text;
    input.setAttribute("aria-invalid", "true");
    input.focus();
  }

  const room = roomFromPath(window.location.pathname);
  byId("signin-room").textContent = room ? S.joiningRoom(room) : "";
  show(byId("signin-room"), Boolean(room));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    session.wantedName = input.value.trim();
    error.textContent = "";
    input.removeAttribute("aria-invalid");
    if (session.wantedName) submit();
    else explain(S.nameEmpty);
  });
  input.focus();

  return {
    /** Sign in with a remembered name, without a click. */
    auto(name) {
      input.value = name;
      session.wantedName = name;
      submit();
    },
    error(text) {
      session.wantedName = "";
      show(byId("signin"), true);
      show(byId("app"), false);
      explain(text);
    },
    /** A room error at sign-in: said in words; a locked room asks for its password here. */
    roomRefused(msg) {
      const locked = msg.code === "room-password-required" || msg.code === "room-password-wrong";
      show(byId("room-password-row"), locked);
      show(byId("lobby-link"), true);
      session.wantedName = "";
      show(byId("signin"), true);
      show(byId("app"), false);
      // The words go under the field they are about: the password's, or the name's.
      const passwordInput = byId("room-password-input");
      error.textContent = locked ? "" : roomError(msg);
      byId("room-password-error").textContent = locked ? roomError(msg) : "";
      if (msg.code === "room-password-wrong") passwordInput.setAttribute("aria-invalid", "true");
      else passwordInput.removeAttribute("aria-invalid");
      if (locked) passwordInput.focus();
      else input.focus();
    },
    renamed(asked, assigned) {
      renamedFrom = asked;
      error.textContent = S.nameTaken(asked, assigned);
    },
    signedIn(name) {
      show(byId("signin"), false);
      show(byId("app"), true);
      document.body.dataset.signedIn = "true";
      const note = byId("rename-note");
      note.textContent = renamedFrom ? S.renamedNote(renamedFrom, name) : "";
      show(note, Boolean(renamedFrom));
    },
  };
}
