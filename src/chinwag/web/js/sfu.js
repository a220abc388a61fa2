// A room call through the SFU (Janus, driven by the chinwag server): we send
// our camera and microphone once, on one "publisher" RTCPeerConnection, and
// receive everyone else on one "subscriber" RTCPeerConnection whose m-lines
// the server lists (`sfu-offer` streams: mid -> name, kind). The page never
// talks to Janus's API: chinwag proxies it (docs/protocol.md, "Room calls on
// an SFU"). Media goes to and from Janus directly (ICE).
//
// - Video is sent as three simulcast layers (rid h, m, l); each tile asks for
//   the layer that fits it (`sfu-view`: high, medium, low, or off when it
//   cannot be seen), so a small tile costs the sender nothing extra and a
//   hidden page receives no video at all.
// - Offers and answers carry every ICE candidate (we wait for gathering, at
//   most GATHER_MS), so there is no trickle to relay.
// - The same events as mesh.js ("participant-added", "participant-removed",
//   "track", "media-state"), plus "flowing" {name, stream} when the first media of
//   a person decodes here, "received" {name} when they say the same of ours
//   (with both, the mesh link between us may close), and "speaker" {name}
//   from Janus's audio levels.
//
// No globals: all state lives in the closure of createSfuCall.

const KINDS = ["audio", "video"];
// Bitrates of the three layers (kbit/s in docs/protocol.md); 640x480 fake camera: 640, 320, 160 wide.
export const SIMULCAST = [
  { rid: "h", maxBitrate: 900_000 },
  { rid: "m", maxBitrate: 300_000, scaleResolutionDownBy: 2 },
  { rid: "l", maxBitrate: 100_000, scaleResolutionDownBy: 4 },
];
const GATHER_MS = 3000;
const FIRST_FRAME_MS = 5000; // a camera that sends nothing: the mesh link closes anyway

/** The layer a tile of `width` CSS pixels needs (`hidden`: it cannot be seen). */
export function layerFor(width, hidden) {
  if (hidden || width <= 0) return "off";
  if (width >= 480) return "high";
  return width >= 240 ? "medium" : "low";
}

/** Resolves once `pc` has gathered its candidates (or after GATHER_MS: send what there is). */
function gathered(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, GATHER_MS);
    function done() {
      clearTimeout(timer);
      pc.removeEventListener("icegatheringstatechange", check);
      resolve();
    }
    function check() {
      if (pc.iceGatheringState === "complete") done();
    }
    pc.addEventListener("icegatheringstatechange", check);
  });
}

