// A room call as a mesh: one RTCPeerConnection per other participant, each
// negotiated on its own with perfect negotiation (negotiation.js). The server
// only relays; this module follows the room-call rules of docs/protocol.md:
//
// - roles are fixed per pair from the `room-call` participants list (join
//   order): the later joiner adds its tracks at once and sends the first
//   offer; the earlier joiner adds its tracks when that offer arrives, so they
//   reuse the offered transceivers and the pair never starts in glare;
// - politeness: the earlier joiner is polite, unless exactly one of the two
//   cannot roll back (`rollback: false`, e.g. the aiortc peer): that one is
//   impolite. Two such peers: the later joiner is impolite;
// - every video sender is capped by bandwidth.js, again whenever the number
//   of participants changes.
//
// Each pair is one peer link (peerlink.js), the same engine as a one-to-one
// call's: negotiation, ICE restart policy (the pair's offerer restarts),
// quality, health and failure reports. linkhealth.js shows them on tiles.
// No globals: all state lives in the closure of createRoomCall.

import { senderCap } from "./bandwidth.js";
import { createPeerLink } from "./peerlink.js";

/** The patience of a link when the page gives none (docs/web-client.md, URL parameters). */
const DEFAULT_TIMING = { iceGraceMs: 5000, connectTimeoutMs: 10000 };
// Signals from someone the latest participants list does not name yet (a
// relay that overtook the `room-call` update) wait, boundedly, for it.
const MAX_EARLY_SENDERS = 16;
const MAX_EARLY_SIGNALS = 64;

/**
 * The fixed roles of `self` towards `other` in a participants list (join
 * order, entries {name, rollback}): {offerer, polite}. offerer: self sends the
 * pair's first offer (self joined later). Throws if either is not listed.
 */
export function pairRoles(participants, self, other) {
  const mine = participants.findIndex((p) => p.name === self);
  const theirs = participants.findIndex((p) => p.name === other);
  if (mine < 0 || theirs < 0) throw new Error(`pairRoles: ${self} or ${other} is not in the call`);
  const joinedLater = mine > theirs;
  const iRollBack = participants[mine].rollback !== false;
  const theyRollBack = participants[theirs].rollback !== false;
  // Exactly one side unable to roll back must be the impolite one.
  const polite = iRollBack === theyRollBack ? !joinedLater : iRollBack;
  return { offerer: joinedLater, polite };
}

/**
 * Start a room call. options:
 * - self: our name as the server lists it in `participants`;
 * - localStream: the MediaStream to send (its first audio and video track);
 * - send(message): emits `room-signal` / `media-state` messages to the server;
 * - iceServers: the RTCIceServer list (as for one-to-one calls);
 * - iceTransportPolicy: "relay" (Settings > Relay only, ?relay=1) or "all",
 *   on every link;
 * - participants: the latest `room-call` participants (may be given later
 *   through handle() / update());
 * - timing: {iceGraceMs, connectTimeoutMs} of every link (peerlink.js);
 * - log(text): optional diagnostics.
 * The caller sends `room-call-join` before and `room-call-leave` after; this
 * module only speaks per-pair signaling. Returns the RoomCall object described
 * at the end of this function.
 */
