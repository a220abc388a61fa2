// What one call's peer connection can tell about why it fails: the candidate
// types it gathered, the relay's error codes, and, once connected, whether
// media arrives (getStats). The reasoning is diagnosis.js's; this module only
// collects, so call.js stays a state machine. docs/web-client.md, "Call
// diagnosis".

import { callProblem, candidateType, isTurnUrl, relevantErrors } from "./diagnosis.js";
import { readStats } from "./stats.js";
import { S } from "./strings.js";

const STATS_EVERY_MS = 1000;
/** Connected with no inbound bytes for this long: one-way media. */
export const ONE_WAY_AFTER_MS = 4000;
/** Nothing at all (not even RTCP) for this long: the path is down, which is not one-way. */
const PATH_QUIET_MS = 2500;

/**
 * Watch pc (made with config). startedAt (performance.now()) is when the
 * call was answered, for the time to first frame. Returns
 * {side(), problem(theirs), watchMedia({onFirstFrame, onSilent}), report(extra)}.
 */
export function createCallProbe(pc, config, startedAt) {
  const candidates = { host: 0, srflx: 0, relay: 0 };
  const relayUrls = new Set();
  const errors = [];
  const relayOnly = config.iceTransportPolicy === "relay";
  const turn = (config.iceServers ?? []).some((s) => [].concat(s.urls ?? []).some(isTurnUrl));
  let lastStats = null;

  pc.addEventListener("icecandidate", (e) => {
    if (!e.candidate) return;
    const type = e.candidate.type || candidateType(e.candidate.candidate);
    if (type in candidates) candidates[type] += 1;
    if (type === "relay") relayUrls.add(e.url ?? e.candidate.url ?? "");
  });
  pc.addEventListener("icecandidateerror", (e) => {
    errors.push({ url: e.url ?? "", errorCode: e.errorCode, errorText: e.errorText ?? "" });
  });

  /** Our side, as sent to the partner in `call-diagnosis`. */
  function side() {
    return { relayOnly, turn, candidates: { ...candidates }, errors: relevantErrors(errors, relayUrls) };
  }

  /**
   * Poll getStats while connected: onFirstFrame(ttffMs, route) once the first
   * frame is decoded (or, with no video, the first audio packet); onSilent()
   * once no media byte has arrived for ONE_WAY_AFTER_MS while ICE is connected
 * and the path still carries the partner's RTCP.
   * Stops by itself when alive() turns false.
   */
  function watchMedia({ alive, onFirstFrame, onSilent }) {
    let first = false;
    let silentSince = performance.now();
    let bytesIn = 0;
    let pathBytesIn = 0;
    let pathAliveAt = 0;
    let warned = false;
    const timer = setInterval(async () => {
      if (!alive()) return clearInterval(timer);
      const stats = await readStats(pc, lastStats).catch(() => null);
      if (!stats || !alive()) return;
      lastStats = stats;
      const now = performance.now();
      const connected = ["connected", "completed"].includes(pc.iceConnectionState);
      if (!first && (stats.framesDecoded > 0 || (stats.framesDecoded === undefined && stats.packetsIn > 0))) {
        first = true;
        onFirstFrame(Math.round(now - startedAt), stats.route);
      }
      if (stats.bytesIn > bytesIn || !connected) silentSince = now;
      // RTCP and consent checks still arrive when only media is missing; when
      // nothing at all arrives the path itself is down (ICE restarts), not one-way.
      if ((stats.pathBytesIn ?? 0) > pathBytesIn) pathAliveAt = now;
      bytesIn = stats.bytesIn;
      pathBytesIn = stats.pathBytesIn ?? 0;
      const pathAlive = now - pathAliveAt <= PATH_QUIET_MS;
      if (!warned && pathAlive && now - silentSince >= ONE_WAY_AFTER_MS) {
        warned = true;
        onSilent();
      }
    }, STATS_EVERY_MS);
  }

  /** Everything a person can copy for whoever helps them (no media, no chat). */
  function report(extra) {
    return {
      ...extra,
      at: new Date().toISOString(),
      ice: { connection: pc.iceConnectionState, gathering: pc.iceGatheringState, policy: relayOnly ? "relay" : "all" },
      mine: { ...side(), errorDetails: errors },
      stats: lastStats && { bytesIn: lastStats.bytesIn, bytesOut: lastStats.bytesOut, route: lastStats.route, framesDecoded: lastStats.framesDecoded },
      userAgent: navigator.userAgent,
    };
  }

  return { side, problem: (theirs) => callProblem(side(), theirs), watchMedia, report };
}

/** Put a report (callprobe's report()) on the clipboard as JSON; notice(text, kind) says how it went. */
export function copyReport(details, notice) {
  return navigator.clipboard.writeText(JSON.stringify(details, null, 2)).then(
    () => notice(S.reportCopied, "success"),
    (error) => notice(S.reportNotCopied(error.message), "error"),
  );
}
