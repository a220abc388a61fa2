// Recording a room call, with everyone's knowledge (docs/protocol.md,
// "Recording an SFU call"): while the server says the call is recorded, a
// "Recording" badge stays on the call's stage and under the room's join
// button (so someone deciding whether to join knows), and each start and
// stop shows a notice naming who did it. The Record button appears only in
// an SFU call on a server that allows recording; anyone in the call may
// stop a recording, whoever started it.

import { S } from "./strings.js";
import { byId, show } from "./ui.js";

const NOTICE_MS = 10000;

/**
 * send(msg); self() -> our name; inCall() -> this page takes part in the
 * room call; notices (notices.js). Returns {setAllowed, update, announce, refused}.
 */
export function createRecording({ send, self, inCall, notices }) {
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

  button.addEventListener("click", () => {
    send({ type: "room-recording", action: call?.recording ? "stop" : "start" });
  });

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
    },
    /** `room-recording`: a recording started or stopped; say who did it. */
    announce(msg) {
      const by = msg.by === self() ? S.you : msg.by;
      const text = msg.action === "start" ? S.recordingStarted(by) : S.recordingStopped(by, msg.reason);
      notices.show(text, { key: "recording", timeoutMs: NOTICE_MS });
    },
    /** An `error` for `room-recording`. */
    refused(msg) {
      notices.show(S.recordingErrors[msg.code] ?? String(msg.message ?? msg.code), { kind: "error" });
    },
  };
}
