// What a person changes during a call: mute, camera off, screen sharing and
// switching camera or microphone. Tracks are swapped with replaceTrack (no
// renegotiation); only sharing a screen in an audio-only call adds a track,
// which renegotiates through negotiation.js. The other side learns the state
// from `media-state` (docs/protocol.md, "Ringing").

import { openDeviceTrack, openScreen } from "./media.js";
import { S } from "./strings.js";

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
    const tracks = tracksOf(call.stream, kind);
    const enable = !tracks.some((t) => t.enabled);
    for (const track of tracks) track.enabled = enable;
    sendMediaState();
  }

  async function toggleScreen() {
    const call = current();
    if (!call?.pc) return;
    if (call.screenTrack) return stopScreen(call);
    const track = await startScreen(call, { current, view, stop: stopScreen });
    if (!track) return;
    if (call.senders.video) await call.senders.video.replaceTrack(track);
    else call.senders.video = call.pc.addTrack(track, call.stream); // audio-only call: renegotiate
    view.setLocalPreview(track);
    sendMediaState();
  }

  async function stopScreen(call) {
    const track = call.screenTrack;
    call.screenTrack = null;
    const camera = call.stream.getVideoTracks()[0] ?? null;
    await call.senders.video.replaceTrack(camera);
    track.stop();
    view.setLocalStream(call.stream);
    sendMediaState();
  }

  /**
   * Use another camera ("video") or microphone ("audio") from now on, mid-call
   * too. Switches run one at a time, so a quick second pick cannot leave the
   * sender and the local stream holding different tracks.
   */
  function switchDevice(kind, deviceId) {
    const call = current();
    if (!call?.stream) return Promise.resolve();
    const previous = call.switching ?? Promise.resolve();
    call.switching = previous
      .then(() => swapDevice(call, kind, deviceId))
      .catch((error) => current() === call && view.notice(S.switchFailed(error.message), "error"))
      .finally(() => current() === call && view.showDevicesInUse(call.stream));
    return call.switching;
  }

  async function swapDevice(call, kind, deviceId) {
    const opened = await openReplacement(call, kind, deviceId, { current, view });
    if (!opened) return;
    const { old, track } = opened;
    const sharing = kind === "video" && call.screenTrack;
    const sender = call.senders[kind];
    try {
      // Swap on the wire first, then stop the old device: the sender never holds a dead track.
      if (sender && !sharing) await sender.replaceTrack(track);
    } catch (error) {
      track.stop();
      throw error;
    }
    call.stream.removeTrack(old);
    old.stop();
    call.stream.addTrack(track);
    if (!sharing) view.setLocalStream(call.stream);
  }

  return { sendMediaState, toggleKind, toggleScreen, switchDevice };
}

/**
 * Open a screen to share for `holder` (a call record with `tracks` and
 * `screenTrack`; a failure is a notice), and call stop(holder) when the
 * browser's own "Stop sharing" ends it. Resolves to the track, or null when
 * it did not start or holder stopped being current() meanwhile.
 */
export async function startScreen(holder, { current, view, stop }) {
  let track;
  try {
    track = await openScreen();
  } catch (error) {
    view.notice(S.shareFailed(error.message), "error");
    return null;
  }
  holder.tracks.push(track);
  if (current() !== holder) {
    track.stop();
    return null;
  }
  holder.screenTrack = track;
  track.addEventListener("ended", () => current() === holder && holder.screenTrack === track && stop(holder));
  return track;
}

/**
 * Open device `deviceId` of `kind` to replace holder's current track of that
 * kind (a failure is a notice). Resolves to {old, track}, the new track
 * enabled as the old one was, or null when there is nothing to do or holder
 * stopped being current() meanwhile.
 */
export async function openReplacement(holder, kind, deviceId, { current, view }) {
  const old = holder.stream ? tracksOf(holder.stream, kind)[0] : undefined;
  if (current() !== holder || !old || old.getSettings().deviceId === deviceId) return null;
  let track;
  try {
    track = await openDeviceTrack(kind, deviceId);
  } catch (problem) {
    view.notice(problem.message, "error");
    return null;
  }
  holder.tracks.push(track);
  if (current() !== holder) {
    track.stop();
    return null;
  }
  track.enabled = old.enabled; // a muted microphone stays muted on the new device
  return { old, track };
}

function tracksOf(stream, kind) {
  return kind === "audio" ? stream.getAudioTracks() : stream.getVideoTracks();
}
