// Test harness for the NAT tests: one RTCPeerConnection per page, driven from
// Python with page.evaluate("natPeer.<step>(...)"). Descriptions are exchanged
// whole, after gathering completes, so no trickle relay is needed.
window.natPeer = (() => {
  let pc = null;
  const candidates = [];
  const errors = [];

  function gatheringDone(timeoutMs) {
    if (pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      pc.addEventListener("icegatheringstatechange", () => {
        if (pc.iceGatheringState === "complete") {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  }

  async function open(config, withCamera) {
    pc = new RTCPeerConnection(config);
    pc.addEventListener("icecandidate", (event) => {
      if (event.candidate && event.candidate.candidate) candidates.push(event.candidate.candidate);
    });
    pc.addEventListener("icecandidateerror", (event) => {
      errors.push({ url: event.url, code: event.errorCode, text: event.errorText });
    });
    if (withCamera) {
      const stream = await navigator.mediaDevices.getUserMedia({ video: true });
      for (const track of stream.getTracks()) pc.addTrack(track, stream);
    } else {
      pc.createDataChannel("probe");
    }
  }

  async function describe(timeoutMs) {
    await pc.setLocalDescription();
    await gatheringDone(timeoutMs);
    return { type: pc.localDescription.type, sdp: pc.localDescription.sdp };
  }

  async function answer(offer, timeoutMs) {
    await pc.setRemoteDescription(offer);
    return describe(timeoutMs);
  }

  async function accept(remoteAnswer) {
    await pc.setRemoteDescription(remoteAnswer);
  }

  async function report() {
    const stats = await pc.getStats();
    let pair = null;
    let framesDecoded = 0;
    stats.forEach((entry) => {
      if (entry.type === "transport" && entry.selectedCandidatePairId) {
        pair = stats.get(entry.selectedCandidatePairId);
      }
      if (entry.type === "inbound-rtp" && entry.kind === "video") {
        framesDecoded += entry.framesDecoded || 0;
      }
    });
    const local = pair ? stats.get(pair.localCandidateId) : null;
    const remote = pair ? stats.get(pair.remoteCandidateId) : null;
    const localCandidates = [];
    stats.forEach((entry) => {
      if (entry.type === "local-candidate") {
        localCandidates.push({ type: entry.candidateType, address: entry.address,
                               port: entry.port, url: entry.url ?? null });
      }
    });
    return {
      connectionState: pc.connectionState,
      localType: local ? local.candidateType : null,
      localRelayProtocol: local ? local.relayProtocol ?? null : null,
      remoteType: remote ? remote.candidateType : null,
      framesDecoded,
      candidates: [...candidates],
      errors: [...errors],
      localCandidates,
    };
  }

  return { open, describe, answer, accept, report };
})();
