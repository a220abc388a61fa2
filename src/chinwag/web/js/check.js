// The check page (/check): camera and microphone, the routes this browser can
// be reached by, and a call to itself through the relay only, then one verdict
// in plain words and a report to copy.
//
// The relay settings come the way the web client gets them: sign in over the
// WebSocket (as a throw-away name "check-XXXXXX", gone again a moment later)
// and read the `ice-servers` message. Each TURN URL is then gathered on its
// own, relay only, so the page can say which transport works and which error
// (401 credentials, 701 unreachable) each one gave. The words come from
// diagnosis.js, shared with per-call diagnosis.

import { describeFailures } from "./deviceerrors.js";
import { WORDS, candidateType, isTurnUrl, urlTransport, verdict } from "./diagnosis.js";
import { listDevices } from "./media.js";
import { canChooseSpeaker, openEach, playTestTone, watchLevel } from "./preview.js";
import { defaultSocketUrl } from "./socket.js";
import { S, applyStrings } from "./strings.js";
import { byId, el, show } from "./ui.js";

const SERVER_TIMEOUT_MS = 5000;
const GATHER_TIMEOUT_MS = 8000;
const CALL_TIMEOUT_MS = 15000;
const SAMPLE_MS = 500;

let stopLevel = () => {};
let opened = null; // the stream of the last media check (shown until the next)

/**
 * Open camera and microphone, each failure named per device (deviceerrors.js),
 * and show them as the pre-join screen does: a preview and a level meter.
 * Resolves to {ok, words, stream, devices}.
 */
async function checkMedia() {
  stopLevel();
  opened?.getTracks().forEach((t) => t.stop());
  const { stream, failures } = await openEach({ audio: true, video: true });
  opened = stream;
  const described = describeFailures(failures, { audio: true, video: true }, navigator.userAgent);
  const words = described.problems.length ? described.problems.map((p) => p.words).join(" ") : S.check.mediaWorks;
  byId("check-problems").replaceChildren(...described.problems.map((p) => el("li", { "data-reason": p.reason }, p.words)));
  byId("check-how").textContent = described.howToAllow;
  show(byId("check-how"), Boolean(described.howToAllow));
  show(byId("check-problem"), described.problems.length > 0);
  const camera = stream.getVideoTracks()[0];
  byId("check-video").srcObject = camera ? new MediaStream([camera]) : null;
  stopLevel = watchLevel(stream, (value) => (byId("check-level").value = value));
  const { cameras, microphones, speakers } = await listDevices().catch(() => ({ cameras: [], microphones: [], speakers: [] }));
  const devices = [
    ...cameras.map((d) => ({ kind: S.check.cameraKind, label: d.label })),
    ...microphones.map((d) => ({ kind: S.check.microphoneKind, label: d.label })),
  ];
  const picker = byId("check-speaker");
  picker.replaceChildren(...speakers.map((d) => el("option", { value: d.id }, d.label)));
  show(byId("check-speaker-row"), canChooseSpeaker() && speakers.length > 0);
  const any = stream.getTracks().length > 0;
  return { ok: described.problems.length === 0, words, stream: any ? stream : null, devices };
}

/** The server's iceServers, got by signing in over the WebSocket under a throw-away name. */
function fetchIceServers() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(defaultSocketUrl(), "json");
    const timer = setTimeout(() => finish(reject, new Error("no answer from the server")), SERVER_TIMEOUT_MS);
    const throwAwayName = () => `check-${Math.random().toString(16).slice(2, 8)}`;
    let id = null;
    function finish(settle, value) {
      clearTimeout(timer);
      ws.close(1000);
      settle(value);
    }
    function signIn() {
      ws.send(JSON.stringify({ type: "username", name: throwAwayName(), id, date: Date.now(), features: ["plain-text"] }));
    }
    ws.onmessage = (event) => {
      const msg = JSON.parse(event.data);
      if (msg.type === "id") {
        id = msg.id;
        signIn();
      } else if (msg.type === "rejectusername") signIn();
      else if (msg.type === "ice-servers") finish(resolve, Array.isArray(msg.iceServers) ? msg.iceServers : []);
      else if (msg.type === "error") finish(reject, new Error(String(msg.message ?? msg.code)));
    };
    ws.onerror = () => finish(reject, new Error("the WebSocket failed"));
  });
}

