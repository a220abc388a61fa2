// What a person changes during a call: mute, camera off, screen sharing and
// switching camera or microphone. Tracks are swapped with replaceTrack (no
// renegotiation); only sharing a screen in an audio-only call adds a track,
// which renegotiates through negotiation.js. The other side learns the state
// from `media-state` (docs/protocol.md, "Ringing").

import { openDeviceTrack, openScreen } from "./media.js";

/**
 * current() returns the call record of call.js (or null); sendTo(type, fields)
 * sends to the call's peer; view is callview.js.
 * Returns {sendMediaState(), toggleKind(kind), toggleScreen(), switchDevice(kind, id)}.
 */
export function createControls({ current, sendTo, view }) {
  /** Tell the peer (and our own buttons) what we send now. */
  function sendMediaState() {
    const call = current();
    if (!call?.stream) return;
    const audio = call.stream.getAudioTracks().some((t) => t.enabled);
    const video = call.stream.getVideoTracks().some((t) => t.enabled);
    const screen = Boolean(call.screenTrack);
    sendTo("media-state", { audio, video, screen });
    view.localMediaState({ audio, video, screen });
  }

  /** Mute / unmute ("audio") or camera off / on ("video"). */
  function toggleKind(kind) {
    const call = current();
    if (!call?.stream) return;
    const tracks = kind === "audio" ? call.stream.getAudioTracks() : call.stream.getVideoTracks();
    const enable = !tracks.some((t) => t.enabled);
    for (const track of tracks) track.enabled = enable;
    sendMediaState();
  }

  async function toggleScreen() {
    const call = current();
    if (!call?.pc) return;
    if (call.screenTrack) return stopScreen(call);
    let track;
    try {
      track = await openScreen();
    } catch (error) {
      view.notice(`Screen sharing did not start: ${error.message}`, "error");
      return;
    }
    call.tracks.push(track);
    if (current() !== call) return track.stop();
    call.screenTrack = track;
    // The browser's own "Stop sharing" ends the track: go back to the camera.
    track.addEventListener("ended", () => current() === call && call.screenTrack && stopScreen(call));
    if (call.videoSender) await call.videoSender.replaceTrack(track);
    else call.videoSender = call.pc.addTrack(track, call.stream); // audio-only call: renegotiate
    view.setLocalPreview(track);
    sendMediaState();
  }

  async function stopScreen(call) {
    const track = call.screenTrack;
    call.screenTrack = null;
    track.stop();
    const camera = call.stream.getVideoTracks()[0] ?? null;
    await call.videoSender.replaceTrack(camera);
    view.setLocalStream(call.stream);
    sendMediaState();
  }

  /** Use another camera ("video") or microphone ("audio") from now on, mid-call too. */
  async function switchDevice(kind, deviceId) {
    const call = current();
    if (!call?.stream) return;
    const streamTracks = kind === "audio" ? call.stream.getAudioTracks() : call.stream.getVideoTracks();
    const old = streamTracks[0];
    let track;
    try {
      track = await openDeviceTrack(kind, deviceId);
    } catch (problem) {
      view.notice(problem.message, "error");
      return;
    }
    call.tracks.push(track);
    if (current() !== call) return track.stop();
    if (old) track.enabled = old.enabled;
    const sharing = kind === "video" && call.screenTrack;
    const sender = call.pc?.getSenders().find((s) => s.track === old || (!old && s.track?.kind === kind));
    // Swap on the wire first, then stop the old device: no gap with a dead track.
    if (sender && !sharing) await sender.replaceTrack(track);
    if (old) {
      call.stream.removeTrack(old);
      old.stop();
    }
    call.stream.addTrack(track);
    if (kind === "video" && !sharing) view.setLocalStream(call.stream);
  }

  return { sendMediaState, toggleKind, toggleScreen, switchDevice };
}
