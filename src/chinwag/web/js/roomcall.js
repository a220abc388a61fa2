// The room's group call on this page: the "Start call" / "Join call (3)"
// button, our camera, one mesh link per participant (mesh.js: roles,
// perfect negotiation, bandwidth caps), their tiles (tiles.js: names,
// markers, pin), the active speaker (speaking.js) and the one-to-one call's
// controls (controls.js: mute, camera, share, device switching with its
// one-switch-at-a-time guard; hang up = leave) and media opening (media.js).
// Protocol: docs/protocol.md, "Room calls (mesh)".
//
// A reload mid-call comes back: the room call is kept in sessionStorage and,
// once signed in again in the same room, the page takes its seat again (after
// giving up the old one, so every other page drops its dead link to us and
// connects afresh, this page sending the offers as the latest joiner).

import { copyReport } from "./callprobe.js";
import { createControls } from "./controls.js";
import { watchLinks } from "./linkhealth.js";
import { openCallMedia } from "./media.js";
import { createRoomCall } from "./mesh.js";
import { moveToSfu } from "./roomsfu.js";
import { roomError } from "./rooms.js";
import { watchSpeakers } from "./speaking.js";
import { S } from "./strings.js";
import { tab } from "./store.js";
import { createTileGrid, followRoomCall } from "./tiles.js";
import { byId, show } from "./ui.js";

/**
 * send(msg); self() -> our name; room() -> the room we are in; title() -> its
 * name on screen; iceConfig() -> the RTCConfiguration of one-to-one calls
 * (iceServers, and iceTransportPolicy "relay" when relay-only is on), used on
 * every link; timing: {iceGraceMs, connectTimeoutMs} as for one-to-one calls;
 * oneToOneBusy() -> a one-to-one call is on; view (callview.js); log(text).
 * Returns the object at the end.
 */