export function createRoomCall({
  self,
  localStream,
  send,
  iceServers = [],
  iceTransportPolicy = "all",
  participants = [],
  timing = DEFAULT_TIMING,
  log = () => {},
}) {
  const links = new Map(); // other's name -> {name, offerer, polite, link (peerlink.js), stream}
  const listeners = new Map(); // event type -> Set of handlers
  const early = new Map(); // name -> signals that came before the list named them
  const localTracks = {
    audio: localStream.getAudioTracks()[0] ?? null,
    video: localStream.getVideoTracks()[0] ?? null,
  };
  let mediaState = { audio: Boolean(localTracks.audio), video: Boolean(localTracks.video), screen: false };
  let roster = [];
  let closed = false;

  function emit(type, detail) {
    for (const handler of listeners.get(type) ?? []) handler(detail);
  }

  function currentCap() {
    return senderCap(roster.length);
  }

  function update(list) {
    if (closed) return;
    roster = Array.isArray(list) ? list.filter((p) => typeof p?.name === "string") : [];
    const inCall = roster.some((p) => p.name === self);
    const others = inCall ? roster.map((p) => p.name).filter((name) => name !== self) : [];
    for (const name of [...links.keys()]) if (!others.includes(name)) removeLink(name);
    for (const name of others) if (!links.has(name)) addLink(name);
    for (const pair of links.values()) pair.link.setVideoCap(currentCap());
  }

  function addLink(name) {
    const { offerer, polite } = pairRoles(roster, self, name);
    const pair = { name, offerer, polite, stream: new MediaStream() };
    const link = createPeerLink({
      config: { iceServers, iceTransportPolicy },
      polite,
      restarter: offerer, // one side only, so two restarts never cross
      timing,
      log: (text) => log(`${name}: ${text}`),
      signal: (signal) => sendSignal(pair, signal),
      beforeAnswer: offerer ? undefined : () => link.answerOnTransceivers(localStream, localTracks),
    });
    pair.link = link;
    links.set(name, pair);
    log(`${name}: link (${offerer ? "offerer" : "answerer"}, ${polite ? "polite" : "impolite"})`);
    link.setVideoCap(currentCap());
    // Listeners get the link before any candidate is gathered.
    emit("participant-added", { name, offerer, polite, pc: link.pc, link });
    link.on("track", ({ track }) => {
      pair.stream.addTrack(track);
      emit("track", { name, track, stream: pair.stream });
    });
    link.on("failed", ({ problem, error }) => problem === "setup-failed" && emit("error", { name, error }));
    if (offerer) link.offerTransceivers(localStream, localTracks);
    sendMediaState(name);
    const waiting = early.get(name) ?? [];
    early.delete(name);
    for (const message of waiting) link.dispatch(message);
  }

  function removeLink(name) {
    const pair = links.get(name);
    links.delete(name);
    early.delete(name);
    pair.link.close();
    log(`${name}: link closed`);
    emit("participant-removed", { name });
  }

  function sendSignal(pair, { description, candidate }) {
    if (links.get(pair.name) !== pair) return; // the link was torn down meanwhile
    if (description) {
      send({ type: "room-signal", target: pair.name, description: { type: description.type, sdp: description.sdp } });
    } else {
      send({ type: "room-signal", target: pair.name, candidate: candidate.toJSON() });
    }
  }

  function onRoomSignal(message) {
    const pair = links.get(message.name);
    if (pair) {
      pair.link.dispatch(message);
      return;
    }
    if (typeof message.name !== "string" || message.name === self) return;
    if (!early.has(message.name) && early.size >= MAX_EARLY_SENDERS) return;
    const waiting = early.get(message.name) ?? [];
    if (waiting.length < MAX_EARLY_SIGNALS) waiting.push(message);
    early.set(message.name, waiting);
  }

  function onMediaState(message) {
    if (!links.has(message.name)) return false; // not ours: a one-to-one call's
    const { audio, video, screen } = message;
    emit("media-state", { name: message.name, audio: audio !== false, video: video !== false, screen: screen === true });
    return true;
  }

  function sendMediaState(name) {
    send({ type: "media-state", target: name, ...mediaState });
  }

  return {
    /**
     * Feed a server message. Takes `room-call` (the new participants list),
     * `room-signal` and `media-state` from a participant; returns false for
     * anything else (including a one-to-one call's `media-state`).
     */
    handle(message) {
      if (closed) return false;
      if (message.type === "room-call") update(message.participants);
      else if (message.type === "room-signal") onRoomSignal(message);
      else if (message.type === "media-state") return onMediaState(message);
      else return false;
      return true;
    },
    /** Apply a participants list (what handle() does for `room-call`). */
    update,
    /**
     * Listen to "participant-added" {name, offerer, polite, pc, link},
     * "participant-removed" {name}, "track" {name, track, stream},
     * "media-state" {name, audio, video, screen}, "error" {name, error}.
     * Returns a function that stops listening.
     */
    on(type, handler) {
      if (!listeners.has(type)) listeners.set(type, new Set());
      listeners.get(type).add(handler);
      return () => listeners.get(type).delete(handler);
    },
    /** Send `track` (or null) instead of the current one of `kind` on every link. */
    async replaceTrack(kind, track) {
      localTracks[kind] = track;
      await Promise.all([...links.values()].map((pair) => pair.link.replaceTrack(kind, track)));
    },
    /** Tell every participant our {audio, video, screen} (merged into the last state). */
    setMediaState(state) {
      mediaState = { ...mediaState, ...state };
      for (const name of links.keys()) sendMediaState(name);
    },
    /** The other participants we hold a link to, in join order. */
    peers: () => roster.map((p) => p.name).filter((name) => links.has(name)),
    /** The RTCPeerConnection to `name` (for stats), or null. */
    peerConnection: (name) => links.get(name)?.link.pc ?? null,
    /** The current per-sender video cap (bandwidth.js senderCap). */
    cap: currentCap,
    /** Wait until every cap asked for so far has been applied. */
    settled: () => Promise.all([...links.values()].map((pair) => pair.link.capped())),
    /** Close every link (emits participant-removed for each); local tracks stay the caller's. */
    close() {
      for (const name of [...links.keys()]) removeLink(name);
      closed = true;
      listeners.clear();
    },
  };
}
