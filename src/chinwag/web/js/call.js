// One call at a time: ringing, accepting, the peer connection's life, and
// ending cleanly. States:
//
//   idle -> outgoing (we ring them) -> connecting -> active -> idle
//   idle -> incoming (they ring us) -> connecting -> active -> idle
//
// Every way out goes through end(), which stops every local track and closes
// the peer connection, so a call is never left half-open. Message types and
// rules: docs/protocol.md, "Ringing". Negotiation itself is negotiation.js.

import { createControls } from "./controls.js";
import { MediaProblem, openUserMedia } from "./media.js";
import { createNegotiation } from "./negotiation.js";

const DECLINE_WORDS = {
  declined: (n) => `${n} declined`,
  busy: (n) => `${n} is busy in another call`,
  "no-media": (n) => `${n} has no camera or microphone that works`,
  "permission-denied": (n) => `${n} could not use their camera or microphone (permission denied)`,
  "in-use": (n) => `${n}'s camera or microphone is in use by another application`,
};
const HANGUP_WORDS = {
  gone: (n) => `${n} left; the call ended`,
  failed: (n) => `The connection to ${n} failed; the call ended`,
};
const RELAY_UNREACHABLE = "Could not reach the relay server";

/**
 * Create the call controller.
 * options: send(msg), self() -> our name, iceConfig() -> RTCConfiguration,
 * ringTimeoutMs() -> number, view (callview.js), log(text),
 * timing: {iceGraceMs, connectTimeoutMs}.
 * Returns {handle(msg) -> boolean, call(name), accept(), decline(), cancel(),
 * hangUp(), toggleMute(), toggleCamera(), toggleScreen(), switchDevice(kind, id),
 * sessionLost(), state(), debug}.
 */
