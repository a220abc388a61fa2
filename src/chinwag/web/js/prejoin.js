// The pre-join screen: before a call is placed, accepted or joined, the
// person sees their camera, watches their microphone's level, picks devices
// (and a speaker, with a test sound, where the browser allows), chooses to
// join with the microphone or camera off or with audio only, and reads what
// is wrong with a device in words that name it. A device that fails leaves
// the rest usable: video only, audio only, or listen only.
//
// The stream opened here becomes the call's (take()), so the camera is not
// opened twice. "Join straight away next time" (and Settings) skips the
// screen; the call then opens its devices itself (call.js, roomcall.js).

import { describeFailures } from "./deviceerrors.js";
import { listDevices } from "./media.js";
import { canChooseSpeaker, openEach, playTestTone, watchLevel } from "./preview.js";
import { S } from "./strings.js";
import { saved } from "./store.js";
import { byId, el, paintAvatar, setIcon, show } from "./ui.js";

const OFFER_LABELS = {
  "video-only": S.prejoin.joinVideoOnly,
  "audio-only": S.prejoin.joinAudioOnly,
  "listen-only": S.prejoin.joinListenOnly,
};

/**
 * self() -> our name (for the avatar while the camera is off).
 * Returns {ready({title, joinLabel, audioOnly}) -> Promise<boolean>, take(),
 * want(), abort(), enabled(), setEnabled(on)}.
 */