/** Gather candidates with `config`; {types: [...], relayProtocols: [...], errors: [{url, errorCode, errorText}]}. */
async function gather(config) {
  const pc = new RTCPeerConnection(config);
  const found = { types: [], errors: [] };
  pc.addEventListener("icecandidate", (e) => {
    if (e.candidate?.candidate) found.types.push(candidateType(e.candidate.candidate));
  });
  pc.addEventListener("icecandidateerror", (e) => {
    found.errors.push({ url: e.url ?? "", errorCode: e.errorCode, errorText: e.errorText ?? "" });
  });
  const complete = new Promise((resolve) => {
    pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && resolve());
    setTimeout(resolve, GATHER_TIMEOUT_MS);
  });
  pc.createDataChannel("check");
  await pc.setLocalDescription(await pc.createOffer());
  await complete;
  pc.close();
  return found;
}

/** Host/srflx with every server, then each TURN URL alone, relay only. */
async function checkRoutes(iceServers) {
  const all = await gather({ iceServers });
  const turnUrls = [];
  for (const server of iceServers) {
    const urls = [].concat(server.urls ?? []);
    for (const url of urls.filter(isTurnUrl)) {
      const single = { urls: [url], username: server.username, credential: server.credential };
      const result = await gather({ iceServers: [single], iceTransportPolicy: "relay" });
      turnUrls.push({
        url,
        transport: urlTransport(url),
        relay: result.types.includes("relay"),
        errors: result.errors.map((e) => e.errorCode),
        errorTexts: result.errors.map((e) => `${e.errorCode} ${e.errorText}`.trim()),
      });
    }
  }
  return { host: all.types.includes("host"), srflx: all.types.includes("srflx"), turnUrls };
}

/** A moving picture to send when there is no camera: the relay test needs some media. */
function standInStream() {
  const canvas = el("canvas", { width: 160, height: 120 });
  const context = canvas.getContext("2d");
  let hue = 0;
  const timer = setInterval(() => {
    hue = (hue + 17) % 360;
    context.fillStyle = `hsl(${hue} 70% 50%)`;
    context.fillRect(0, 0, 160, 120);
  }, 100);
  const stream = canvas.captureStream(10);
  stream.getTracks()[0].addEventListener("ended", () => clearInterval(timer));
  return { stream, stop: () => clearInterval(timer) };
}

/** Two peer connections in this page, relay only: does media cross? */
async function relayCall(iceServers, camera) {
  const config = { iceServers, iceTransportPolicy: "relay" };
  const caller = new RTCPeerConnection(config);
  const callee = new RTCPeerConnection(config);
  const standIn = camera ? null : standInStream();
  const stream = camera ?? standIn.stream;
  caller.onicecandidate = (e) => e.candidate && callee.addIceCandidate(e.candidate).catch(() => {});
  callee.onicecandidate = (e) => e.candidate && caller.addIceCandidate(e.candidate).catch(() => {});
  for (const track of stream.getTracks()) caller.addTrack(track, stream);
  try {
    await caller.setLocalDescription(await caller.createOffer());
    await callee.setRemoteDescription(caller.localDescription);
    await callee.setLocalDescription(await callee.createAnswer());
    await caller.setRemoteDescription(callee.localDescription);
    return await waitForMedia(callee);
  } finally {
    caller.close();
    callee.close();
    standIn?.stop();
  }
}

/** Sample the receiver until media counters rise twice in a row, or time runs out. */
async function waitForMedia(pc) {
  const deadline = performance.now() + CALL_TIMEOUT_MS;
  let last = null;
  let rises = 0;
  let sample = null;
  while (performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, SAMPLE_MS));
    sample = await readStats(pc);
    if (last && (sample.framesDecoded > last.framesDecoded || sample.packetsReceived > last.packetsReceived)) rises += 1;
    last = sample;
    if (rises >= 2) return { mediaFlowed: true, ...sample };
  }
  return { mediaFlowed: false, ...(sample ?? {}), connection: pc.connectionState };
}