export function createCall({ send, self, iceConfig, ringTimeoutMs, view, log, timing }) {
  let c = null; // the current call, or null when idle
  let lastTracks = []; // local tracks of the current or last call (test hook)
  const controls = createControls({ current: () => c, sendTo, view });
  const { sendMediaState } = controls;

  function setState(next) {
    log(`call ${c?.state ?? "idle"} -> ${next}${c ? ` (${c.peer})` : ""}`);
    if (c) c.state = next;
    view.setState(next);
  }

  function newCall(peer, state, extra = {}) {
    c = { peer, state: "idle", tracks: [], early: [], timers: new Set(), senders: {}, ...extra };
    lastTracks = c.tracks;
    setState(state);
    return c;
  }

  function later(ms, fn) {
    const call = c;
    const id = setTimeout(() => {
      call.timers.delete(id);
      if (c === call) fn();
    }, ms);
    call.timers.add(id);
    return id;
  }

  function sendTo(type, fields = {}) {
    if (c) send({ type, name: self(), target: c.peer, ...fields });
  }

  /** End the call: stop all local media, close the connection, show a notice. */
  function end(text = "", kind = "info") {
    if (!c) return;
    const call = c;
    c = null;
    for (const id of call.timers) clearTimeout(id);
    for (const track of call.tracks) track.stop();
    if (call.pc) call.pc.close();
    log(`call ${call.state} -> idle (${call.peer})`);
    view.reset();
    view.setState("idle");
    if (text) view.notice(text, kind);
  }

  function fail(text) {
    sendTo("hang-up", { reason: "failed" });
    end(text, "error");
  }

  // ---- local media -------------------------------------------------------

  async function acquireMedia(call) {
    let stream;
    try {
      stream = await openUserMedia({ audio: true, video: true, ...view.chosenDevices() });
    } catch (problem) {
      stream = await offerFallback(problem);
    }
    call.tracks.push(...stream.getTracks());
    if (c !== call) {
      // The call ended while the camera was opening: end() has run, so stop these here.
      for (const track of stream.getTracks()) track.stop();
      throw new MediaProblem("failed", "");
    }
    call.stream = stream;
    view.setLocalStream(stream);
    return stream;
  }

  /**
   * One kind is missing (or refused) and the other works: ask whether to go on
   * with the other alone; resolves to its stream, or rethrows the problem.
   */
  async function offerFallback(problem) {
    const { available } = problem;
    const oneKindLeft = problem.reason === "no-media" || problem.reason === "permission-denied";
    if (!(problem instanceof MediaProblem) || !oneKindLeft) throw problem;
    if (available.audio === available.video) throw problem; // neither, or both yet it failed
    const only = available.audio ? "audio" : "video";
    const label = only === "audio" ? "Audio only" : "Video only";
    const go = await view.ask(`${problem.message} Continue with ${label.toLowerCase()}?`, [
      [true, label],
      [false, "Cancel"],
    ]);
    if (!go) throw problem;
    return openUserMedia({ audio: only === "audio", video: only === "video" });
  }

  // ---- the peer connection -----------------------------------------------

  function startPeer(call, polite) {
    const config = iceConfig();
    const pc = new RTCPeerConnection(config);
    call.pc = pc;
    call.relayOnly = config.iceTransportPolicy === "relay";
    call.relayCandidates = 0;
    pc.addEventListener("track", ({ track, streams }) => {
      // A peer that sends tracks without a stream still gets one <video> for both kinds.
      if (!streams[0]) (call.looseTracks ??= new MediaStream()).addTrack(track);
      view.setRemoteStream(streams[0] ?? call.looseTracks);
    });
    pc.addEventListener("icecandidate", ({ candidate }) => {
      if (candidate?.type === "relay") call.relayCandidates += 1;
    });
    pc.addEventListener("icecandidateerror", (e) => {
      log(`icecandidateerror ${e.url ?? ""} ${e.errorCode} ${e.errorText ?? ""}`.trim());
    });
    pc.addEventListener("icegatheringstatechange", () => {
      log(`ice gathering: ${pc.iceGatheringState}`);
      const noRelay = call.relayOnly && call.relayCandidates === 0;
      if (pc.iceGatheringState === "complete" && noRelay && c === call) fail(RELAY_UNREACHABLE);
    });
    pc.addEventListener("iceconnectionstatechange", () => onIceState(call));
    call.negotiation = createNegotiation({
      pc,
      polite,
      log,
      signal: ({ description, candidate }) => {
        if (c !== call) return;
        if (description) {
          const type = description.type === "offer" ? "video-offer" : "video-answer";
          sendTo(type, { sdp: { type: description.type, sdp: description.sdp } });
        } else {
          sendTo("new-ice-candidate", { candidate: candidate.toJSON() });
        }
      },
      beforeAnswer: polite ? () => addTracks(call) : undefined,
      onError: (error) => {
        log(`negotiation error: ${error.message}`);
        if (c === call) fail(`The call could not be set up: ${error.message}`);
      },
    });
    later(timing.connectTimeoutMs, () => {
      if (c.state !== "active") fail(call.relayOnly ? RELAY_UNREACHABLE : "The call could not connect");
    });
    if (!polite) addTracks(call);
    for (const msg of call.early.splice(0)) dispatchSignal(msg);
  }

  /** Send every local track; call.senders keeps one sender per kind for replaceTrack. */
  function addTracks(call) {
    for (const track of call.stream.getTracks()) {
      call.senders[track.kind] = call.pc.addTrack(track, call.stream);
    }
  }

  function onIceState(call) {
    if (c !== call) return;
    const state = call.pc.iceConnectionState;
    log(`ice connection: ${state}`);
    if (state === "connected" || state === "completed") {
      clearTimeout(call.graceTimer);
      clearTimeout(call.restartTimer);
      call.restartingIce = false;
      if (call.state !== "active") {
        setState("active");
        view.connected(call.peer);
        sendMediaState();
      } else view.phase("");
    } else if (state === "disconnected") {
      // A short loss often heals by itself; if it does not, look for a new path.
      clearTimeout(call.graceTimer);
      call.graceTimer = later(timing.iceGraceMs, () => {
        if (call.pc.iceConnectionState === "disconnected") restartIce(call);
      });
    } else if (state === "failed") {
      clearTimeout(call.graceTimer);
      restartIce(call);
    }
  }

  /**
   * Gather new candidates and renegotiate (a changed network, a restarted
   * relay). One attempt at a time: if it fails too, or has not connected after
   * connectTimeoutMs, the call ends.
   */
  function restartIce(call) {
    if (call.relayOnly && call.state !== "active") return fail(RELAY_UNREACHABLE);
    if (call.restartingIce) return fail(`The connection to ${call.peer} was lost`);
    call.restartingIce = true;
    log("ice: restarting ICE");
    view.phase("Reconnecting…");
    call.negotiation.restartIce();
    call.restartTimer = later(timing.connectTimeoutMs, () => {
      if (call.restartingIce) fail(`The connection to ${call.peer} was lost`);
    });
  }

  function dispatchSignal(msg) {
    if (msg.type === "new-ice-candidate") {
      if (msg.candidate) c.negotiation.dispatch({ candidate: msg.candidate });
    } else if (msg.sdp && typeof msg.sdp.sdp === "string") {
      c.negotiation.dispatch({ description: { type: msg.sdp.type, sdp: msg.sdp.sdp } });
    }
  }

  // ---- incoming messages -------------------------------------------------

  function onInvite(msg) {
    const from = msg.name;
    if (!c) {
      newCall(from, "incoming");
      missAfterTimeout(from);
    } else if (c.peer === from && c.state === "outgoing") {
      // Invite glare: the lower name accepts and becomes the callee.
      if (self() < from) becomeCallee();
    } else if (c.peer !== from) {
      send({ type: "call-decline", target: from, reason: "busy" });
    }
  }

  /** Ring on our side; the prompt goes away by itself if the caller never says more. */
  function missAfterTimeout(from) {
    view.incoming(from);
    later(ringTimeoutMs() + 5000, () => c.state === "incoming" && end(`Missed call from ${from}`));
  }

  async function becomeCallee() {
    const call = c;
    setState("connecting");
    view.connecting(call.peer);
    try {
      await call.media;
    } catch {
      return; // acquireMedia's failure already ended the call
    }
    if (c !== call) return;
    if (!call.fromReference) send({ type: "call-accept", target: call.peer });
    startPeer(call, true);
  }

  function onOffer(msg) {
    const from = msg.name;
    if (c && c.peer === from) {
      if (c.negotiation) dispatchSignal(msg);
      else if (c.state === "outgoing") {
        // They called us (plain offer) while we rang them: take their call.
        c.early.push(msg);
        c.fromReference = true;
        becomeCallee();
      } else c.early.push(msg);
    } else if (!c) {
      // A reference client calls with a plain offer: ring like an invite.
      newCall(from, "incoming", { fromReference: true, early: [msg] });
      missAfterTimeout(from);
    } else {
      send({ type: "call-decline", target: from, reason: "busy" });
      send({ type: "hang-up", name: self(), target: from, reason: "busy" });
    }
  }

  function onAccept(msg) {
    if (!c || c.peer !== msg.name || c.state !== "outgoing") return;
    const call = c;
    setState("connecting");
    view.connecting(call.peer);
    startPeer(call, false);
  }

  function onDecline(msg) {
    if (!c || c.peer !== msg.name || c.state === "incoming") return;
    const words = DECLINE_WORDS[msg.reason] ?? DECLINE_WORDS.declined;
    end(words(c.peer), msg.reason === "declined" ? "info" : "error");
  }

  function onHangUp(msg) {
    if (!c || c.peer !== msg.name) return;
    if (c.state === "incoming") return end(`Missed call from ${c.peer}`);
    const words = HANGUP_WORDS[msg.reason] ?? ((n) => `${n} hung up`);
    end(words(c.peer), msg.reason === "failed" ? "error" : "info");
  }

  const handlers = {
    "call-invite": onInvite,
    "video-offer": onOffer,
    "call-accept": onAccept,
    "call-decline": onDecline,
    "hang-up": onHangUp,
    "video-answer": (msg) => c?.peer === msg.name && c.negotiation && dispatchSignal(msg),
    "new-ice-candidate": (msg) => {
      if (!c || c.peer !== msg.name) return;
      if (c.negotiation) dispatchSignal(msg);
      else c.early.push(msg);
    },
    "media-state": (msg) => c?.peer === msg.name && view.remoteMediaState(msg),
    error: (msg) => {
      if (c && msg.code === "no-such-user" && msg.target === c.peer) end(`${c.peer} is not online`, "error");
    },
  };

  // ---- what a person does --------------------------------------------------

  async function call(name) {
    if (name === self()) return;
    if (c?.state === "incoming" && c.peer === name) return accept(); // they rang first
    if (c) {
      view.notice("Finish the current call first.", "error");
      return;
    }
    const callState = newCall(name, "outgoing");
    view.outgoing(name);
    callState.media = acquireMedia(callState);
    try {
      await callState.media;
    } catch (problem) {
      if (c === callState) end(problem.message, "error");
      return;
    }
    if (c !== callState || callState.state !== "outgoing") return;
    const media = { audio: callState.stream.getAudioTracks().length > 0, video: callState.stream.getVideoTracks().length > 0 };
    send({ type: "call-invite", target: name, media });
    callState.invited = true;
    later(ringTimeoutMs(), () => {
      if (c.state !== "outgoing") return;
      sendTo("hang-up", { reason: "no-answer" });
      end(`No answer from ${name}`);
    });
  }

  async function accept() {
    if (!c || c.state !== "incoming") return;
    const call = c;
    setState("connecting");
    view.connecting(call.peer);
    call.media = acquireMedia(call);
    try {
      await call.media;
    } catch (problem) {
      if (c !== call) return;
      const reason = ["permission-denied", "in-use"].includes(problem.reason) ? problem.reason : "no-media";
      send({ type: "call-decline", target: call.peer, reason });
      if (call.fromReference) sendTo("hang-up", { reason: "failed" });
      end(problem.message, "error");
      return;
    }
    if (c !== call) return;
    if (!call.fromReference) send({ type: "call-accept", target: call.peer });
    startPeer(call, true);
  }

  function decline() {
    if (!c || c.state !== "incoming") return;
    send({ type: "call-decline", target: c.peer, reason: "declined" });
    if (c.fromReference) sendTo("hang-up", { reason: "declined" });
    end();
  }

  function cancel() {
    if (!c || c.state !== "outgoing") return;
    if (c.invited) sendTo("hang-up", { reason: "cancelled" });
    end();
  }

  function hangUp() {
    if (!c) return;
    if (c.state === "incoming") return decline();
    if (c.state === "outgoing") return cancel();
    sendTo("hang-up", { reason: "hung-up" });
    end();
  }

  return {
    /** Handle a call-related message; returns true when it was one. */
    handle(msg) {
      const handler = handlers[msg.type];
      if (!handler) return false;
      handler(msg);
      return true;
    },
    call,
    accept,
    decline,
    cancel,
    hangUp,
    toggleMute: () => controls.toggleKind("audio"),
    toggleCamera: () => controls.toggleKind("video"),
    toggleScreen: controls.toggleScreen,
    switchDevice: controls.switchDevice,
    /**
     * The server signed us in as a new session after a drop (no resume): it
     * has told our partner we are gone, so whatever call we had is over. While
     * the socket is merely down, calls go on (media does not need the server)
     * and ringing ends by its own timers.
     */
    sessionLost() {
      end("The connection to the server was lost", "error");
    },
    state: () => c?.state ?? "idle",
    /** Test hook (window.chinwag.debug): the current connection and local tracks. */
    debug: {
      get pc() {
        return c?.pc ?? null;
      },
      get localTracks() {
        return lastTracks;
      },
      get state() {
        return c?.state ?? "idle";
      },
    },
  };
}
