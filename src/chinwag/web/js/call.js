// Over 400 lines on purpose: one state machine over one call record, whose
// every way out must pass through end(); split, the record's rules would be
// spread over several files.
//
// One call at a time: ringing, accepting, the peer connection's life, and
// ending cleanly. States (the same words as the server and the Python peer),
// with a direction, "outgoing" (we rang) or "incoming" (they rang):
//
//   idle -> ringing -> connecting -> active -> ended -> idle
//
// Every way out goes through end(), which stops every local track and closes
// the peer connection, so a call is never left half-open. Message types and
// rules: docs/protocol.md, "Ringing". The connection is one peer link
// (peerlink.js: negotiation, ICE restart policy, health, quality, failure
// report, bitrate cap), the same engine each pair of a group call uses: a
// one-to-one call is a call of two. The caller is the link's first offerer,
// so it is the side that restarts ICE.
//
// Rejoining (docs/web-client.md, "Reload"): a page reloaded mid-call, or
// signed in as a new session after a drop, sends its partner a `call-invite`
// with `rejoin: true`. The partner, still in the call (or waiting after a
// `hang-up` "gone"), answers it at once with `call-accept` and a fresh peer
// connection; it shows "Reconnecting…" meanwhile, never "left".

import { senderCap } from "./bandwidth.js";
import { copyReport } from "./callprobe.js";
import { createControls } from "./controls.js";
import { MediaProblem, openCallMedia } from "./media.js";
import { createPeerLink } from "./peerlink.js";
import { S } from "./strings.js";
import { formatDuration } from "./ui.js";

const REJOIN_WAIT_MS = 10000; // how long a partner that vanished may take to come back
const IN_CALL = new Set(["connecting", "active"]);

/**
 * Create the call controller.
 * options: send(msg), self() -> our name, online() -> signed in now,
 * iceConfig() -> RTCConfiguration, ringTimeoutMs() -> number, view
 * (callview.js), log(text), timing: {iceGraceMs, connectTimeoutMs},
 * onChange({peer, direction, startedAt} | null) whenever a call starts
 * connecting or ends (app.js keeps it for a reload).
 * Returns {handle(msg) -> boolean, call(name), accept(), decline(), cancel(),
 * hangUp(), toggleMute(), toggleCamera(), toggleScreen(), switchDevice(kind, id),
 * rejoin(saved), sessionLost(), state(), debug}.
 */