/** Media counters and the route of the selected candidate pair. */
async function readStats(pc) {
  const stats = await pc.getStats();
  const out = { framesDecoded: 0, packetsReceived: 0, route: "" };
  let pair = null;
  stats.forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "video") out.framesDecoded = s.framesDecoded ?? 0;
    if (s.type === "inbound-rtp" && s.kind === "audio") out.packetsReceived = s.packetsReceived ?? 0;
    if (s.type === "transport" && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId);
  });
  const local = pair && stats.get(pair.localCandidateId);
  if (local) out.route = `${local.candidateType} ${local.relayProtocol ?? local.protocol ?? ""}`.trim();
  return out;
}

function routeRows(routes) {
  const R = S.check.routes;
  const rows = [
    [R.host, routes.host ? R.found : R.none],
    [R.srflx, routes.srflx ? R.found : R.noSrflx],
  ];
  for (const u of routes.turnUrls) {
    rows.push([R.relay(u.transport.toUpperCase(), u.url), u.relay ? R.works : R.fails(u.errorTexts.join(", "))]);
  }
  if (routes.turnUrls.length === 0) rows.push([R.turn, R.noneConfigured]);
  return rows;
}

function showRows(rows) {
  const body = byId("route-rows");
  body.replaceChildren(...rows.map(([route, result]) => {
    const row = el("tr");
    row.append(el("td", {}, route), el("td", {}, result));
    return row;
  }));
}

function showVerdict(result, media) {
  const element = byId("verdict");
  element.dataset.verdict = result.code;
  const extra = media.ok || result.code === "no-media-access" ? "" : ` ${S.check.also(media.words)}`;
  element.textContent = result.words + extra;
}

function report({ media, routes, call, result, error }) {
  const lines = [
    `chinwag check, ${new Date().toISOString()}`,
    `page: ${location.origin} (secure context: ${window.isSecureContext})`,
    `browser: ${navigator.userAgent}`,
    `verdict: ${result.code}: ${result.words}`,
    `media: ${media.words}`,
    ...media.devices.map((d) => `  ${d.kind}: ${d.label}`),
  ];
  if (error) lines.push(`server: ${error}`);
  if (routes) lines.push(...routeRows(routes).map(([route, value]) => `route: ${route}: ${value}`));
  if (call) lines.push(`relay call: media ${call.mediaFlowed ? "flowed" : "did not flow"}, route ${call.route || "none"}, frames ${call.framesDecoded ?? 0}, audio packets ${call.packetsReceived ?? 0}`);
  return lines.join("\n");
}

async function run() {
  byId("rerun-button").disabled = true;
  byId("verdict").dataset.verdict = "";
  byId("verdict").textContent = S.check.checking;
  const media = await checkMedia();
  byId("media-status").textContent = media.words;
  byId("device-list").replaceChildren(...media.devices.map((d) => el("li", {}, `${d.kind}: ${d.label}`)));
  let routes = null;
  let call = null;
  let result;
  let error = "";
  try {
    const iceServers = await fetchIceServers();
    routes = await checkRoutes(iceServers);
    showRows(routeRows(routes));
    if (routes.turnUrls.some((u) => u.relay)) {
      byId("call-status").textContent = S.check.calling;
      call = await relayCall(iceServers, media.stream);
      byId("call-status").textContent = call.mediaFlowed ? S.check.flowed(call.route) : S.check.noFlow;
    } else byId("call-status").textContent = S.check.skipped;
    result = verdict({ media, turnUrls: routes.turnUrls, call: call ?? { mediaFlowed: false } });
  } catch (e) {
    error = e.message;
    result = { code: "no-server", words: `${WORDS["no-server"]} (${error})` };
  }
  showVerdict(result, media);
  byId("report").value = report({ media, routes, call, result, error });
  byId("rerun-button").disabled = false;
}

async function copyReport() {
  const text = byId("report").value;
  try {
    await navigator.clipboard.writeText(text);
    byId("copy-status").textContent = S.check.copied;
  } catch {
    byId("report").select(); // the person can copy the selection by hand
    byId("copy-status").textContent = S.check.selected;
  }
}

applyStrings();
byId("rerun-button").addEventListener("click", run);
byId("check-speaker-test").addEventListener("click", () => playTestTone(byId("check-speaker").value).catch(() => {}));
byId("copy-button").addEventListener("click", copyReport);
run();