export function createPrejoin({ self }) {
  const area = byId("call-area");
  const section = byId("prejoin");
  const video = byId("prejoin-video");
  const avatar = byId("prejoin-avatar");
  const level = byId("prejoin-level");
  const pickers = { video: byId("prejoin-camera-select"), audio: byId("prejoin-mic-select"), speaker: byId("prejoin-speaker-select") };
  const toggles = { audio: byId("prejoin-mic"), video: byId("prejoin-camera") };
  const audioOnlyBox = byId("prejoin-audio-only");
  const skipBox = byId("prejoin-skip");
  const joinButton = byId("prejoin-join");
  let session = null; // the open screen: {stream, failures, on: {audio, video}, finish(ok), stopLevel}
  let prepared = null; // the stream handed to the next call
  let lastWant = {}; // what the next call opens itself when the screen was skipped

  function stopLevel() {
    session?.stopLevel?.();
    if (session) session.stopLevel = null;
    level.value = 0;
  }

  function showPreview() {
    const { stream, on } = session;
    const camera = stream.getVideoTracks()[0];
    video.srcObject = camera ? new MediaStream([camera]) : null;
    const cameraShown = Boolean(camera) && on.video;
    show(avatar, !cameraShown);
    show(byId("prejoin-camera-note"), Boolean(camera) && !on.video);
    paintAvatar(avatar, self() || "?");
    stopLevel();
    session.stopLevel = watchLevel(stream, (value) => (level.value = on.audio ? value : 0));
    for (const kind of ["audio", "video"]) {
      const has = stream.getTracks().some((t) => t.kind === kind);
      const button = toggles[kind];
      const isOn = has && on[kind];
      button.setAttribute("aria-pressed", String(isOn));
      button.disabled = !has;
      button.dataset.active = String(!isOn);
      button.querySelector(".label").textContent = kind === "audio" ? S.microphone : S.camera;
      button.title = isOn ? S.prejoin[kind === "audio" ? "micOn" : "cameraOn"] : S.prejoin[kind === "audio" ? "micOff" : "cameraOff"];
      setIcon(button, kind === "audio" ? (isOn ? "mic" : "mic-off") : isOn ? "video" : "video-off");
    }
    show(pickers.video.closest(".field"), !audioOnlyBox.checked);
  }

  function showProblems() {
    const wanted = { audio: true, video: !audioOnlyBox.checked };
    const described = describeFailures(session.failures, wanted, navigator.userAgent);
    const list = byId("prejoin-problems");
    list.replaceChildren(...described.problems.map((p) => el("li", { "data-reason": p.reason, "data-kind": p.kind }, p.words)));
    byId("prejoin-how").textContent = described.howToAllow;
    show(byId("prejoin-how"), Boolean(described.howToAllow));
    show(byId("prejoin-problem"), described.problems.length > 0);
    joinButton.textContent = OFFER_LABELS[described.offer] ?? session.joinLabel;
    byId("prejoin-lead").textContent = described.problems.length ? "" : S.prejoin.lead;
  }

  async function fillPickers() {
    const { cameras, microphones, speakers } = await listDevices().catch(() => ({ cameras: [], microphones: [], speakers: [] }));
    const fill = (select, devices, current) => {
      select.replaceChildren(...devices.map((d) => el("option", { value: d.id }, d.label)));
      if (devices.some((d) => d.id === current)) select.value = current;
    };
    const inUse = (kind) => session?.stream.getTracks().find((t) => t.kind === kind)?.getSettings().deviceId ?? "";
    fill(pickers.video, cameras, inUse("video"));
    fill(pickers.audio, microphones, inUse("audio"));
    fill(pickers.speaker, speakers, saved.get("speakerId", ""));
    show(byId("prejoin-speaker-row"), canChooseSpeaker() && speakers.length > 0);
  }

  /** Open (again) the kinds wanted and not open yet; a failure is named. */
  async function openMissing() {
    const mine = session;
    const has = (kind) => mine.stream.getTracks().some((t) => t.kind === kind);
    const want = {
      audio: !has("audio"),
      video: !audioOnlyBox.checked && !has("video"),
      audioId: saved.get("micId", "") || undefined,
      videoId: saved.get("cameraId", "") || undefined,
    };
    if (!want.audio && !want.video) return;
    byId("prejoin-lead").textContent = S.prejoin.opening;
    joinButton.disabled = true; // joining before the devices answer would join without them
    const { stream, failures } = await openEach(want);
    joinButton.disabled = false;
    if (session !== mine) return stopStream(stream);
    for (const track of stream.getTracks()) mine.stream.addTrack(track);
    for (const kind of ["audio", "video"]) if (want[kind]) mine.failures[kind] = failures[kind];
    showPreview();
    showProblems();
    await fillPickers();
  }

  /** A device picked in the screen: open it, and drop the one it replaces. */
  async function switchTo(kind, deviceId) {
    const mine = session;
    if (!mine) return;
    saved.set(kind === "audio" ? "micId" : "cameraId", deviceId);
    for (const track of mine.stream.getTracks().filter((t) => t.kind === kind)) {
      mine.stream.removeTrack(track);
      track.stop();
    }
    await openMissing();
  }

  function discard() {
    if (prepared) stopStream(prepared);
    prepared = null;
  }

  function finish(ok) {
    const mine = session;
    if (!mine) return;
    session = null;
    stopLevel();
    video.srcObject = null;
    show(section, false);
    delete area.dataset.prejoin;
    delete document.body.dataset.prejoin;
    if (ok) {
      for (const track of mine.stream.getTracks()) track.enabled = mine.on[track.kind];
      prepared = mine.stream;
    } else {
      stopStream(mine.stream);
    }
    mine.resolve(ok);
  }

  for (const kind of ["audio", "video"]) {
    toggles[kind].addEventListener("click", () => {
      if (!session) return;
      session.on[kind] = !session.on[kind];
      showPreview();
    });
  }
  audioOnlyBox.addEventListener("change", () => {
    if (!session) return;
    if (audioOnlyBox.checked) {
      for (const track of session.stream.getVideoTracks()) {
        session.stream.removeTrack(track);
        track.stop();
      }
      session.failures.video = null;
      showPreview();
      showProblems();
    } else openMissing();
  });
  pickers.video.addEventListener("change", () => switchTo("video", pickers.video.value));
  pickers.audio.addEventListener("change", () => switchTo("audio", pickers.audio.value));
  pickers.speaker.addEventListener("change", () => saved.set("speakerId", pickers.speaker.value));
  byId("prejoin-speaker-test").addEventListener("click", () => playTestTone(pickers.speaker.value).catch(() => {}));
  byId("prejoin-retry").addEventListener("click", () => openMissing());
  joinButton.addEventListener("click", () => finish(true));
  byId("prejoin-cancel").addEventListener("click", () => finish(false));
  section.addEventListener("keydown", (event) => event.key === "Escape" && finish(false));
  skipBox.addEventListener("change", () => saved.set("prejoin", !skipBox.checked));

  return {
    /**
     * Show the screen (unless skipped) for a call titled `title`, whose
     * join button says `joinLabel`; audioOnly: a call without cameras.
     * Resolves true to go on (take() then gives the stream), false to stay.
     */
    ready({ title, joinLabel, audioOnly = false }) {
      if (session) finish(false);
      discard();
      lastWant = audioOnly ? { video: false } : {};
      if (!saved.get("prejoin", true)) return Promise.resolve(true);
      return new Promise((resolve) => {
        session = {
          stream: new MediaStream(),
          failures: { audio: null, video: null },
          on: { audio: true, video: true },
          joinLabel,
          resolve,
        };
        byId("prejoin-title").textContent = title;
        audioOnlyBox.checked = audioOnly;
        skipBox.checked = false;
        joinButton.textContent = joinLabel;
        area.dataset.prejoin = "open";
        document.body.dataset.prejoin = "open";
        show(section, true);
        showPreview();
        // The focus goes to Join once the devices have answered: Enter joins.
        openMissing().then(() => session && !section.contains(document.activeElement) && joinButton.focus());
      });
    },
    /** The stream of the screen just left with Join (once), or null. */
    take() {
      const stream = prepared;
      prepared = null;
      return stream;
    },
    /** What a call opens itself after a skipped screen ({video: false} for audio only). */
    want: () => lastWant,
    /** Stop a stream nobody took (the call did not start after all). */
    discard,
    /** The call went away while the screen was open (the caller hung up). */
    abort: () => finish(false),
    isOpen: () => session !== null,
  };
}

function stopStream(stream) {
  for (const track of stream.getTracks()) track.stop();
}
