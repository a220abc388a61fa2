// A minimal chinwag browser client for the peer tests: WebSocket signaling with
// the ringing messages, and one RTCPeerConnection per call. The tests import it
// with page.evaluate(() => import("./harness.js")); its state lives in this module.

const FEATURES = ["deltas", "ringing", "plain-text"];

const state = {
  socket: null,
  name: null,
  iceServers: null,
  policy: "relay",
  answer: "accept", // or "decline"
  pc: null,
  partner: null,
  polite: false,
  tracksAdded: false,
  received: [], // types of messages received, in order
};

function send(message) {
  state.socket.send(JSON.stringify({ ...message, name: state.name }));
}

async function until(condition, what, ms = 10000) {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export async function signIn(server, name, { relayOnly = true, answer = "accept" } = {}) {
  state.policy = relayOnly ? "relay" : "all";
  state.answer = answer;
  state.socket = new WebSocket(new URL("/ws", server.replace(/^http/, "ws")), "json");
  state.socket.onmessage = (event) => dispatch(JSON.parse(event.data));
  await new Promise((resolve, reject) => {
    state.socket.onopen = resolve;
    state.socket.onerror = reject;
  });
  state.socket.send(JSON.stringify({ type: "username", name, features: FEATURES }));
  await until(() => state.name && state.iceServers, "signed-in and ice-servers");
  return state.name;
}

export function invite(target) {
  state.partner = target;
  state.polite = false;
  send({ type: "call-invite", target, media: { audio: true, video: true } });
}

export function hangUp() {
  if (state.partner) send({ type: "hang-up", target: state.partner, reason: "hung-up" });
  endCall();
}

export function received() {
  return state.received.slice();
}

export function inCall() {
  return state.pc !== null;
}

/** What has arrived so far: decoded video frames, audio samples, video size, candidate types. */
export async function inbound() {
  const result = { framesDecoded: 0, totalSamplesReceived: 0, frameWidth: 0, candidates: [] };
  if (!state.pc) return result;
  const stats = await state.pc.getStats();
  stats.forEach((report) => {
    if (report.type === "inbound-rtp" && report.kind === "video") {
      result.framesDecoded += report.framesDecoded || 0;
      result.frameWidth = report.frameWidth || result.frameWidth;
    } else if (report.type === "inbound-rtp" && report.kind === "audio") {
      result.totalSamplesReceived += report.totalSamplesReceived || 0;
    } else if (report.type === "local-candidate" || report.type === "remote-candidate") {
      result.candidates.push(`${report.type}:${report.candidateType}:${report.address}`);
    }
  });
  return result;
}

function createConnection(partner, polite) {
  state.partner = partner;
  state.polite = polite;
  state.tracksAdded = false;
  const pc = new RTCPeerConnection({
    iceServers: state.iceServers,
    iceTransportPolicy: state.policy,
  });
  pc.onicecandidate = ({ candidate }) => {
    if (candidate) send({ type: "new-ice-candidate", target: partner, candidate: candidate.toJSON() });
  };
  pc.ontrack = ({ streams }) => {
    document.getElementById("remote").srcObject = streams[0];
  };
  state.pc = pc;
  return pc;
}

async function addCamera(pc) {
  if (state.tracksAdded) return;
  state.tracksAdded = true;
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
  for (const track of stream.getTracks()) pc.addTrack(track, stream);
}

function endCall() {
  if (state.pc) state.pc.close();
  state.pc = null;
  state.partner = null;
}

async function dispatch(message) {
  state.received.push(message.type);
  const fromPartner = message.name === state.partner;
  switch (message.type) {
    case "signed-in":
      state.name = message.name;
      break;
    case "ice-servers":
      state.iceServers = message.iceServers;
      break;
    case "call-invite":
      if (state.pc || (state.partner && !fromPartner)) {
        send({ type: "call-decline", target: message.name, reason: "busy" });
      } else if (state.answer === "decline") {
        send({ type: "call-decline", target: message.name, reason: "declined" });
      } else {
        state.partner = message.name;
        state.polite = true;
        send({ type: "call-accept", target: message.name });
      }
      break;
    case "call-accept":
      if (fromPartner && !state.pc) {
        const pc = createConnection(message.name, false);
        await addCamera(pc);
        await pc.setLocalDescription();
        send({ type: "video-offer", target: message.name, sdp: pc.localDescription });
      }
      break;
    case "video-offer":
      if (fromPartner) {
        const pc = state.pc || createConnection(message.name, true);
        await pc.setRemoteDescription(message.sdp);
        await addCamera(pc);
        await pc.setLocalDescription();
        send({ type: "video-answer", target: message.name, sdp: pc.localDescription });
      }
      break;
    case "video-answer":
      if (fromPartner && state.pc) await state.pc.setRemoteDescription(message.sdp);
      break;
    case "new-ice-candidate":
      if (fromPartner && state.pc) await state.pc.addIceCandidate(message.candidate);
      break;
    case "hang-up":
    case "call-decline":
      if (fromPartner) endCall();
      break;
  }
}
