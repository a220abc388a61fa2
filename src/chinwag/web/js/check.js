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

import { WORDS, candidateType, isTurnUrl, mediaErrorWords, urlTransport, verdict } from "./diagnosis.js";
import { defaultSocketUrl } from "./socket.js";
import { byId, el } from "./ui.js";

const SERVER_TIMEOUT_MS = 5000;
const GATHER_TIMEOUT_MS = 8000;
const CALL_TIMEOUT_MS = 15000;
const SAMPLE_MS = 500;

/** Open camera and microphone; {ok, words, stream, devices}. */
async function checkMedia() {
  if (!navigator.mediaDevices?.getUserMedia) {
    return { ok: false, words: mediaErrorWords({ name: "insecure" }), stream: null, devices: [] };
  }
  let stream = null;
  let words = "Camera and microphone work.";
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
  } catch (error) {
    words = mediaErrorWords(error);
  }
  const devices = (await navigator.mediaDevices.enumerateDevices())
    .filter((d) => d.kind !== "audiooutput")
    .map((d) => ({ kind: d.kind === "videoinput" ? "camera" : "microphone", label: d.label || "(name hidden until access is allowed)" }));
  return { ok: stream !== null, words, stream, devices };
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
  const rows = [
    ["Direct on this network (host)", routes.host ? "found" : "none"],
    ["Through your router (server-reflexive)", routes.srflx ? "found" : "none (no STUN server, or UDP blocked)"],
  ];
  for (const u of routes.turnUrls) {
    const result = u.relay ? "works" : `fails${u.errorTexts.length ? `: ${u.errorTexts.join(", ")}` : ""}`;
    rows.push([`Relay over ${u.transport.toUpperCase()} (${u.url})`, result]);
  }
  if (routes.turnUrls.length === 0) rows.push(["Relay (TURN)", "none configured"]);
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
  const extra = media.ok || result.code === "no-media-access" ? "" : ` Also: ${media.words}`;
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
  byId("verdict").textContent = "Checking…";
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
      byId("call-status").textContent = "Calling itself through the relay…";
      call = await relayCall(iceServers, media.stream);
      byId("call-status").textContent = call.mediaFlowed
        ? `Media flowed through the relay (${call.route}).`
        : "No media crossed the relay.";
    } else byId("call-status").textContent = "Skipped: no relay works.";
    result = verdict({ media, turnUrls: routes.turnUrls, call: call ?? { mediaFlowed: false } });
  } catch (e) {
    error = e.message;
    result = { code: "no-server", words: `${WORDS["no-server"]} (${error})` };
  }
  media.stream?.getTracks().forEach((t) => t.stop());
  showVerdict(result, media);
  byId("report").value = report({ media, routes, call, result, error });
  byId("rerun-button").disabled = false;
}

async function copyReport() {
  const text = byId("report").value;
  try {
    await navigator.clipboard.writeText(text);
    byId("copy-status").textContent = "Copied.";
  } catch {
    byId("report").select(); // the person can copy the selection by hand
    byId("copy-status").textContent = "Selected: press Ctrl+C (or ⌘C) to copy.";
  }
}

byId("rerun-button").addEventListener("click", run);
byId("copy-button").addEventListener("click", copyReport);
run();
