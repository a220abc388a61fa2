// Test page: several RoomCalls in one page, each with its own fake-camera
// stream, joined through signaling-bus.js. The test drives it through
// window.meshTest and reads getStats per peer connection.

import { createRoomCall } from "/web/js/mesh.js";
import { createSignalingBus } from "./signaling-bus.js";

const bus = createSignalingBus();
const people = new Map(); // name -> {call, stream, errors}

async function join(name) {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
  const person = { stream, errors: [], call: null };
  const handle = (message) => person.call.handle(message);
  const send = bus.join(name, handle);
  person.call = createRoomCall({ self: name, localStream: stream, send, iceServers: [] });
  person.call.on("error", ({ name: other, error }) => person.errors.push(`${other}: ${error.message}`));
  people.set(name, person);
}

function leave(name) {
  const person = people.get(name);
  people.delete(name);
  bus.leave(name);
  person.call.close();
  for (const track of person.stream.getTracks()) track.stop();
}

// For each person, for each peer: what one RTCStats entry of `type`/`kind` says.
async function perPeer(type, kind, pick) {
  const result = {};
  for (const [name, { call }] of people) {
    result[name] = {};
    for (const peer of call.peers()) {
      const report = await call.peerConnection(peer).getStats();
      let value = null;
      report.forEach((s) => {
        if (s.type === type && s.kind === kind) value = pick(s);
      });
      result[name][peer] = value;
    }
  }
  return result;
}

function senderParameters() {
  const result = {};
  for (const [name, { call }] of people) {
    result[name] = {};
    for (const peer of call.peers()) {
      const sender = call.peerConnection(peer).getTransceivers()
        .find((t) => t.receiver.track.kind === "video").sender;
      const [encoding] = sender.getParameters().encodings;
      result[name][peer] = { maxBitrate: encoding?.maxBitrate ?? null, scale: encoding?.scaleResolutionDownBy ?? null };
    }
  }
  return result;
}

window.meshTest = Object.freeze({
  join,
  leave,
  framesDecoded: () => perPeer("inbound-rtp", "video", (s) => s.framesDecoded ?? 0),
  bytesSent: () => perPeer("outbound-rtp", "video", (s) => ({ bytes: s.bytesSent, at: s.timestamp, width: s.frameWidth ?? 0 })),
  senderParameters,
  settled: () => Promise.all([...people.values()].map(({ call }) => call.settled())),
  caps: () => Object.fromEntries([...people].map(([name, { call }]) => [name, call.cap()])),
  errors: () => Object.fromEntries([...people].map(([name, p]) => [name, p.errors])),
  signalCounts: () => bus.counts(),
});
document.getElementById("status").textContent = "ready";
