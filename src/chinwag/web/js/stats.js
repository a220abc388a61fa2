// Call statistics from RTCPeerConnection.getStats(): round-trip time,
// bitrates, resolution, frame rate, packets lost and the route (host / srflx /
// relay over UDP / TCP) of the selected candidate pair; and from them a
// one-word connection quality for the call screen.

import { S } from "./strings.js";
import { el } from "./ui.js";

const QUALITY_CHECK_MS = 2000;

/** Read one report into plain numbers; `previous` (the last result) gives bitrates. */
export async function readStats(pc, previous = null) {
  const report = await pc.getStats();
  const now = performance.now();
  const byId = new Map();
  report.forEach((entry) => byId.set(entry.id, entry));
  const result = { at: now, bytesIn: 0, bytesOut: 0, packetsLost: 0, packetsIn: 0, route: null, rtt: null };
  let pair = null;
  report.forEach((s) => {
    if (s.type === "inbound-rtp") {
      result.bytesIn += s.bytesReceived ?? 0;
      result.packetsLost += s.packetsLost ?? 0;
      result.packetsIn += s.packetsReceived ?? 0;
      if (s.kind === "video") {
        result.width = s.frameWidth;
        result.height = s.frameHeight;
        result.fps = s.framesPerSecond;
        result.framesDecoded = s.framesDecoded;
      }
    } else if (s.type === "outbound-rtp") {
      result.bytesOut += s.bytesSent ?? 0;
    } else if (s.type === "transport" && s.selectedCandidatePairId) {
      pair = byId.get(s.selectedCandidatePairId);
    }
  });
  // Some browsers have no transport entry; fall back to the nominated pair.
  if (!pair) report.forEach((s) => { if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded") pair = s; });
  if (pair) {
    result.rtt = pair.currentRoundTripTime ?? null;
    result.pathBytesIn = pair.bytesReceived ?? 0; // RTP, RTCP and STUN: is the path alive?
    const local = byId.get(pair.localCandidateId);
    const remote = byId.get(pair.remoteCandidateId);
    if (local) {
      result.route = {
        local: local.candidateType,
        remote: remote?.candidateType ?? "?",
        protocol: (local.relayProtocol || local.protocol || "").toUpperCase(),
      };
    }
  }
  if (previous) {
    const seconds = (now - previous.at) / 1000;
    if (seconds > 0) {
      result.kbpsIn = ((result.bytesIn - previous.bytesIn) * 8) / 1000 / seconds;
      result.kbpsOut = ((result.bytesOut - previous.bytesOut) * 8) / 1000 / seconds;
    }
    const lost = result.packetsLost - previous.packetsLost;
    const total = lost + result.packetsIn - previous.packetsIn;
    result.lossFraction = total > 0 ? Math.max(0, lost) / total : 0;
  }
  return result;
}

/** "relay (UDP)" from a route, or "relay (UDP) to host" when the ends differ. */
export function describeRoute(route) {
  if (!route) return S.notConnected;
  const ends = route.local === route.remote ? route.local : `${route.local} to ${route.remote}`;
  return `${ends} (${route.protocol || "?"})`;
}

const ROWS = [
  ["route", S.statRows.route, (s) => describeRoute(s.route)],
  ["rtt", S.statRows.rtt, (s) => (s.rtt == null ? "–" : `${Math.round(s.rtt * 1000)} ms`)],
  ["in", S.statRows.in, (s) => (s.kbpsIn == null ? "–" : `${Math.round(s.kbpsIn)} kbit/s`)],
  ["out", S.statRows.out, (s) => (s.kbpsOut == null ? "–" : `${Math.round(s.kbpsOut)} kbit/s`)],
  ["resolution", S.statRows.resolution, (s) => (s.width ? `${s.width}×${s.height}` : "–")],
  ["fps", S.statRows.fps, (s) => (s.fps == null ? "–" : `${Math.round(s.fps)} fps`)],
  ["lost", S.statRows.lost, (s) => String(s.packetsLost)],
];

/**
 * Render stats into a <dl> once a second while visible. getPc() returns the
 * current RTCPeerConnection or null. Returns {start(), stop()}.
 */
export function createStatsPanel({ listElement, getPc, intervalMs = 1000 }) {
  const cells = new Map();
  for (const [key, label] of ROWS) {
    const value = el("dd", { "data-stat": key }, "–");
    cells.set(key, value);
    listElement.append(el("dt", {}, label), value);
  }
  let timer = null;
  let previous = null;

  async function tick() {
    const pc = getPc();
    if (!pc) return;
    const current = await readStats(pc, previous);
    previous = current;
    for (const [key, , format] of ROWS) cells.get(key).textContent = format(current);
  }

  return {
    start() {
      if (timer) return;
      previous = null;
      tick();
      timer = setInterval(tick, intervalMs);
    },
    stop() {
      clearInterval(timer);
      timer = null;
    },
  };
}

/**
 * "good", "fair" or "poor" from two readings a few seconds apart: nothing
 * arriving is poor; otherwise round-trip time and the share of packets lost
 * decide.
 */
export function rateQuality(current) {
  if (current.kbpsIn === undefined) return "unknown";
  if (current.kbpsIn < 1) return "poor";
  const rtt = current.rtt ?? 0;
  const loss = current.lossFraction ?? 0;
  if (rtt < 0.3 && loss < 0.02) return "good";
  if (rtt < 0.6 && loss < 0.08) return "fair";
  return "poor";
}

/** Rate the connection every 2 s; onRating(word) gets each rating. Returns {start(), stop()}. */
export function createQualityMeter({ getPc, onRating, intervalMs = QUALITY_CHECK_MS }) {
  let timer = null;
  let previous = null;
  async function tick() {
    const pc = getPc();
    if (!pc) return;
    const current = await readStats(pc, previous);
    previous = current;
    onRating(rateQuality(current));
  }
  return {
    start() {
      if (timer) return;
      previous = null;
      onRating("unknown");
      tick();
      timer = setInterval(tick, intervalMs);
    },
    stop() {
      clearInterval(timer);
      timer = null;
    },
  };
}
