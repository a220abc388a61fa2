// The call area of the page: ringing prompts, the video stage, controls,
// indicators, device pickers and the stats panel. call.js decides; this
// module only shows, and forwards clicks to the controller given to bind().

import { listDevices } from "./media.js";
import { createStatsPanel } from "./stats.js";
import { ask, byId, createNotice, el, formatDuration, show } from "./ui.js";

/** Build the view over the page's call elements. Call bind(controller) before use. */
export function createCallView() {
  const area = byId("call-area");
  const notice = createNotice(byId("call-notice"));
  const prompt = byId("call-prompt");
  const incoming = byId("incoming");
  const outgoing = byId("outgoing");
  const stage = byId("stage");
  const remoteVideo = byId("remote-video");
  const localVideo = byId("local-video");
  const phase = byId("call-phase");
  const duration = byId("call-duration");
  const cameraSelect = byId("camera-select");
  const micSelect = byId("mic-select");
  const statsPanel = byId("stats-panel");
  const buttons = {
    accept: byId("accept-button"),
    decline: byId("decline-button"),
    cancel: byId("cancel-button"),
    hangUp: byId("hangup-button"),
    mute: byId("mute-button"),
    camera: byId("camera-button"),
    share: byId("share-button"),
    stats: byId("stats-button"),
  };
  let controller = null;
  let durationTimer = null;
  let asking = null; // AbortController of the open question, if any
  // The device each kind uses now (or last used): the pickers show it.
  const inUse = { video: "", audio: "" };
  const pickers = { video: cameraSelect, audio: micSelect };
  const stats = createStatsPanel({
    listElement: byId("stats-list"),
    getPc: () => controller?.debug.pc ?? null,
  });

  // The label names what the button does next ("Unmute"); a toggle with
  // aria-pressed must keep one label, so these are plain buttons.
  function setActive(button, active, labelOn, labelOff) {
    button.dataset.active = String(active);
    button.textContent = active ? labelOn : labelOff;
  }

  function showOnly(part) {
    for (const candidate of [incoming, outgoing, stage]) show(candidate, candidate === part);
  }

  async function fillDevicePickers() {
    const { cameras, microphones } = await listDevices().catch(() => ({ cameras: [], microphones: [] }));
    const fill = (kind, devices) => {
      const select = pickers[kind];
      const keep = inUse[kind] || select.value;
      select.replaceChildren(...devices.map((d) => el("option", { value: d.id }, d.label)));
      if (devices.some((d) => d.id === keep)) select.value = keep;
    };
    fill("video", cameras);
    fill("audio", microphones);
  }

  /** Point each picker at the device its track comes from. */
  function showDevicesInUse(stream) {
    for (const track of stream.getTracks()) {
      const id = track.getSettings().deviceId;
      if (!id || !(track.kind in pickers)) continue;
      inUse[track.kind] = id;
      const select = pickers[track.kind];
      if ([...select.options].some((option) => option.value === id)) select.value = id;
    }
  }

  function toggleStats() {
    const open = statsPanel.hidden;
    show(statsPanel, open);
    buttons.stats.setAttribute("aria-expanded", String(open));
    if (open) stats.start();
    else stats.stop();
  }

  return {
    /** Connect the buttons to the call controller (call.js). */
    bind(call) {
      controller = call;
      buttons.accept.addEventListener("click", () => call.accept());
      buttons.decline.addEventListener("click", () => call.decline());
      buttons.cancel.addEventListener("click", () => call.cancel());
      buttons.hangUp.addEventListener("click", () => call.hangUp());
      buttons.mute.addEventListener("click", () => call.toggleMute());
      buttons.camera.addEventListener("click", () => call.toggleCamera());
      buttons.share.addEventListener("click", () => call.toggleScreen());
      buttons.stats.addEventListener("click", toggleStats);
      for (const [kind, select] of Object.entries(pickers)) {
        select.addEventListener("change", () => {
          inUse[kind] = select.value;
          call.switchDevice(kind, select.value);
        });
      }
      // Escape says no to a ringing call, either way round.
      incoming.addEventListener("keydown", (e) => e.key === "Escape" && call.decline());
      outgoing.addEventListener("keydown", (e) => e.key === "Escape" && call.cancel());
      fillDevicePickers();
      navigator.mediaDevices?.addEventListener?.("devicechange", fillDevicePickers);
    },
    setState(state) {
      area.dataset.state = state;
      document.body.dataset.callState = state;
    },
    notice: (text, kind) => notice.say(text, kind),
    /** Ask in the call area; reset() answers undefined for a question still open. */
    ask(question, choices) {
      asking?.abort();
      asking = new AbortController();
      return ask(prompt, question, choices, asking.signal);
    },
    chosenDevices: () => ({ videoId: cameraSelect.value || undefined, audioId: micSelect.value || undefined }),
    incoming(name) {
      notice.clear();
      byId("incoming-text").textContent = `${name} is calling`;
      showOnly(incoming);
      buttons.accept.focus();
    },
    outgoing(name) {
      notice.clear();
      byId("outgoing-text").textContent = `Calling ${name}…`;
      showOnly(outgoing);
      buttons.cancel.focus();
    },
    connecting(name) {
      byId("peer-name").textContent = name;
      remoteVideo.setAttribute("aria-label", `Video of ${name}`);
      phase.textContent = "Connecting…";
      duration.textContent = "";
      showOnly(stage);
      buttons.hangUp.focus();
    },
    connected(name) {
      byId("peer-name").textContent = name;
      phase.textContent = "";
      const started = Date.now();
      const tick = () => (duration.textContent = formatDuration((Date.now() - started) / 1000));
      tick();
      durationTimer = setInterval(tick, 1000);
      fillDevicePickers();
    },
    /** The call's phase next to the name ("Reconnecting…"); empty when all is well. */
    phase(text) {
      phase.textContent = text;
    },
    setLocalStream(stream) {
      localVideo.srcObject = stream;
      showDevicesInUse(stream);
    },
    showDevicesInUse,
    setLocalPreview(track) {
      localVideo.srcObject = new MediaStream([track]);
    },
    setRemoteStream(stream) {
      if (remoteVideo.srcObject !== stream) remoteVideo.srcObject = stream;
    },
    remoteMediaState({ audio, video, screen }) {
      show(byId("remote-muted"), audio === false);
      show(byId("remote-camera-off"), video === false && !screen);
      show(byId("remote-sharing"), Boolean(screen));
    },
    localMediaState({ audio, video, screen }) {
      setActive(buttons.mute, !audio, "Unmute", "Mute");
      setActive(buttons.camera, !video, "Camera on", "Camera off");
      setActive(buttons.share, screen, "Stop sharing", "Share screen");
    },
    /** Back to idle: no prompts, no video, controls reset. */
    reset() {
      clearInterval(durationTimer);
      stats.stop();
      show(statsPanel, false);
      buttons.stats.setAttribute("aria-expanded", "false");
      showOnly(null);
      asking?.abort();
      asking = null;
      remoteVideo.srcObject = null;
      localVideo.srcObject = null;
      duration.textContent = "";
      this.remoteMediaState({ audio: true, video: true, screen: false });
      this.localMediaState({ audio: true, video: true, screen: false });
    },
  };
}
