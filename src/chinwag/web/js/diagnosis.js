// Naming what went wrong with a WebRTC connection, in words a person can act on.
//
// Shared by the check page (check.js) and, later, by calls (per-call
// diagnosis): classify ICE candidates and icecandidateerror codes, and turn
// what was gathered into one sentence. No DOM and no RTCPeerConnection here,
// only data in and words out, so any page can reuse it.
//
// The codes are the same names `chinwag doctor` prints for the operator
// (docs/nat-traversal.md, "Diagnosing"), so a person's report and the
// operator's doctor output can be matched.

/** Plain words for each problem code; `ok` is the one verdict that is good news. */
export const WORDS = {
  ok: "Calls from this browser work, even across networks: media went through the relay.",
  "udp-blocked":
    "Calls work, but this network blocks UDP: media goes through the relay over TCP, with a little more delay.",
  "credentials-refused":
    "The relay refused the credentials: the server's TURN secret does not match the relay's. Tell the server's operator (chinwag doctor names it).",
  unreachable:
    "Could not reach the relay server from this network: a firewall may block it, or the relay is down. Tell the server's operator.",
  "no-turn":
    "The server has no relay (TURN) configured: calls work on one network, but may fail between different ones. Tell the server's operator.",
  "relay-no-media":
    "The relay gave addresses but no media crossed it: its media ports may be blocked by a firewall. Tell the server's operator.",
  "no-media-access":
    "The camera and microphone are not available to this page, so you cannot be seen or heard.",
  "no-server":
    "Could not reach the chinwag server to ask for its relay settings. Check your connection and reload.",
};

/** The type (host, srflx, prflx, relay) of an ICE candidate string, or "" if none. */
export function candidateType(candidate) {
  const match = /\btyp (\w+)/.exec(candidate ?? "");
  return match ? match[1] : "";
}

/** The transport a STUN/TURN URL uses to reach its server: "udp", "tcp" or "tls". */
export function urlTransport(url) {
  if (/^turns:/i.test(url)) return "tls";
  const match = /[?&]transport=(\w+)/i.exec(url);
  return match ? match[1].toLowerCase() : "udp";
}

/** True for turn: and turns: URLs. */
export function isTurnUrl(url) {
  return /^turns?:/i.test(url);
}

/**
 * The problem code of an icecandidateerror event's errorCode:
 * 401 and 431 mean the credentials were refused, 701 that the server could
 * not be reached (Chrome's code for "no answer"), anything else "unreachable"
 * too, as it stopped the relay working either way.
 */
export function iceErrorCode(errorCode) {
  if (errorCode === 401 || errorCode === 431) return "credentials-refused";
  return "unreachable";
}

/**
 * One verdict from what a check found:
 *   media: {ok}                       camera and microphone opened?
 *   turnUrls: [{url, transport, relay: bool, errors: [errorCode]}]
 *   call: {mediaFlowed: bool}         the relay-only call to itself
 * Returns {code, words}. Problems that stop calls come first; a media
 * problem is only the verdict when the network is fine.
 */
export function verdict({ media, turnUrls, call }) {
  const code = networkVerdict(turnUrls, call);
  const chosen = code === "ok" && !media.ok ? "no-media-access" : code;
  return { code: chosen, words: WORDS[chosen] };
}

function networkVerdict(turnUrls, call) {
  if (turnUrls.length === 0) return "no-turn";
  const working = turnUrls.filter((u) => u.relay);
  if (working.length === 0) {
    const refused = turnUrls.some((u) => u.errors.some((e) => iceErrorCode(e) === "credentials-refused"));
    return refused ? "credentials-refused" : "unreachable";
  }
  if (!call.mediaFlowed) return "relay-no-media";
  const udpWorks = working.some((u) => u.transport === "udp");
  const udpConfigured = turnUrls.some((u) => u.transport === "udp");
  return udpConfigured && !udpWorks ? "udp-blocked" : "ok";
}

// ---- per-call diagnosis (call.js, through callprobe.js) ------------------
//
// Each side of a call describes its own gathering as a "side":
//   {relayOnly: bool, turn: bool (TURN URLs configured),
//    candidates: {host, srflx, relay}, errors: [errorCode]}
// and sends it to the partner in `call-diagnosis` (docs/protocol.md, "Call
// diagnosis"), so either side can name why the call could not connect.

/**
 * The icecandidateerror codes that explain something: those of URLs that
 * gave no relay candidate. Chrome raises 701 for URLs that work too (one of
 * their addresses did not answer), so an error of a working URL means nothing.
 * errors: [{url, errorCode}]; relayUrls: Set of URLs that gave a relay candidate.
 */
export function relevantErrors(errors, relayUrls) {
  return errors.filter((e) => !relayUrls.has(e.url)).map((e) => e.errorCode);
}

/** The problem that stopped one side from having a relay candidate, or "" if none. */
function sideProblem(side) {
  if (!side || side.candidates.relay > 0) return "";
  if (side.errors.some((code) => iceErrorCode(code) === "credentials-refused")) return "credentials-refused";
  if (side.errors.length > 0) return "unreachable";
  if (side.relayOnly) return side.turn ? "unreachable" : "no-turn";
  return "";
}

/**
 * Why a call did not connect, from our side and the partner's (null when it
 * never told us): a problem code of `chinwag doctor`'s vocabulary.
 * A relay-only side without a relay explains it first; then any side whose
 * relay failed; then no relay configured anywhere; else no path was found.
 */
export function callProblem(mine, theirs) {
  const sides = [mine, theirs].filter(Boolean);
  const relayOnlyFirst = [...sides.filter((s) => s.relayOnly), ...sides];
  for (const side of relayOnlyFirst) {
    const problem = sideProblem(side);
    if (problem) return problem;
  }
  const anyRelay = sides.some((s) => s.candidates.relay > 0 || s.turn);
  return anyRelay ? "no-path" : "no-turn";
}

