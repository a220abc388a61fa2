// What a person changes during a call, one-to-one or group alike: mute,
// camera off, screen sharing and switching camera or microphone. Tracks are
// swapped with replaceTrack on every link (no renegotiation); only sharing a
// screen in an audio-only one-to-one call adds a track, which renegotiates
// through negotiation.js. The others learn the state from `media-state`
// (docs/protocol.md, "Ringing" and "Room calls").
//
// The call's record (the "holder": {stream, tracks, screenTrack}) is the
// caller's; how a track reaches the wire and the screen is the outlet's, so
// the same rules serve call.js and roomcall.js.

import { openDeviceTrack, openScreen } from "./media.js";
import { S } from "./strings.js";

/**
 * current() returns the holder of the call going on (or null); view is
 * callview.js; outlet:
 * - send(holder, kind, track): put `track` (or null) on every link's sender
 *   of that kind (a promise);
 * - show(holder, stream, source): our own picture ("camera" or "screen");
 * - announce(holder, {audio, video, screen}): tell the others (`media-state`);
 * - linked(holder): the holder's links exist (a screen can be shared).
 * Returns {sendMediaState(), toggleKind(kind), toggleScreen(), switchDevice(kind, id)}.
 */
export function createControls({ current, view, outlet }) {
  /** Tell the others (and our own buttons) what we send now. */
  function sendMediaState() {
    const holder = current();
    if (!holder?.stream) return;
    const audio = holder.stream.getAudioTracks().some((t) => t.enabled);
    const camera = holder.stream.getVideoTracks().some((t) => t.enabled);
    const screen = Boolean(holder.screenTrack);
    // On the wire, video means a picture is sent: a shared screen is one even with the camera off.
    outlet.announce(holder, { audio, video: camera || screen, screen });
    view.localMediaState({ audio, video: camera, screen });
  }

  /** Mute / unmute ("audio") or camera off / on ("video"). */
  function toggleKind(kind) {
    const holder = current();
    if (!holder?.stream) return;
    const tracks = tracksOf(holder.stream, kind);
    const enable = !tracks.some((t) => t.enabled);
    for (const track of tracks) track.enabled = enable;
    sendMediaState();
  }

  async function toggleScreen() {
    const holder = current();
    if (!holder?.stream || !outlet.linked(holder)) return;
    if (holder.screenTrack) return stopScreen(holder);
    let track;
    try {
      track = await openScreen();
    } catch (error) {
      view.notice(S.shareFailed(error.message), "error");
      return;
    }
    holder.tracks.push(track);
    if (current() !== holder) return track.stop();
    holder.screenTrack = track;
    // The browser's own "Stop sharing" ends the track.
    track.addEventListener("ended", () => current() === holder && holder.screenTrack === track && stopScreen(holder));
    await outlet.send(holder, "video", track);
    outlet.show(holder, new MediaStream([track]), "screen");
    sendMediaState();
  }

  async function stopScreen(holder) {
    const track = holder.screenTrack;
    holder.screenTrack = null;
    await outlet.send(holder, "video", holder.stream.getVideoTracks()[0] ?? null);
    track.stop();
    outlet.show(holder, holder.stream, "camera");
    sendMediaState();
  }

  /**
   * Use another camera ("video") or microphone ("audio") from now on, mid-call
   * too. Switches run one at a time, so a quick second pick cannot leave the
   * senders and the local stream holding different tracks: the last pick wins.
   */
  function switchDevice(kind, deviceId) {
    const holder = current();
    if (!holder?.stream) return Promise.resolve();
    const previous = holder.switching ?? Promise.resolve();
    holder.switching = previous
      .then(() => swapDevice(holder, kind, deviceId))
      .catch((error) => current() === holder && view.notice(S.switchFailed(error.message), "error"))
      .finally(() => current() === holder && view.showDevicesInUse(holder.stream));
    return holder.switching;
  }

  async function swapDevice(holder, kind, deviceId) {
    const old = tracksOf(holder.stream, kind)[0];
    if (current() !== holder || !old || old.getSettings().deviceId === deviceId) return;
    let track;
    try {
      track = await openDeviceTrack(kind, deviceId);
    } catch (problem) {
      view.notice(problem.message, "error");
      return;
    }
    holder.tracks.push(track);
    if (current() !== holder) return track.stop();
    track.enabled = old.enabled; // a muted microphone stays muted on the new device
    const sharing = kind === "video" && holder.screenTrack;
    try {
      // Swap on the wire first, then stop the old device: a sender never holds a dead track.
      if (!sharing) await outlet.send(holder, kind, track);
    } catch (error) {
      track.stop();
      throw error;
    }
    holder.stream.removeTrack(old);
    old.stop();
    holder.stream.addTrack(track);
    if (!sharing) outlet.show(holder, holder.stream, "camera");
  }

  return { sendMediaState, toggleKind, toggleScreen, switchDevice };
}

function tracksOf(stream, kind) {
  return kind === "audio" ? stream.getAudioTracks() : stream.getVideoTracks();
}
