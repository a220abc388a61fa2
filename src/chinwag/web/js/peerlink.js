// One peer link: the RTCPeerConnection to one other person, with everything
// a link needs whatever kind of call it belongs to. A one-to-one call is a
// call of two with one link (call.js); a group call holds one link per other
// participant (mesh.js). Both get from here, the same way:
//
// - perfect negotiation (negotiation.js), with the role the owner decides;
// - the ICE restart policy: "disconnected" for longer than iceGraceMs, or
//   "failed", restarts ICE once; only the restarter side (the pair's first
//   offerer) calls restartIce(), the other waits for its offer, so restarts
//   never cross. Not connected connectTimeoutMs after the link was made, or
//   after its restart, the link fails (a group call keeps it open: it may
//   still connect). A relay-only link that gathered no relay candidate, or
//   that never connected, fails at once instead of restarting;
// - quality (stats.js's rating every 2 s) and health: the first decoded frame,
//   and one-way media (connected, nothing arriving) from callprobe.js;
// - the failure report (callprobe.js's report(): what a person copies);
// - the video bitrate cap (bandwidth.js), applied again each time
//   negotiation settles;
// - one sender per kind, so a device switch or a screen share is a
//   replaceTrack on every link.
//
// The policy watches `connectionState` (ICE and DTLS together); the ICE
// state is logged too ("ice connection: ..."), for the diagnostics log.
// What a failure means to a person (end the call, or mark a tile) is the
// owner's: the link only emits events.

import { applyVideoCap } from "./bandwidth.js";
import { createCallProbe } from "./callprobe.js";
import { createNegotiation } from "./negotiation.js";
import { createQualityMeter } from "./stats.js";

const KINDS = ["audio", "video"];

/**
 * Make a link. options:
 * - config: the RTCConfiguration ({iceServers, iceTransportPolicy});
 * - polite: this side's perfect-negotiation role;
 * - restarter: this side restarts ICE (the pair's first offerer);
 * - signal({description} | {candidate}): to the other side;
 * - beforeAnswer(): optional, async, before the first answer (to send on the
 *   offered transceivers);
 * - timing: {iceGraceMs, connectTimeoutMs};
 * - log(text).
 * Events (on(type, fn), returns a function that stops listening):
 * "track" {track, streams}; "gathered" {side} (candidate gathering complete);
 * "state" {state: "connected" | "reconnecting"}; "quality" {word};
 * "first-frame" {ttffMs, route}; "silent" (connected, nothing arrives);
 * "failed" {problem} (a diagnosis.js code, or "connection-lost" or
 * "setup-failed" with `error`): once, unless the link connects after all
 * (then "state" connected follows).
 * Returns the link object at the end of this function.
 */