export function createCallDesk({ send, self, room, title, iceConfig, timing, oneToOneBusy, view, log }) {
  const button = byId("room-call-button");
  const gridElement = byId("room-grid");
  let call = null; // the room's call as the server last told it ({started, participants}) or null
  let live = null; // our part in it: {room, stream, tracks, mesh, grid, stops, screenTrack}

  function participants() {
    return call?.participants ?? [];
  }

  function render() {
    const count = participants().length;
    button.querySelector(".label").textContent = count ? S.joinCall(count) : S.startCall;
    show(button, !live);
  }

  const controls = createControls({
    current: () => live,
    view,
    outlet: {
      // Every way our media leaves: the mesh links, and the SFU publisher once there is one.
      send: (mine, kind, track) =>
        Promise.all([mine.mesh?.replaceTrack(kind, track), mine.sfu?.replaceTrack(kind, track)]),
      show: (mine, stream) => mine.grid?.setStream(self(), stream),
      announce(mine, state) {
        mine.mesh?.setMediaState(state);
        mine.sfu?.setMediaState(state);
        mine.grid?.setMediaState(self(), state);
      },
      linked: (mine) => Boolean(mine.mesh),
    },
  });

  /** Take a seat: camera first (a failure joins nobody), then the mesh, then `room-call-join`. */
  async function join() {
    if (live) return;
    if (oneToOneBusy()) {
      view.notice(S.roomErrors["in-call"], "error");
      return;
    }
    const mine = { room: room(), tracks: [], stops: [], screenTrack: null };
    live = mine;
    render();
    let stream;
    try {
      // The pre-join screen's stream, if the person came through it.
      stream = view.preparedMedia() ?? (await openCallMedia({ devices: view.chosenDevices(), confirm: view.offerOnly }));
    } catch (problem) {
      if (live === mine) live = null;
      render();
      view.notice(problem.message, "error");
      return;
    }
    mine.tracks.push(...stream.getTracks());
    if (live !== mine) return stopTracks(mine);
    mine.stream = stream;
    mine.grid = createTileGrid(gridElement, { words: S.tiles });
    mine.grid.add(self(), { self: true });
    mine.grid.setStream(self(), stream);
    const config = iceConfig();
    mine.mesh = createRoomCall({ self: self(), localStream: stream, send, ...config, timing, log });
    mine.unfollowMesh = followRoomCall(mine.grid, mine.mesh);
    mine.stops.push(() => mine.unfollowMesh());
    const copy = (details) => copyReport(details, view.notice);
    mine.health = watchLinks({ mesh: mine.mesh, grid: mine.grid, send, copy, log });
    mine.stops.push(() => mine.health.stop());
    const speakers = watchSpeakers({
      peers: () => mine.mesh.peers().map((name) => [name, mine.mesh.peerConnection(name)]),
      onChange: ({ active }) => mine.grid.setSpeaking(active),
    });
    mine.stops.push(() => speakers.stop());
    view.enterRoomCall(S.groupCallOf(title()));
    controls.sendMediaState();
    tab.set("roomCall", { room: mine.room });
    send({ type: "room-call-join" });
  }

  function stopTracks(mine) {
    for (const track of mine.tracks) track.stop();
  }

  /** Our part ends here (the server already knows, or is told by leave()). */
  function close(text = "", kind = "info") {
    const mine = live;
    if (!mine) return;
    live = null;
    for (const stop of mine.stops) stop();
    mine.mesh?.close();
    stopTracks(mine);
    if (mine.grid) {
      gridElement.replaceChildren();
      gridElement.classList.remove("room-grid");
    }
    tab.set("roomCall", null);
    if (mine.stream) view.leaveRoomCall();
    render();
    if (text) view.notice(text, kind);
  }

  function leave() {
    if (!live) return;
    if (live.mesh) send({ type: "room-call-leave" });
    close(S.youLeftCall);
  }

  function onRoomCall(msg) {
    call = Array.isArray(msg.participants) && msg.participants.length ? msg : null;
    render();
    if (!live?.mesh) return;
    const listed = participants().some((p) => p.name === self());
    if (listed) {
      live.seated = true;
      if (msg.mode === "sfu") {
        live.onSfu ??= moveToSfu(live, { self, send, config: iceConfig(), log, held: forceOff });
        live.onSfu.roomCall(msg);
      } else live.mesh.handle(msg);
      view.roomCallStarted(Number(msg.started) || Date.now());
    } else if (live.seated) close(); // the server let us go (e.g. a new session)
  }

  /** A host muted us, or stopped our camera or screen share: off here (we may turn it on again). */
  async function forceOff(kind) {
    const mine = live;
    if (!mine?.stream) return;
    if (kind === "screen") {
      if (mine.screenTrack) await controls.toggleScreen(); // sharing: this stops it
      return;
    }
    const tracks = kind === "audio" ? mine.stream.getAudioTracks() : mine.stream.getVideoTracks();
    if (tracks.some((t) => t.enabled)) controls.toggleKind(kind); // some on: this turns all off
  }

  render();
  return {
    /** Room-call messages (and room-call errors); true when it was one. */
    handle(msg) {
      if (msg.type === "room-call") onRoomCall(msg);
      else if (msg.type === "room-signal") live?.mesh?.handle(msg);
      else if (msg.type === "media-state") return Boolean(live?.sfu ? live.sfu.handle(msg) : live?.mesh?.handle(msg));
      else if (msg.type.startsWith("sfu-")) live?.sfu?.handle(msg);
      else if (msg.type === "error" && msg.for?.startsWith?.("sfu-")) live?.sfu?.handle(msg);
      else if (msg.type === "error" && msg.for === "room-call-join") close(roomError(msg), "error");
      else if (msg.type === "error" && msg.for === "room-call-leave") return true; // already out
      else return false;
      return true;
    },
    /**
     * We are in a room now (ROOM from `signed-in` or `room`); moved: it is
     * another room than before (the server has taken us out of the old call).
     * A call we had here before a reload or a lost session is taken up again.
     */
    entered(info, moved) {
      const before = live;
      if (moved || (live && live.room !== info.room)) close();
      call = info.call && Array.isArray(info.call.participants) && info.call.participants.length ? info.call : null;
      render();
      const saved = tab.get("roomCall");
      const wanted = (before && !moved) || saved?.room === info.room;
      if (!wanted || (live?.mesh && participants().some((p) => p.name === self()))) return;
      // Still seated from before (a parked session): give the seat up so the others drop their link.
      if (participants().some((p) => p.name === self())) send({ type: "room-call-leave" });
      close();
      join();
    },
    join,
    leave,
    hangUp: leave,
    toggleMute: () => controls.toggleKind("audio"),
    toggleCamera: () => controls.toggleKind("video"),
    toggleScreen: controls.toggleScreen,
    switchDevice: controls.switchDevice,
    forceOff,
    /** The tile grid while we are in the call (hosts.js puts hands and reactions on it). */
    grid: () => live?.grid ?? null,
    active: () => Boolean(live),
    /** Test hook (window.chinwag.room): the links, for getStats. */
    debug: {
      peers: () => live?.mesh?.peers() ?? [],
      peerConnection: (name) => live?.mesh?.peerConnection(name) ?? null,
      /** The SFU call (sfu.js) once the call moved there, or null. */
      sfu: () => live?.sfu ?? null,
      problem: (name) => live?.health?.problem(name) ?? "",
      get participants() {
        return participants().map((p) => p.name);
      },
    },
  };
}
