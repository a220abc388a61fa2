// Outgoing video caps for a room call (mesh). Each participant encodes its
// video once per peer, so the upload grows with the number of peers; capping
// every per-peer video sender keeps an 8-person mesh near 2.5 Mbit/s upload.
// The figures are the team's (ROOMS.md, "Bandwidth"); docs/web-client.md
// records them next to what the browser test measured.

const TOTAL_UPLOAD_KBPS = 2500;
const PER_PEER_CEILING_KBPS = 1500;
// Budget thresholds (kbit/s) under which the resolution is scaled down more.
const RESOLUTION_STEPS = [
  [900, 1],
  [500, 1.5],
  [300, 2],
];
const SMALLEST_SCALE = 3;

/**
 * The cap for each video sender when `participants` people are in the call:
 * {peers, maxBitrate (bit/s, for RTCRtpEncodingParameters), kbps,
 * scaleResolutionDownBy}. Pure, so it can be checked without a browser.
 */
export function senderCap(participants) {
  const peers = Math.max(1, participants - 1);
  const kbps = Math.round(Math.min(PER_PEER_CEILING_KBPS, TOTAL_UPLOAD_KBPS / peers));
  const step = RESOLUTION_STEPS.find(([atLeast]) => kbps >= atLeast);
  const scaleResolutionDownBy = step ? step[1] : SMALLEST_SCALE;
  return { peers, kbps, maxBitrate: kbps * 1000, scaleResolutionDownBy };
}

/**
 * Apply `cap` (from senderCap) to one RTCRtpSender. Returns false when the
 * sender has no negotiated encodings yet (before its first offer/answer): the
 * caller applies it again once negotiation reaches "stable".
 */
export async function applySenderCap(sender, cap) {
  const parameters = sender.getParameters();
  if (!parameters.encodings?.length) return false;
  const already = parameters.encodings.every(
    (e) => e.maxBitrate === cap.maxBitrate && e.scaleResolutionDownBy === cap.scaleResolutionDownBy,
  );
  if (already) return true;
  for (const encoding of parameters.encodings) {
    encoding.maxBitrate = cap.maxBitrate;
    encoding.scaleResolutionDownBy = cap.scaleResolutionDownBy;
  }
  await sender.setParameters(parameters);
  return true;
}

/** Apply `cap` to every video sender of pc; true when all of them took it. */
export async function applyVideoCap(pc, cap) {
  const videoSenders = pc
    .getTransceivers()
    .filter((t) => t.receiver.track.kind === "video")
    .map((t) => t.sender);
  const applied = await Promise.all(videoSenders.map((sender) => applySenderCap(sender, cap)));
  return applied.every(Boolean);
}
