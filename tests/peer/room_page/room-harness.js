// A room-call test page for tests/peer/test_room_call.py. The test opens a page
// of the real chinwag server and injects this module (same origin, so it can
// import the real /js/mesh.js); it signs in with the `rooms` feature over the
// page's own WebSocket to that server and joins a room's call. No globals but
// window.roomTest, which the test drives.

import { createRoomCall } from "/js/mesh.js";

const state = { socket: null, name: null, iceServers: null, call: null, early: [], errors: [], mediaStates: [] };

async function until(condition, what, ms = 20000) {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function send(message) {
  state.socket.send(JSON.stringify(message));
}

function dispatch(message) {
  if (message.type === "signed-in") state.name = message.name;
  else if (message.type === "ice-servers") state.iceServers = message.iceServers;
  else if (message.type === "error") state.errors.push(`${message.code}: ${message.message}`);
  if (message.type === "media-state") state.mediaStates.push(message);
  if (["room-call", "room-signal", "media-state"].includes(message.type)) {
    if (state.call) state.call.handle(message);
    else state.early.push(message);
  }
}

async function join(name, room) {
  const localStream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
  state.socket = new WebSocket(`${location.origin.replace(/^http/, "ws")}/ws`, "json");
  state.socket.onmessage = (event) => dispatch(JSON.parse(event.data));
  await new Promise((resolve, reject) => {
    state.socket.onopen = resolve;
    state.socket.onerror = reject;
  });
  send({ type: "username", name, features: ["deltas", "plain-text", "rooms"], room });
  await until(() => state.name && state.iceServers, "signed-in and ice-servers");
  state.call = createRoomCall({ self: state.name, localStream, send, iceServers: state.iceServers });
  state.call.on("error", ({ name: other, error }) => state.errors.push(`${other}: ${error.message}`));
  // Received audio is decoded (and totalSamplesReceived counted) only while it plays out.
  state.call.on("track", ({ track, stream }) => {
    if (track.kind === "audio") Object.assign(new Audio(), { srcObject: stream }).play();
  });
  for (const message of state.early.splice(0)) state.call.handle(message);
  send({ type: "room-call-join" });
  return state.name;
}

// For each other participant: the video frames and audio samples decoded from them.
async function inbound() {
  const result = {};
  for (const peer of state.call.peers()) {
    const row = { frames: 0, samples: 0, energy: 0 };
    const stats = await state.call.peerConnection(peer).getStats();
    stats.forEach((report) => {
      if (report.type !== "inbound-rtp") return;
      if (report.kind === "video") row.frames += report.framesDecoded ?? 0;
      else {
        row.samples += report.totalSamplesReceived ?? 0;
        row.energy += report.totalAudioEnergy ?? 0;
      }
    });
    result[peer] = row;
  }
  return result;
}

window.roomTest = {
  join,
  inbound,
  send,
  errors: () => state.errors.slice(),
  mediaStates: () => state.mediaStates.slice(),
};
