// Test page: several CallDesk in one page, each with its own fake-camera
// stream, joined through signaling-bus.js. The test drives it through
// window.meshTest and reads getStats per peer connection.

import { createRoomCall } from "/web/js/mesh.js";
import { createSpeakerTracker, watchSpeakers } from "/web/js/speaking.js";
import { createSignalingBus } from "./signaling-bus.js";

const bus = createSignalingBus();
const people = new Map(); // name -> {call, stream, errors, speakers}
let audioContext = null;

// A microphone stand-in that is either a steady tone (someone speaking) or
// silence: the fake microphone beeps on its own schedule.
function audioTrack(sound) {
  audioContext ??= new AudioContext();
  const destination = audioContext.createMediaStreamDestination();
  if (sound === "tone") {
    const oscillator = audioContext.createOscillator();
    oscillator.frequency.value = 440;
    oscillator.connect(destination);
    oscillator.start();
  }
  return destination.stream.getAudioTracks()[0];
}

async function join(name, sound = "microphone") {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: sound === "microphone", video: true });
  if (sound !== "microphone") stream.addTrack(audioTrack(sound));
  const person = { stream, errors: [], call: null, players: [] };
  const handle = (message) => person.call.handle(message);
  const send = bus.join(name, handle);
  person.call = createRoomCall({ self: name, localStream: stream, send, iceServers: [] });
  person.call.on("error", ({ name: other, error }) => person.errors.push(`${other}: ${error.message}`));
  // Received audio is decoded (and its level counted) only while it plays out.
  person.call.on("track", ({ track, stream }) => {
    if (track.kind !== "audio") return;
    const player = new Audio();
    player.srcObject = stream;
    player.play();
    person.players.push(player);
  });
  people.set(name, person);
}

function leave(name) {
  const person = people.get(name);
  people.delete(name);
  bus.leave(name);
  person.watcher?.stop();
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

function replaceAudio(name, sound) {
  return people.get(name).call.replaceTrack("audio", audioTrack(sound));
}

// Start recording who `name` sees speaking: every change, in order.
function watch(name) {
  const person = people.get(name);
  const { call } = person;
  person.speakers = [];
  person.watcher = watchSpeakers({
    peers: () => call.peers().map((peer) => [peer, call.peerConnection(peer)]),
    onChange: (state) => person.speakers.push(state),
  });
}

// The hysteresis alone: feed [[ms, {name: level}], ...], get each step's state.
function track(steps, options) {
  const tracker = createSpeakerTracker(options);
  return steps.map(([now, levels]) => tracker.update(levels, now));
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
  replaceAudio,
  watch,
  speakers: (name) => people.get(name).speakers,
  track,
  framesDecoded: () => perPeer("inbound-rtp", "video", (s) => s.framesDecoded ?? 0),
  bytesSent: () => perPeer("outbound-rtp", "video", (s) => ({ bytes: s.bytesSent, at: s.timestamp, width: s.frameWidth ?? 0 })),
  senderParameters,
  settled: () => Promise.all([...people.values()].map(({ call }) => call.settled())),
  caps: () => Object.fromEntries([...people].map(([name, { call }]) => [name, call.cap()])),
  errors: () => Object.fromEntries([...people].map(([name, p]) => [name, p.errors])),
  signalCounts: () => bus.counts(),
});
document.getElementById("status").textContent = "ready";
