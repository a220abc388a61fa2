// The call screen: ringing cards, the video stage (remote video as large as
// the room allows, a movable self-view), the control bar with icon buttons,
// indicators (muted, camera off, sharing, speaking, connection quality),
// fullscreen, picture-in-picture and the stats panel. call.js decides; this
// module only shows, and forwards clicks to the controller given to bind().
//
// A one-to-one call shows one remote video and the self-view; a room call
// (roomcall.js) shows its grid of tiles (#room-grid) in their place, with the
// same control bar (stage[data-mode="room"]).

import { createMenuButton } from "./menu.js";
import { createSelfView } from "./selfview.js";
import { watchSpeaking } from "./speaking.js";
import { createStatsPanel } from "./stats.js";
import { S } from "./strings.js";
import { ask, byId, formatDuration, paintAvatar, setIcon, show, typingIn } from "./ui.js";

/**
 * Build the view. notices (notices.js), alerts (alerts.js), settings
 * (settings.js), missed (notices.js missed calls), panels (panels.js).
 * Call bind(controller) before use.
 */
export function createCallView({ notices, alerts, settings, missed, panels, prejoin }) {
  const area = byId("call-area");
  const prompt = byId("call-prompt");
  const incoming = byId("incoming");
  const outgoing = byId("outgoing");
  const stage = byId("stage");
  const videos = byId("videos");
  const remoteVideo = byId("remote-video");
  const remoteAvatar = byId("remote-avatar");
  let remoteCameraOn = true; // as the partner's last media-state said
  const phase = byId("call-phase");
  const duration = byId("call-duration");
  const quality = byId("quality");
  const statsPanel = byId("stats-panel");
  const buttons = {
    accept: byId("accept-button"),
    decline: byId("decline-button"),
    cancel: byId("cancel-button"),
    hangUp: byId("hangup-button"),
    mute: byId("mute-button"),
    camera: byId("camera-button"),
    share: byId("share-button"),
    fullscreen: byId("fullscreen-button"),
    pip: byId("pip-button"),
    stats: byId("stats-button"),
    invite: byId("invite-button"),
  };
  createMenuButton(byId("more-button"), byId("more-menu"));
  const selfView = createSelfView({
    box: byId("self-view"),
    video: byId("local-video"),
    mutedMarker: byId("self-muted"),
    container: videos,
  });
  let durationTimer = null;
  let asking = null; // AbortController of the open question, if any
  let ringing = { name: "", audioOnly: false }; // the incoming call last shown
  let stopWatching = [];
  let peerConnection = null; // the one-to-one call's, for the stats panel (setPeerConnection)
  const stats = createStatsPanel({ listElement: byId("stats-list"), getPc: () => peerConnection });

  // Label (shown and spoken) and tooltip name what the button does next ("Unmute").
  function setButton(button, { label, iconName, active, key }) {
    button.querySelector(".label").textContent = label;
    button.title = key ? `${label} (${key})` : label;
    if (iconName) setIcon(button, iconName);
    if (active !== undefined) button.dataset.active = String(active);
  }

  function showOnly(part) {
    for (const candidate of [incoming, outgoing, stage]) show(candidate, candidate === part);
  }

  function toggleStats() {
    const open = statsPanel.hidden;
    show(statsPanel, open);
    buttons.stats.setAttribute("aria-expanded", String(open));
    buttons.stats.dataset.active = String(open);
    if (open) stats.start();
    else stats.stop();
  }

  function toggleFullscreen() {
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
    else stage.requestFullscreen?.().catch((error) => notices.show(error.message, { kind: "error" }));
  }

  async function togglePip() {
    try {
      if (document.pictureInPictureElement) await document.exitPictureInPicture();
      else await remoteVideo.requestPictureInPicture();
    } catch (error) {
      notices.show(error.message, { kind: "error" });
    }
  }

  function showFullscreenState() {
    const on = Boolean(document.fullscreenElement);
    setButton(buttons.fullscreen, {
      label: on ? S.exitFullscreen : S.fullscreen,
      iconName: on ? "fullscreen-exit" : "fullscreen",
      active: on,
      key: "F",
    });
  }

  // Their initial instead of a black (or frozen) picture: camera off, or an audio-only call.
  function showRemoteAvatar() {
    const stream = remoteVideo.srcObject;
    const hasVideo = Boolean(stream?.getVideoTracks().some((t) => t.readyState === "live"));
    const off = !remoteCameraOn || (stream !== null && !hasVideo);
    show(remoteAvatar, off);
    videos.dataset.cameraOff = String(off);
  }

  function stopSpeakingWatch() {
    for (const stop of stopWatching) stop();
    stopWatching = [];
  }

  function ringCard(card, name, text) {
    paintAvatar(card.querySelector(".avatar"), name);
    card.querySelector(".ringing-text").textContent = text;
    showOnly(card);
  }

  // Screen share needs getDisplayMedia (phones have none); PiP needs the API too.
  show(buttons.share, Boolean(navigator.mediaDevices?.getDisplayMedia));
  show(buttons.pip, Boolean(document.pictureInPictureEnabled));
  show(buttons.fullscreen, Boolean(document.fullscreenEnabled));
  document.addEventListener("fullscreenchange", showFullscreenState);
  showFullscreenState();

  const view = {
    /** Connect the buttons to the call controller (call.js). */
    bind(call) {
      buttons.accept.addEventListener("click", () => call.accept());
      buttons.decline.addEventListener("click", () => call.decline());
      buttons.cancel.addEventListener("click", () => call.cancel());
      buttons.hangUp.addEventListener("click", () => call.hangUp());
      buttons.mute.addEventListener("click", () => call.toggleMute());
      buttons.camera.addEventListener("click", () => call.toggleCamera());
      buttons.share.addEventListener("click", () => call.toggleScreen());
      buttons.stats.addEventListener("click", toggleStats);
      buttons.fullscreen.addEventListener("click", toggleFullscreen);
      buttons.pip.addEventListener("click", togglePip);
      buttons.invite.addEventListener("click", () => call.copyInvite());
      settings.onDeviceChange((kind, id) => call.switchDevice(kind, id));
      // Escape says no to a ringing call, either way round, when the focus is on its card.
      incoming.addEventListener("keydown", (e) => e.key === "Escape" && call.decline());
      outgoing.addEventListener("keydown", (e) => e.key === "Escape" && call.cancel());
    },
    toggleFullscreen,
    /** The one-to-one state (idle, ringing, connecting, active, ended) and direction. */
    setState(state, direction = "") {
      area.dataset.state = state;
      document.body.dataset.callState = state;
      document.body.dataset.direction = direction;
      if (state !== "ringing") alerts.stop();
    },
    notice: (text, kind = "info", actions = []) => notices.show(text, { kind, actions }),
    /** Ask in the call area; reset() answers undefined for a question still open. */
    ask(question, choices) {
      asking?.abort();
      asking = new AbortController();
      return ask(prompt, question, choices, asking.signal);
    },
    /**
     * A device cannot be had (`problem`, a MediaProblem naming it) and
     * `offer` ("video-only", "audio-only", "listen-only") still works: ask
     * whether to go on with that. Resolves to true or false.
     */
    async offerOnly(problem, offer) {
      const label = S.offerLabels[offer];
      const answer = await view.ask(S.continueWith(problem.message, offer), [
        [true, label],
        [false, S.cancel],
      ]);
      return answer === true;
    },
    /** The one-to-one call's RTCPeerConnection (null when none), for the stats panel. */
    setPeerConnection(pc) {
      peerConnection = pc;
    },
    /** The one-to-one call's connection quality (stats.js rateQuality word). */
    quality(word) {
      quality.dataset.quality = word;
      quality.setAttribute("aria-label", S.quality[word]);
      quality.title = S.quality[word];
    },
    chosenDevices: () => ({ ...settings.chosenDevices(), ...prejoin.want() }),
    /** The stream the pre-join screen opened for this call (once), or null. */
    preparedMedia: () => prejoin.take(),
    /** Who rings us now, and whether their call is audio only: {name, audioOnly}. */
    incomingCall: () => ringing,
    showDevicesInUse: (stream) => settings.showDevicesInUse(stream),
    /** Someone rings us. The focus stays where it is: typing goes on undisturbed. */
    incoming(name, media) {
      prejoin.abort(); // a call ringing in comes before one being prepared
      ringing = { name, audioOnly: media?.video === false };
      ringCard(incoming, name, ringing.audioOnly ? S.prejoin.acceptAudioTitle(name) : S.isCalling(name));
      alerts.incoming(name);
    },
    outgoing(name) {
      ringCard(outgoing, name, S.calling(name));
      buttons.cancel.focus(); // the person just clicked a name: the focus was theirs to move
      alerts.outgoing();
    },
    connecting(name) {
      alerts.stop();
      byId("peer-name").textContent = name;
      paintAvatar(remoteAvatar, name);
      remoteVideo.setAttribute("aria-label", S.videoOf(name));
      phase.textContent = S.connectingPhase;
      duration.textContent = "";
      showOnly(stage);
      panels.enterCall();
      if (!typingIn(document.activeElement)) buttons.hangUp.focus();
    },
    /** Media flows; the clock counts from startedAt (kept across a reload). */
    connected(name, startedAt = Date.now()) {
      byId("peer-name").textContent = name;
      phase.textContent = "";
      clearInterval(durationTimer);
      const tick = () => (duration.textContent = formatDuration((Date.now() - startedAt) / 1000));
      tick();
      durationTimer = setInterval(tick, 1000);
      settings.refreshDevices();
    },
    /** The call's phase next to the name ("Reconnecting…"); empty when all is well. */
    phase(text) {
      phase.textContent = text;
      videos.dataset.reconnecting = String(Boolean(text));
    },
    setLocalStream(stream) {
      selfView.setSource(stream, "camera");
      settings.showDevicesInUse(stream);
      stopSpeakingWatch();
      stopWatching.push(watchSpeaking(stream, (on) => selfView.setSpeaking(on)));
    },
    /** A shared screen in the self-view: never mirrored. */
    setLocalPreview(track) {
      selfView.setSource(new MediaStream([track]), "screen");
    },
    setRemoteStream(stream) {
      if (remoteVideo.srcObject === stream) return showRemoteAvatar();
      remoteVideo.srcObject = stream;
      showRemoteAvatar();
      const stop = watchSpeaking(stream, (on) => {
        videos.dataset.speaking = String(on);
        show(byId("remote-speaking"), on);
      });
      stopWatching.push(stop);
    },
    remoteMediaState({ audio, video, screen }) {
      show(byId("remote-muted"), audio === false);
      show(byId("remote-camera-off"), video === false && !screen);
      show(byId("remote-sharing"), Boolean(screen));
      remoteVideo.dataset.source = screen ? "screen" : "camera";
      remoteCameraOn = video !== false || Boolean(screen);
      showRemoteAvatar();
    },
    localMediaState({ audio, video, screen }) {
      setButton(buttons.mute, { label: audio ? S.mute : S.unmute, iconName: audio ? "mic" : "mic-off", active: !audio, key: "M" });
      setButton(buttons.camera, { label: video ? S.cameraOff : S.cameraOn, iconName: video ? "video" : "video-off", active: !video, key: "V" });
      setButton(buttons.share, { label: screen ? S.stopSharing : S.shareScreen, active: screen, key: "S" });
      selfView.setMuted(!audio);
    },
    /** A room call begins on this page: the stage shows the tiles; `title` names the call. */
    enterRoomCall(title) {
      stage.dataset.mode = "room";
      setButton(buttons.hangUp, { label: S.leaveCall, key: "Alt+Shift+H" });
      byId("peer-name").textContent = title;
      phase.textContent = "";
      duration.textContent = "";
      showOnly(stage);
      view.setState("active", "room");
      panels.enterCall();
      settings.refreshDevices();
      if (!typingIn(document.activeElement)) buttons.hangUp.focus();
    },
    /** The room call's clock, from the server's `started`. */
    roomCallStarted(startedAt) {
      if (durationTimer) return;
      const tick = () => (duration.textContent = formatDuration((Date.now() - startedAt) / 1000));
      tick();
      durationTimer = setInterval(tick, 1000);
    },
    leaveRoomCall() {
      delete stage.dataset.mode;
      setButton(buttons.hangUp, { label: S.hangUp, key: "Alt+Shift+H" });
      view.reset();
      view.setState("idle");
    },
    /** A call we did not take: a notice and an entry with a call-back button. */
    missed(name) {
      missed.add(name);
      notices.show(S.missedCallFrom(name), { key: `missed-${name}` });
    },
    /** Back to idle: no prompts, no video, controls reset. */
    reset() {
      alerts.stop();
      prejoin.abort(); // an incoming call that ends while its pre-join screen is open
      clearInterval(durationTimer);
      durationTimer = null;
      stats.stop();
      peerConnection = null;
      stopSpeakingWatch();
      show(statsPanel, false);
      buttons.stats.setAttribute("aria-expanded", "false");
      buttons.stats.dataset.active = "false";
      showOnly(null);
      asking?.abort();
      asking = null;
      if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
      if (document.pictureInPictureElement) document.exitPictureInPicture().catch(() => {});
      remoteVideo.srcObject = null;
      selfView.reset();
      duration.textContent = "";
      phase.textContent = "";
      videos.dataset.speaking = "false";
      videos.dataset.reconnecting = "false";
      view.quality("unknown");
      panels.leaveCall();
      view.remoteMediaState({ audio: true, video: true, screen: false });
      view.localMediaState({ audio: true, video: true, screen: false });
    },
  };
  view.localMediaState({ audio: true, video: true, screen: false });
  return view;
}
