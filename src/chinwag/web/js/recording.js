// Recording a room call, with everyone's knowledge (docs/protocol.md,
// "Recording an SFU call"): while the server says the call is recorded, a
// "Recording" badge stays on the call's stage and under the room's join
// button (so someone deciding whether to join knows), and each start and
// stop shows a notice naming who did it. The Record button appears only in
// an SFU call on a server that allows recording; anyone in the call may
// stop a recording, whoever started it.
//
// Consent, as Meet asks it: the starter confirms first ("Record this
// call?"), and everyone else in the call is asked whether they stay
// ("Leave call" or "Stay in the call"); closing that dialog is staying.

import { S } from "./strings.js";
import { byId, show } from "./ui.js";

const NOTICE_MS = 10000;

/**
 * send(msg); self() -> our name; inCall() -> this page takes part in the
 * room call; leaveCall() leaves it; notices (notices.js). Returns
 * {setAllowed, update, announce, refused}.
 */
export function createRecording({ send, self, inCall, leaveCall, notices }) {
  const badges = [byId("recording-indicator"), byId("room-recording-note")];
  const button = byId("record-button");
  let allowed = false; // the server records calls (`recordings` in signed-in)
  let call = null; // the room call as last told (room-call body), or null

  function render() {
    const recording = call?.recording ?? null;
    for (const badge of badges) {
      show(badge, Boolean(recording));
      badge.title = recording ? S.recordingSince(recording.by, new Date(recording.since)) : "";
    }
    byId("room-recording-note").querySelector(".label").textContent = recording ? S.callIsRecorded(recording.by) : "";
    const seated = inCall() && call?.mode === "sfu" && call.participants.some((p) => p.name === self());
    show(button, allowed && seated);
    button.setAttribute("aria-pressed", String(Boolean(recording)));
    button.querySelector(".label").textContent = recording ? S.stopRecording : S.record;
  }

  const confirm = byId("record-dialog");
  const asked = byId("recorded-dialog");

  /** Open `dialog` as a modal; when it closes, `then(choice)` with the button's value ("" for Escape). */
  function ask(dialog, then) {
    if (dialog.open) return;
    dialog.returnValue = "";
    dialog.addEventListener("close", () => then(dialog.returnValue), { once: true });
    dialog.showModal();
  }

  button.addEventListener("click", () => {
    if (call?.recording) send({ type: "room-recording", action: "stop" });
    else ask(confirm, (choice) => choice === "start" && send({ type: "room-recording", action: "start" }));
  });

  /** Someone else started recording while we are in the call: stay (agree) or leave. */
  function askToStay(by) {
    byId("recorded-lead").textContent = S.recordedLead(by);
    ask(asked, (choice) => choice === "leave" && inCall() && leaveCall());
  }

  return {
    /** From `signed-in`: whether this server lets people record calls. */
    setAllowed(value) {
      allowed = Boolean(value);
      render();
    },
    /** The room call's state (a `room-call` message, or ROOM's `call`; null: none). */
    update(state) {
      call = state && Array.isArray(state.participants) && state.participants.length ? state : null;
      render();
      // The question is moot once the recording stops or we are out of the call.
      if (asked.open && (!call?.recording || !inCall())) asked.close();
    },
    /** `room-recording`: a recording started or stopped; say who did it. */
    announce(msg) {
      const by = msg.by === self() ? S.you : msg.by;
      const text = msg.action === "start" ? S.recordingStarted(by) : S.recordingStopped(by, msg.reason);
      notices.show(text, { key: "recording", timeoutMs: NOTICE_MS });
      if (msg.action === "start" && msg.by !== self() && inCall()) askToStay(String(msg.by));
    },
    /** An `error` for `room-recording`. */
    refused(msg) {
      notices.show(S.recordingErrors[msg.code] ?? String(msg.message ?? msg.code), { kind: "error" });
    },
  };
}