export function createPeerLink({ config, polite, restarter, signal, beforeAnswer, timing, log = () => {} }) {
  const pc = new RTCPeerConnection(config);
  const relayOnly = config.iceTransportPolicy === "relay";
  const probe = createCallProbe(pc, config, performance.now());
  const listeners = new Map();
  const timers = new Set();
  const senders = {}; // kind -> the RTCRtpSender this side sends that kind on
  let graceTimer = null;
  let restartTimer = null;
  let everConnected = false;
  let connected = false;
  let restarting = false;
  let problem = "";
  let held = false; // the owner holds the link (waiting for the other page): no policy
  let closed = false;
  let theirs = null; // the other side's `call-diagnosis`, when it sends one
  let cap = null;
  let capped = Promise.resolve();
  const meter = createQualityMeter({ getPc: () => pc, onRating: (word) => emit("quality", { word }) });

  function emit(type, detail = {}) {
    for (const handler of listeners.get(type) ?? []) handler(detail);
  }

  function later(ms, fn) {
    const id = setTimeout(() => {
      timers.delete(id);
      if (!closed && !problem && !held) fn();
    }, ms);
    timers.add(id);
    return id;
  }

  function forget(id) {
    clearTimeout(id);
    timers.delete(id);
  }

  function fail(code, error) {
    if (problem || closed) return;
    problem = code;
    for (const id of timers) clearTimeout(id);
    timers.clear();
    meter.stop();
    log(`link failed: ${code}`);
    emit("failed", { problem: code, error });
  }

  /** Relay only, and this side got no relay candidate: no restart can help. */
  function noRelay() {
    return relayOnly && probe.side().candidates.relay === 0;
  }

  function diagnosed() {
    return probe.problem(theirs);
  }

  pc.addEventListener("track", ({ track, streams }) => emit("track", { track, streams }));
  pc.addEventListener("icecandidateerror", (e) => {
    log(`icecandidateerror ${e.url ?? ""} ${e.errorCode} ${e.errorText ?? ""}`.trim());
  });
  pc.addEventListener("icegatheringstatechange", () => {
    log(`ice gathering: ${pc.iceGatheringState}`);
    if (pc.iceGatheringState !== "complete" || closed) return;
    emit("gathered", { side: probe.side() });
    if (noRelay()) fail(diagnosed());
  });
  pc.addEventListener("iceconnectionstatechange", () => log(`ice connection: ${pc.iceConnectionState}`));
  pc.addEventListener("connectionstatechange", onConnectionState);
  // Encodings exist only once negotiated: cap again each time it settles.
  pc.addEventListener("signalingstatechange", () => {
    if (pc.signalingState === "stable" && cap) applyCap();
  });

  const negotiation = createNegotiation({
    pc,
    polite,
    log,
    signal: (message) => !closed && signal(message),
    beforeAnswer,
    onError: (error) => {
      log(`negotiation error: ${error.message}`);
      fail("setup-failed", error);
    },
  });
  later(timing.connectTimeoutMs, () => connected || fail(diagnosed()));

  function onConnectionState() {
    if (closed || held) return;
    const state = pc.connectionState;
    if (problem) {
      // A group call keeps a failed link open: one that connects after all is well again.
      if (state !== "connected" || problem === "setup-failed") return;
      problem = "";
    }
    if (state === "connected") onConnected();
    else if (state === "disconnected") {
      connected = false;
      emit("state", { state: "reconnecting" });
      // A short loss often heals by itself; if it does not, look for a new path.
      forget(graceTimer);
      graceTimer = later(timing.iceGraceMs, () => pc.connectionState === "disconnected" && restart());
    } else if (state === "failed") {
      connected = false;
      forget(graceTimer);
      restart();
    }
  }

  function onConnected() {
    forget(graceTimer);
    forget(restartTimer);
    for (const id of timers) clearTimeout(id); // the connect timeout too
    timers.clear();
    connected = true;
    restarting = false;
    meter.start();
    emit("state", { state: "connected" });
    if (everConnected) return;
    everConnected = true;
    probe.watchMedia({
      alive: () => !closed && !held,
      onFirstFrame: (ttffMs, route) => emit("first-frame", { ttffMs, route }),
      onSilent: () => emit("silent"),
    });
  }

  /**
   * Look for a new path (a changed network, a restarted relay). One attempt
   * at a time: if it fails too, or has not connected after connectTimeoutMs,
   * the link fails with "connection-lost".
   */
  function restart() {
    // Relay only: without a relay candidate, or with one that never carried a byte, no new try helps.
    if (noRelay() || (relayOnly && !everConnected)) return fail(diagnosed());
    if (restarting) return giveUp();
    restarting = true;
    emit("state", { state: "reconnecting" });
    if (restarter) {
      log("ice: restarting ICE");
      negotiation.restartIce();
    } else {
      log("ice: waiting for their ICE restart");
    }
    restartTimer = later(timing.connectTimeoutMs, () => connected || giveUp());
  }

  /** A restart did not help: a link that had connected lost it; one that never did says why. */
  function giveUp() {
    fail(everConnected ? "connection-lost" : diagnosed());
  }

  function applyCap() {
    const wanted = cap;
    capped = capped
      .then(() => (pc.signalingState === "closed" ? true : applyVideoCap(pc, wanted)))
      .catch((error) => log(`bandwidth cap not applied: ${error.message}`));
  }

  return {
    pc,
    /** Feed one incoming {description} or {candidate} from the other side. */
    dispatch(message) {
      if (closed) return;
      if (message.description) negotiation.dispatch({ description: message.description });
      else if (message.candidate) negotiation.dispatch({ candidate: message.candidate });
    },
    /** Listen to an event (see above); returns a function that stops listening. */
    on(type, handler) {
      if (!listeners.has(type)) listeners.set(type, new Set());
      listeners.get(type).add(handler);
      return () => listeners.get(type)?.delete(handler);
    },
    /** Send `track` of its kind: on this link's sender of that kind, else a new one (renegotiates). */
    async send(track, stream) {
      const sender = senders[track.kind];
      if (sender) await sender.replaceTrack(track);
      else senders[track.kind] = pc.addTrack(track, stream);
    },
    /** Send every track of `stream` (the first offer, or the answer to it). */
    sendAll(stream) {
      for (const track of stream.getTracks()) senders[track.kind] ??= pc.addTrack(track, stream);
    },
    /**
     * One sendrecv transceiver per kind, even without a track (a camera
     * switched on later is a replaceTrack, not a renegotiation); the video
     * one starts with the cap.
     */
    offerTransceivers(stream, tracks) {
      for (const kind of KINDS) {
        const init = { direction: "sendrecv", streams: [stream] };
        if (kind === "video" && cap) {
          init.sendEncodings = [{ maxBitrate: cap.maxBitrate, scaleResolutionDownBy: cap.scaleResolutionDownBy }];
        }
        senders[kind] = pc.addTransceiver(tracks[kind] ?? kind, init).sender;
      }
    },
    /** After the first offer: send on the offered transceivers (one per kind) rather than new ones. */
    async answerOnTransceivers(stream, tracks) {
      for (const kind of KINDS) {
        const transceiver = pc.getTransceivers().find((t) => t.receiver.track.kind === kind);
        if (!transceiver) continue;
        transceiver.direction = "sendrecv";
        transceiver.sender.setStreams(stream);
        await transceiver.sender.replaceTrack(tracks[kind]);
        senders[kind] = transceiver.sender;
      }
    },
    /** Put `track` (or null) on the sender of `kind`, if this link has one; true when it did. */
    async replaceTrack(kind, track) {
      if (!senders[kind]) return false;
      await senders[kind].replaceTrack(track);
      return true;
    },
    /** This side's sender of `kind`, or null. */
    sender: (kind) => senders[kind] ?? null,
    /** Cap the video senders (bandwidth.js senderCap), now and whenever negotiation settles. */
    setVideoCap(next) {
      cap = next;
      applyCap();
    },
    /** Wait until every cap asked for so far has been applied. */
    capped: () => capped,
    /** The other side told us its gathering (`call-diagnosis`): both sides name the cause. */
    setTheirs(side) {
      theirs = side;
    },
    /** The cause this side can name now (diagnosis.js code). */
    problem: diagnosed,
    /** This side's gathering, as sent in `call-diagnosis`. */
    side: () => probe.side(),
    /** Everything a person can copy about this link (callprobe.js report) plus `extra`. */
    report: (extra) => probe.report({ ...extra, theirs: extra.theirs ?? theirs }),
    /** Connected at least once. */
    everConnected: () => everConnected,
    /** Stop the policy: the other page is gone and will ring back on a new link. */
    hold() {
      held = true;
      meter.stop();
    },
    /** Close the connection and stop every timer; no more events. */
    close() {
      if (closed) return;
      closed = true;
      for (const id of timers) clearTimeout(id);
      timers.clear();
      meter.stop();
      listeners.clear();
      pc.close();
    },
  };
}
