// Perfect negotiation for one RTCPeerConnection, after the webrtc/samples
// "perfect-negotiation" example: one factory, state in a closure, one
// dispatcher for every incoming description and candidate.
//
// Used by both call kinds: call.js for a one-to-one call (docs/protocol.md,
// "Ringing": the callee is polite, the caller impolite) and mesh.js for each
// pair of a room call (the earlier joiner polite, see docs/web-client.md). The
// caller decides the role; nothing here knows which kind of call it serves.
// On an offer collision the impolite side ignores the incoming offer and the
// polite side rolls back its own (setRemoteDescription does that).
// Incoming messages are handled one at a time, in arrival order; candidates
// that arrive before any remote description are held and applied after it.

/**
 * Negotiate on pc. signal(message) sends {description} or {candidate};
 * beforeAnswer() (optional, async) runs once, after the first remote offer is
 * set and before the answer, so the callee's tracks reuse the offered
 * transceivers. onError(error) gets failures that end the negotiation.
 * Returns {dispatch({description} | {candidate}), restartIce()}.
 */
export function createNegotiation({ pc, polite, signal, beforeAnswer, onError, log }) {
  let makingOffer = false;
  let ignoreOffer = false;
  let settingRemoteAnswer = false;
  let answeredOnce = false;
  const heldCandidates = [];
  let queue = Promise.resolve();

  pc.addEventListener("negotiationneeded", async () => {
    try {
      makingOffer = true;
      await pc.setLocalDescription();
      log(`negotiation: sending ${pc.localDescription.type}`);
      signal({ description: pc.localDescription });
    } catch (error) {
      if (pc.signalingState !== "closed") onError(error); // closed: the call ended meanwhile
    } finally {
      makingOffer = false;
    }
  });

  pc.addEventListener("icecandidate", ({ candidate }) => {
    if (candidate) signal({ candidate });
  });

  async function onDescription(description) {
    const readyForOffer =
      !makingOffer && (pc.signalingState === "stable" || settingRemoteAnswer);
    const offerCollision = description.type === "offer" && !readyForOffer;
    ignoreOffer = !polite && offerCollision;
    if (ignoreOffer) {
      log("negotiation: offer collision, ignoring theirs (impolite)");
      return;
    }
    settingRemoteAnswer = description.type === "answer";
    try {
      // An offer that collides with ours rolls ours back (implicit rollback): we are polite.
      await pc.setRemoteDescription(description);
    } finally {
      settingRemoteAnswer = false;
    }
    await applyHeldCandidates();
    if (description.type !== "offer") return;
    if (!answeredOnce && beforeAnswer) await beforeAnswer();
    answeredOnce = true;
    await pc.setLocalDescription();
    log("negotiation: sending answer");
    signal({ description: pc.localDescription });
  }

  async function onCandidate(candidate) {
    if (!pc.remoteDescription) {
      heldCandidates.push(candidate);
      return;
    }
    try {
      await pc.addIceCandidate(candidate);
    } catch (error) {
      // Candidates of an offer we ignored fail to apply; that is expected.
      if (!ignoreOffer) log(`negotiation: candidate not applied: ${error.message}`);
    }
  }

  async function applyHeldCandidates() {
    while (heldCandidates.length) await onCandidate(heldCandidates.shift());
  }

  return {
    /** Feed one incoming {description} or {candidate}; handled in order. */
    dispatch({ description, candidate }) {
      queue = queue
        .then(() => (description ? onDescription(description) : onCandidate(candidate)))
        .catch((error) => onError(error));
      return queue;
    },
    /** Ask for an ICE restart; negotiationneeded sends the new offer. */
    restartIce() {
      pc.restartIce();
    },
  };
}