export function createCall({ send, self, online, iceConfig, ringTimeoutMs, view, log, timing, onChange }) {
  let c = null; // the current call, or null when idle
  let lastTracks = []; // local tracks of the current or last call (test hook)
  const controls = createControls({
    current: () => c,
    view,
    outlet: {
      async send(call, kind, track) {
        if (!call.link) return;
        if (track) await call.link.send(track, call.stream);
        else await call.link.replaceTrack(kind, null);
      },
      show: (call, stream, source) => (source === "screen" ? view.setLocalPreview(stream.getVideoTracks()[0]) : view.setLocalStream(stream)),
      announce: (call, state) => sendTo("media-state", state),
      linked: (call) => Boolean(call.link),
    },
  });
  const { sendMediaState } = controls;

  function setState(next) {
    log(`call ${c?.state ?? "idle"} -> ${next}${c ? ` (${c.peer}, ${c.direction})` : ""}`);
    if (c) c.state = next;
    view.setState(next, c?.direction ?? "");
    if (c && IN_CALL.has(next)) onChange({ peer: c.peer, direction: c.direction, startedAt: c.startedAt ?? null });
  }

  function newCall(peer, state, direction, extra = {}) {
    c = { peer, direction, state: "idle", tracks: [], early: [], timers: new Set(), ...extra };
    lastTracks = c.tracks;
    setState(state);
    return c;
  }

  const isRinging = (direction) => c?.state === "ringing" && c.direction === direction;

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

  /** How long the call has had media, as "3:05", or "" if it never had. */
  function length(call) {
    return call.startedAt ? formatDuration((Date.now() - call.startedAt) / 1000) : "";
  }

  /** End the call: stop all local media, close the connection, show a notice (with actions). */
  function end(text = "", kind = "info", actions = []) {
    if (!c) return;
    const call = c;
    setState("ended");
    c = null;
    for (const id of call.timers) clearTimeout(id);
    for (const track of call.tracks) track.stop();
    call.link?.close();
    log(`call ended -> idle (${call.peer})`);
    onChange(null);
    view.reset();
    view.setState("idle");
    if (text) view.notice(text, kind, actions);
  }

  // ---- per-call diagnosis (the link collects, diagnosis.js reasons) -------

  /**
   * The call failed for `problem` (a diagnosis.js code): tell the partner why
   * (`call-diagnosis`), the server (`call-report`), then hang up and say it in
   * one sentence with a "Copy report" action.
   */
  function failWith(call, problem, words = S.callProblem[problem](call.peer)) {
    sendTo("call-diagnosis", { ...call.link.side(), problem });
    sendTo("call-report", { outcome: "failed", reason: problem });
    const details = call.link.report({ peer: call.peer, problem, words });
    sendTo("hang-up", { reason: "failed" });
    end(words, "error", [copyAction(details)]);
  }

  /** The partner hung up because the call failed: say why, from what both sides told. */
  function partnerFailed(call) {
    const ownGuess = call.link && !call.link.everConnected() ? call.link.problem() : "";
    const problem = call.theirs?.problem ?? ownGuess;
    const words = S.callProblem[problem]?.(call.peer) ?? S.peerFailed(call.peer);
    const details = call.link?.report({ peer: call.peer, problem, words });
    end(words, "error", details ? [copyAction(details)] : []);
  }

  /** Connected, but nothing arrives: say so here, and tell the partner and the server. */
  function nothingArrives(call) {
    sendTo("call-diagnosis", { ...call.link.side(), receiving: false });
    sendTo("call-report", { outcome: "failed", reason: "one-way-media" });
    const words = S.nothingArrives(call.peer);
    const details = call.link.report({ peer: call.peer, problem: "one-way-media", direction: "incoming", words });
    view.notice(words, "error", [copyAction(details)]);
  }

  function onDiagnosis(msg) {
    if (!c || c.peer !== msg.name) return;
    c.theirs = msg;
    c.link?.setTheirs(msg);
    if (msg.receiving === false && c.link) {
      const words = S.nothingReaches(c.peer);
      const details = c.link.report({ peer: c.peer, problem: "one-way-media", direction: "outgoing", words, theirs: msg });
      view.notice(words, "error", [copyAction(details)]);
    }
  }

  /** The notice action that puts the report (JSON) on the clipboard. */
  function copyAction(details) {
    return [S.copyReport, () => copyReport(details, view.notice)];
  }

  // ---- local media -------------------------------------------------------

  async function acquireMedia(call) {
    // The pre-join screen's stream, if the person came through it.
    const stream =
      view.preparedMedia() ?? (await openCallMedia({ devices: view.chosenDevices(), confirm: view.offerOnly }));
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

  // ---- the peer link -----------------------------------------------------

  /** A link to the partner; polite: we are the callee (the caller offers, and restarts ICE). */
  function startPeer(call, polite) {
    const link = createPeerLink({
      config: iceConfig(),
      polite,
      restarter: !polite,
      timing,
      log,
      signal: ({ description, candidate }) => {
        if (c !== call || call.link !== link) return;
        if (description) {
          const type = description.type === "offer" ? "video-offer" : "video-answer";
          sendTo(type, { sdp: { type: description.type, sdp: description.sdp } });
        } else {
          sendTo("new-ice-candidate", { candidate: candidate.toJSON() });
        }
      },
      beforeAnswer: polite ? () => link.sendAll(call.stream) : undefined,
    });
    call.link = link;
    link.setTheirs(call.theirs ?? null);
    link.setVideoCap(senderCap(2)); // a call of two
    view.setPeerConnection(link.pc);
    const ours = (handler) => (detail) => c === call && call.link === link && handler(detail);
    link.on(
      "track",
      ours(({ track, streams }) => {
        // A peer that sends tracks without a stream still gets one <video> for both kinds.
        if (!streams[0]) (call.looseTracks ??= new MediaStream()).addTrack(track);
        view.setRemoteStream(streams[0] ?? call.looseTracks);
      }),
    );
    // So the partner can name the cause too.
    link.on("gathered", ours(({ side }) => sendTo("call-diagnosis", side)));
    link.on("state", ours(({ state }) => linkState(call, state)));
    link.on("quality", ours(({ word }) => view.quality(word)));
    link.on(
      "first-frame",
      ours(({ ttffMs, route }) => {
        sendTo("call-connected"); // media flows: the server's call state becomes active
        sendTo("call-report", { outcome: "connected", ttff_ms: ttffMs, local: route?.local, remote: route?.remote });
      }),
    );
    link.on("silent", ours(() => nothingArrives(call)));
    link.on("failed", ours(({ problem, error }) => linkFailed(call, problem, error)));
    if (!polite) {
      link.sendAll(call.stream);
      // Nothing of a kind to send (listen only, audio only): still offer to receive it.
      for (const kind of ["audio", "video"]) {
        if (!call.stream.getTracks().some((t) => t.kind === kind)) link.pc.addTransceiver(kind, { direction: "recvonly" });
      }
    }
    for (const msg of call.early.splice(0)) dispatchSignal(msg);
  }

  function linkState(call, state) {
    if (state !== "connected") {
      if (!call.awaitingRejoin) view.phase(S.reconnectingPhase);
      return;
    }
    view.phase("");
    if (call.state === "active") return;
    call.startedAt ??= Date.now();
    setState("active");
    view.connected(call.peer, call.startedAt);
    sendMediaState();
  }

  function linkFailed(call, problem, error) {
    if (problem === "setup-failed") failWith(call, problem, S.setupFailed(error.message));
    else if (problem === "connection-lost") failWith(call, problem, S.connectionLost(call.peer));
    else failWith(call, problem);
  }

  function dispatchSignal(msg) {
    if (msg.type === "new-ice-candidate") {
      if (msg.candidate) c.link.dispatch({ candidate: msg.candidate });
    } else if (msg.sdp && typeof msg.sdp.sdp === "string") {
      c.link.dispatch({ description: { type: msg.sdp.type, sdp: msg.sdp.sdp } });
    }
  }

  // ---- incoming messages -------------------------------------------------

  function onInvite(msg) {
    const from = msg.name;
    if (!c) {
      newCall(from, "ringing", "incoming");
      missAfterTimeout(from, msg.media);
    } else if (c.peer === from && isRinging("outgoing")) {
      // Invite glare: the lower name accepts and becomes the callee.
      if (self() < from) becomeCallee();
    } else if (c.peer === from && (IN_CALL.has(c.state) || c.awaitingRejoin)) {
      // Our partner lost their page or session and rings back: take the call up again.
      // Both rejoining at once is glare again: the lower name answers.
      if (!c.rejoining || self() < from) answerRejoin(c);
    } else if (c.peer !== from) {
      send({ type: "call-decline", target: from, reason: "busy" });
      view.notice(S.triedToCall(from));
      view.missed(from);
    }
  }

  /** Ring on our side; the prompt goes away by itself if the caller never says more. */
  function missAfterTimeout(from, media) {
    view.incoming(from, media);
    later(ringTimeoutMs() + 5000, () => isRinging("incoming") && missed(from));
  }

  function missed(from) {
    end();
    view.missed(from);
  }

  /** A fresh peer connection for the same call (the old one's other end is gone). */
  function dropPeer(call) {
    call.link?.close();
    call.link = null;
    view.setPeerConnection(null);
    call.early = [];
    clearTimeout(call.rejoinTimer);
    if (call.screenTrack) {
      call.screenTrack.stop();
      call.screenTrack = null;
      view.setLocalStream(call.stream);
    }
  }

  /** The partner rang back after a reload: answer as the callee on a new connection. */
  function answerRejoin(call) {
    log(`call: ${call.peer} rejoins`);
    dropPeer(call);
    call.awaitingRejoin = false;
    call.rejoining = false;
    setState("connecting");
    view.phase(S.reconnectingPhase);
    send({ type: "call-accept", target: call.peer });
    startPeer(call, true);
  }

  /** Ring our partner back on a new session or page; they answer at once. */
  function sendRejoin(call) {
    dropPeer(call);
    call.rejoining = true;
    setState("connecting");
    view.phase(S.reconnectingPhase);
    const media = { audio: call.stream.getAudioTracks().length > 0, video: call.stream.getVideoTracks().length > 0 };
    send({ type: "call-invite", target: call.peer, media, rejoin: true });
    call.rejoinTimer = later(REJOIN_WAIT_MS, () => call.rejoining && end(S.connectionLost(call.peer), "error"));
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
      if (c.rejoining) return; // from the connection before the reload: stale
      if (c.link) dispatchSignal(msg);
      else if (isRinging("outgoing")) {
        // They called us (plain offer) while we rang them: take their call.
        c.early.push(msg);
        c.fromReference = true;
        becomeCallee();
      } else c.early.push(msg);
    } else if (!c) {
      // A reference client calls with a plain offer: ring like an invite.
      newCall(from, "ringing", "incoming", { fromReference: true, early: [msg] });
      missAfterTimeout(from);
    } else {
      send({ type: "call-decline", target: from, reason: "busy" });
      send({ type: "hang-up", name: self(), target: from, reason: "busy" });
    }
  }

  function onAccept(msg) {
    if (!c || c.peer !== msg.name) return;
    const call = c;
    if (call.rejoining) {
      call.rejoining = false;
      clearTimeout(call.rejoinTimer);
      startPeer(call, false);
      return;
    }
    if (!isRinging("outgoing")) return;
    setState("connecting");
    view.connecting(call.peer);
    startPeer(call, false);
  }

  function onDecline(msg) {
    if (!c || c.peer !== msg.name || isRinging("incoming")) return;
    const words = S.declined[msg.reason] ?? S.declined.declined;
    end(words(c.peer), msg.reason === "declined" ? "info" : "error");
  }

  function onHangUp(msg) {
    if (!c || c.peer !== msg.name) return;
    if (isRinging("incoming")) return missed(c.peer);
    if (msg.reason === "gone" && IN_CALL.has(c.state) && c.stream) return awaitRejoin(c);
    if (msg.reason === "failed") return partnerFailed(c);
    end(S.hungUp(c.peer, length(c)));
  }

  /**
   * The server says our partner is gone (their page closed or reloaded): hold
   * the call, showing "Reconnecting…", until they ring back or the wait ends.
   */
  function awaitRejoin(call) {
    log(`call: ${call.peer} gone; waiting ${REJOIN_WAIT_MS} ms for a rejoin`);
    call.awaitingRejoin = true;
    call.link?.hold(); // no ICE restart towards a page that is gone: it rings back
    view.phase(S.reconnectingPhase);
    view.notice(S.peerReconnecting(call.peer));
    call.rejoinTimer = later(REJOIN_WAIT_MS, () => call.awaitingRejoin && end(S.peerLeft(call.peer)));
  }

  const handlers = {
    "call-invite": onInvite,
    "video-offer": onOffer,
    "call-accept": onAccept,
    "call-decline": onDecline,
    "hang-up": onHangUp,
    "video-answer": (msg) => {
      if (c?.peer === msg.name && c.link) dispatchSignal(msg);
    },
    "new-ice-candidate": (msg) => {
      if (!c || c.peer !== msg.name || c.rejoining) return;
      if (c.link) dispatchSignal(msg);
      else c.early.push(msg);
    },
    "call-diagnosis": onDiagnosis,
    // The partner's media flows (it moved the server's call to `active`); this
    // page judges its own side from its own stats, so nothing more to do.
    "call-connected": () => {},
    "media-state": (msg) => {
      if (c?.peer === msg.name) view.remoteMediaState(msg);
    },
    error: (msg) => {
      if (!c || msg.code !== "no-such-user" || msg.target !== c.peer) return false;
      // Ringing back after a reload: the partner may itself be reloading; the wait goes on.
      if (!c.rejoining) end(S.notOnline(c.peer), "error");
      return true;
    },
  };

  // ---- what a person does --------------------------------------------------

  async function call(name) {
    if (name === self()) return;
    if (isRinging("incoming") && c.peer === name) return accept(); // they rang first
    if (c) {
      view.notice(S.finishCallFirst, "error");
      return;
    }
    if (!online()) {
      view.notice(S.offlineNoCall, "error");
      return;
    }
    const callState = newCall(name, "ringing", "outgoing");
    view.outgoing(name);
    callState.media = acquireMedia(callState);
    try {
      await callState.media;
    } catch (problem) {
      if (c === callState) end(problem.message, "error");
      return;
    }
    if (c !== callState || !isRinging("outgoing")) return;
    // The kind of call (an audio call has no video), not what this side happens to send.
    const media = { audio: true, video: view.chosenDevices().video !== false };
    send({ type: "call-invite", target: name, media });
    callState.invited = true;
    later(ringTimeoutMs(), () => {
      if (!isRinging("outgoing")) return;
      sendTo("hang-up", { reason: "no-answer" });
      end(S.noAnswer(name));
    });
  }

  async function accept() {
    if (!isRinging("incoming")) return;
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
    if (!isRinging("incoming")) return;
    send({ type: "call-decline", target: c.peer, reason: "declined" });
    if (c.fromReference) sendTo("hang-up", { reason: "declined" });
    end();
  }

  function cancel() {
    if (!isRinging("outgoing")) return;
    if (c.invited) sendTo("hang-up", { reason: "cancelled" });
    end();
  }

  function hangUp() {
    if (!c) return;
    if (isRinging("incoming")) return decline();
    if (isRinging("outgoing")) return cancel();
    sendTo("hang-up", { reason: "hung-up" });
    // The one who hangs up hears it ended too, and how long it lasted.
    end(S.callEnded(c.peer, length(c)));
  }

  /** After a reload: the call that was going on ({peer, direction, startedAt}) comes back. */
  async function rejoin(saved) {
    if (c || !saved?.peer) return;
    const call = newCall(saved.peer, "connecting", saved.direction ?? "outgoing", { startedAt: saved.startedAt ?? undefined });
    view.connecting(call.peer);
    view.phase(S.reconnectingPhase);
    view.notice(S.rejoining(call.peer));
    call.media = acquireMedia(call);
    try {
      await call.media;
    } catch (problem) {
      if (c === call) end(problem.message, "error");
      return;
    }
    if (c === call) sendRejoin(call);
  }

  return {
    /** Handle a call-related message; returns true when it was one. */
    handle(msg) {
      const handler = handlers[msg.type];
      if (!handler) return false;
      return handler(msg) !== false;
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
      if (c && IN_CALL.has(c.state) && c.stream) sendRejoin(c);
      else end(S.serverLost, "error");
    },
    rejoin,
    state: () => c?.state ?? "idle",
    /** Test hook (window.chinwag.debug): the current connection and local tracks. */
    debug: {
      get pc() {
        return c?.link?.pc ?? null;
      },
      get localTracks() {
        return lastTracks;
      },
      get state() {
        return c?.state ?? "idle";
      },
      get direction() {
        return c?.direction ?? "";
      },
    },
  };
}
