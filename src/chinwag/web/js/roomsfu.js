// The move of our room call from the mesh to the SFU, make-before-break:
// when a `room-call` says `"mode": "sfu"`, we start publishing to the SFU
// (sfu.js) while every mesh link stays up; a person's tile switches to the
// SFU stream once it decodes, and the mesh link to them closes only once
// media flows through the SFU both ways (each side says so in `media-state`,
// `receiving: "sfu"`). Nobody new gets a mesh link.
//
// The tiles' sizes decide the layer asked of the SFU for each person (a
// pinned or large tile: high; small: medium or low), and a tile that cannot
// be seen (scrolled away, not laid out, under a panel, or the whole page
// hidden) asks for no video at all ("off": Janus stops forwarding it; the
// sound goes on). Such a tile shows the person's initial; back in view, it
// asks again at once and shows video from the first new frame decoded.
// Janus's audio levels name the active speaker.

import { createSfuCall, layerFor } from "./sfu.js";

const VIEW_EVERY_MS = 1000; // tile sizes (and panels over them) change with the layout: checked this often
const RESUME_POLL_MS = 100;
const RESUME_MS = 5000; // no new frame by then (a camera that sends nothing): show the tile anyway

/**
 * Start the SFU part of `mine` (roomcall.js's live call: grid, mesh, stream,
 * unfollowMesh, stops). options: self(), send, config (iceServers,
 * iceTransportPolicy), log, held(kind) (a host's mute Janus holds: turn it off
 * here). Returns the sfu call (also kept as mine.sfu).
 */
export function moveToSfu(mine, { self, send, config, log, held }) {
  const released = new Set(); // names whose mesh link we closed
  const paused = new Set(); // names whose video we asked the SFU not to send
  const sfu = createSfuCall({ self: self(), localStream: mine.stream, send, ...config, log });
  mine.sfu = sfu;
  // From now the grid follows the SFU; mesh links close without removing tiles.
  mine.unfollowMesh();
  const stops = [
    sfu.on("participant-added", ({ name }) => mine.grid.add(name)),
    sfu.on("participant-removed", ({ name }) => {
      paused.delete(name);
      mine.grid.remove(name);
    }),
    // A tile keeps its mesh video until the SFU's flows (no black moment in between).
    sfu.on("track", ({ name, stream }) => {
      if (sfu.flowing(name) || !mine.mesh.peers().includes(name)) mine.grid.setStream(name, stream);
    }),
    sfu.on("media-state", ({ name, ...state }) => mine.grid.setMediaState(name, state)),
    sfu.on("speaker", ({ name }) => mine.grid.setSpeaking(name)),
    sfu.on("flowing", ({ name, stream }) => {
      mine.grid.setStream(name, stream);
      release(name);
    }),
    sfu.on("received", ({ name }) => release(name)),
    sfu.on("views-needed", () => sendViews()),
    sfu.on("held", ({ kind }) => held(kind)),
  ];
  let roster = [];

  /** Close the mesh link to `name` once media flows through the SFU both ways. */
  function release(name) {
    if (!sfu.flowing(name) || !sfu.received(name)) return;
    released.add(name);
    meshKeeps();
  }

  /** The mesh keeps only the links it had that the SFU has not replaced yet. */
  function meshKeeps() {
    const had = new Set(mine.mesh.peers());
    mine.mesh.update(roster.filter((p) => p.name === self() || (had.has(p.name) && !released.has(p.name))));
  }

  function sendViews() {
    const { grid } = mine;
    const pinned = grid.pinned();
    const views = {};
    for (const name of grid.names()) {
      if (name === self()) continue;
      const width = grid.width(name);
      views[name] = layerFor(name === pinned ? Math.max(width, 480) : width, document.hidden || !grid.shown(name));
      if (views[name] === "off" && !paused.has(name)) {
        paused.add(name);
        grid.setPaused(name, true);
      } else if (views[name] !== "off" && paused.has(name)) {
        paused.delete(name);
        showOnceDecoding(name).catch(() => grid.setPaused(name, false)); // the call closed meanwhile
      }
    }
    sfu.setViews(views);
  }

  /** Back in view: `name`'s tile shows video again from its first new decoded frame. */
  async function showOnceDecoding(name) {
    const before = await sfu.framesDecoded(name);
    const deadline = performance.now() + RESUME_MS;
    while (performance.now() < deadline && !paused.has(name)) {
      if ((await sfu.framesDecoded(name)) > before) break;
      await new Promise((resolve) => setTimeout(resolve, RESUME_POLL_MS));
    }
    if (!paused.has(name)) mine.grid.setPaused(name, false);
  }

  const timer = setInterval(sendViews, VIEW_EVERY_MS);
  document.addEventListener("visibilitychange", sendViews);
  const unwatch = mine.grid.watchShown(sendViews);
  let left = false;
  /** Our SFU part ends (the call ends, or goes back to a mesh): the tiles stay. */
  function close() {
    if (left) return;
    left = true;
    clearInterval(timer);
    unwatch();
    document.removeEventListener("visibilitychange", sendViews);
    stops.forEach((stop) => stop());
    sfu.close();
  }
  mine.stops.push(close);

  return {
    sfu,
    close,
    /** A `room-call` of this SFU call: the SFU follows it, the mesh only shrinks. */
    roomCall(message) {
      roster = message.participants;
      sfu.handle(message);
      meshKeeps();
    },
  };
}