/** Resolves once m-line `mid` of `pc` has decoded a video frame (audio: at once), or after FIRST_FRAME_MS. */
async function firstFrame(pc, mid, kind) {
  if (kind !== "video") return;
  const deadline = performance.now() + FIRST_FRAME_MS;
  while (performance.now() < deadline && pc.connectionState !== "closed") {
    const report = await pc.getStats();
    let decoded = 0;
    report.forEach((s) => {
      if (s.type === "inbound-rtp" && String(s.mid) === String(mid)) decoded += s.framesDecoded || 0;
    });
    if (decoded > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Start our part of an SFU call. options: self (our name), localStream,
 * send(message), iceServers, iceTransportPolicy, log(text). Call handle() with
 * every `room-call`, `sfu-*` and `media-state` message. Returns the object at the end.
 */
export function createSfuCall({ self, localStream, send, iceServers = [], iceTransportPolicy = "all", log = () => {} }) {
  const listeners = new Map();
  const localTracks = {
    audio: localStream.getAudioTracks()[0] ?? null,
    video: localStream.getVideoTracks()[0] ?? null,
  };
  const config = { iceServers, iceTransportPolicy };
  const streams = new Map(); // name -> MediaStream of what we receive from them
  const flowing = new Set(); // names whose media reaches us through the SFU
  const received = new Set(); // names who said ours reaches them through the SFU
  let mids = new Map(); // subscriber mid -> {name, kind}
  let others = []; // the other participants, in join order
  let mediaState = { audio: Boolean(localTracks.audio), video: Boolean(localTracks.video), screen: false };
  let publisher = null;
  let subscriber = null;
  let queue = Promise.resolve(); // one offer/answer at a time
  let lastViews = "";
  let closed = false;

  function emit(type, detail) {
    for (const handler of listeners.get(type) ?? []) handler(detail);
  }

  function inTurn(work) {
    queue = queue.then(work).catch((error) => {
      log(`sfu: ${error.message}`);
      emit("error", { name: self, error });
    });
    return queue;
  }

  async function publish() {
    publisher?.close();
    subscriber?.close();
    subscriber = null;
    mids = new Map();
    publisher = new RTCPeerConnection(config);
    const pc = publisher;
    for (const kind of KINDS) {
      const init = { direction: "sendonly", streams: [localStream] };
      if (kind === "video") init.sendEncodings = SIMULCAST.map((layer) => ({ ...layer }));
      pc.addTransceiver(localTracks[kind] ?? kind, init);
    }
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    if (closed || pc !== publisher) return;
    send({ type: "sfu-publish", description: { type: "offer", sdp: pc.localDescription.sdp } });
    log("sfu: publishing");
  }

  async function published(message) {
    if (!publisher || publisher.signalingState !== "have-local-offer") return;
    await publisher.setRemoteDescription(message.description);
    // A host's mute Janus still holds (we published again): turned off here too, so it shows.
    for (const kind of Array.isArray(message.muted) ? message.muted : []) emit("held", { kind });
    send({ type: "sfu-subscribe" });
  }

  function newSubscriber() {
    const pc = new RTCPeerConnection(config);
    pc.addEventListener("track", ({ track, transceiver }) => {
      const who = mids.get(transceiver.mid);
      if (!who) return;
      const stream = streams.get(who.name) ?? new MediaStream();
      for (const old of stream.getTracks()) if (old.kind === track.kind) stream.removeTrack(old);
      stream.addTrack(track);
      streams.set(who.name, stream);
      emit("track", { name: who.name, track, stream });
      // Flowing: their video decodes (or, with no video m-line, their audio arrives).
      const hasVideo = [...mids.values()].some((m) => m.name === who.name && m.kind === "video");
      if (track.kind === "audio" && hasVideo) return;
      const arrived = () => firstFrame(pc, transceiver.mid, track.kind).then(() => {
        if (closed || flowing.has(who.name) || mids.get(transceiver.mid)?.name !== who.name) return;
        flowing.add(who.name);
        sendMediaState(who.name); // now says we receive them through the SFU
        emit("flowing", { name: who.name, stream: streams.get(who.name) });
      });
      if (!track.muted) arrived();
      else track.addEventListener("unmute", arrived, { once: true });
    });
    pc.addEventListener("connectionstatechange", () => {
      emit("connection-state", { name: "sfu", state: pc.connectionState });
    });
    return pc;
  }

  async function offered(message) {
    if (message.fresh) {
      // The server started a new subscription: a new connection for it.
      subscriber?.close();
      subscriber = null;
    }
    subscriber ??= newSubscriber();
    const pc = subscriber;
    const listed = Array.isArray(message.streams) ? message.streams : [];
    mids = new Map(listed.map((s) => [String(s.mid), { name: s.name, kind: s.kind }]));
    await pc.setRemoteDescription(message.description);
    await pc.setLocalDescription(await pc.createAnswer());
    await gathered(pc);
    if (closed || pc !== subscriber) return;
    send({ type: "sfu-answer", description: { type: "answer", sdp: pc.localDescription.sdp } });
    lastViews = ""; // new m-lines: say again which layers the tiles need
    emit("views-needed", {});
  }

  function update(list) {
    if (closed) return;
    const names = (Array.isArray(list) ? list : []).map((p) => p?.name).filter((n) => typeof n === "string");
    const next = names.filter((name) => name !== self);
    for (const name of others) {
      if (next.includes(name)) continue;
      streams.delete(name);
      flowing.delete(name);
      received.delete(name);
      emit("participant-removed", { name });
    }
    for (const name of next) {
      if (others.includes(name)) continue;
      emit("participant-added", { name });
      sendMediaState(name);
    }
    others = next;
  }

  // `receiving: "sfu"`: we get their media through the SFU, so their mesh link to us may close.
  function sendMediaState(name) {
    const receiving = flowing.has(name) ? { receiving: "sfu" } : {};
    send({ type: "media-state", target: name, ...mediaState, ...receiving });
  }

  function onMediaState(message) {
    if (!others.includes(message.name)) return false;
    const { audio, video, screen } = message;
    emit("media-state", { name: message.name, audio: audio !== false, video: video !== false, screen: screen === true });
    if (message.receiving === "sfu" && !received.has(message.name)) {
      received.add(message.name);
      emit("received", { name: message.name });
    }
    return true;
  }

  let retryTimer = null;
  function retry() {
    if (retryTimer || closed) return;
    retryTimer = setTimeout(() => {
      retryTimer = null;
      if (!closed) inTurn(publish);
    }, 1000);
  }

  inTurn(publish);

  return {
    /** Feed a server message; false if it is not one of ours. */
    handle(message) {
      if (closed) return false;
      switch (message.type) {
        case "room-call":
          update(message.participants);
          return true;
        case "sfu-published":
          inTurn(() => published(message));
          return true;
        case "sfu-offer":
          inTurn(() => offered(message));
          return true;
        case "sfu-moved": // our Janus went away: publish again (the server places us anew)
          log("sfu: media server changed, publishing again");
          flowing.clear();
          inTurn(publish);
          return true;
        case "sfu-speaker":
          emit("speaker", { name: message.name });
          return true;
        case "media-state":
          return onMediaState(message);
        case "error": // the media server refused: try the whole publish again, once a second at most
          log(`sfu: ${message.for} refused: ${message.message}`);
          if (message.for === "sfu-publish" || message.for === "sfu-answer") retry();
          return true;
        default:
          return false;
      }
    },
    update,
    /** Listen to the events listed at the top. Returns a function that stops listening. */
    on(type, handler) {
      if (!listeners.has(type)) listeners.set(type, new Set());
      listeners.get(type).add(handler);
      return () => listeners.get(type).delete(handler);
    },
    /** The layer each person's tile needs: {name: "high"|"medium"|"low"|"off"}; sent when it changes. */
    setViews(views) {
      const known = Object.fromEntries(Object.entries(views).filter(([name]) => others.includes(name)));
      const text = JSON.stringify(known);
      if (closed || !subscriber || text === lastViews || !Object.keys(known).length) return;
      lastViews = text;
      send({ type: "sfu-view", views: known });
    },
    async replaceTrack(kind, track) {
      localTracks[kind] = track;
      const sender = publisher?.getTransceivers().find((t) => t.receiver.track.kind === kind)?.sender;
      await sender?.replaceTrack(track);
    },
    setMediaState(state) {
      const before = mediaState;
      mediaState = { ...mediaState, ...state };
      // Turning our own mic, camera or screen on lifts a host's mute of it at Janus
      // (the server ignores it when no host muted us). A screen share is sent as video.
      if (mediaState.audio && !before.audio) send({ type: "sfu-unmute", kind: "audio" });
      const video = (s) => s.video || s.screen;
      if (video(mediaState) && !video(before)) send({ type: "sfu-unmute", kind: "video" });
      for (const name of others) sendMediaState(name);
    },
    peers: () => [...others],
    /** Whether `name`'s media reaches us through the SFU. */
    flowing: (name) => flowing.has(name),
    /** Whether `name` said ours reaches them through the SFU. */
    received: (name) => received.has(name),
    /** The connection that receives everyone (for stats), or the one that sends. */
    subscriber: () => subscriber,
    publisher: () => publisher,
    /** The subscriber m-lines (mids) that carry `name`'s media now. */
    midsOf: (name) => [...mids].filter(([, who]) => who.name === name).map(([mid]) => mid),
    /** Video frames decoded from `name` so far (getStats of its subscriber m-line). */
    async framesDecoded(name) {
      if (!subscriber) return 0;
      const wanted = new Set([...mids].filter(([, who]) => who.name === name && who.kind === "video").map(([mid]) => mid));
      const report = await subscriber.getStats();
      let frames = 0;
      report.forEach((s) => {
        if (s.type === "inbound-rtp" && s.kind === "video" && wanted.has(String(s.mid))) frames += s.framesDecoded || 0;
      });
      return frames;
    },
    close() {
      closed = true;
      clearTimeout(retryTimer);
      for (const name of others) emit("participant-removed", { name });
      others = [];
      publisher?.close();
      subscriber?.close();
      listeners.clear();
    },
  };
}
