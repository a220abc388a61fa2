// Wiring: the socket, sign-in, people, chat, calls, ringing, notices and
// shortcuts of one page. Each concern is its own module; this one only
// connects them (no globals but the opt-in test hook).
// Settings from the URL (for tests and troubleshooting):
//   ?ringTimeout=SECONDS  ring this long before "No answer" (else the server's, else 30)
//   ?relay=1              force iceTransportPolicy "relay" (TURN only)
//   ?iceGrace=SECONDS     how long ICE may stay "disconnected" before restarting ICE (5)
//   ?connectTimeout=SECONDS  a call or ICE restart that has not connected by then ends (10)
//   ?debug=1              expose the test hook window.chinwag (docs/web-client.md)

import { createAccount } from "./account.js";
import { createAlerts } from "./alerts.js";
import { createCall } from "./call.js";
import { createCallPeople } from "./callpeople.js";
import { createCallView } from "./callview.js";
import { createChat } from "./chat.js";
import { createFileCards, formatBytes } from "./filecards.js";
import { createFileTransfers } from "./filetransfer.js";
import { createHosts } from "./hosts.js";
import { createLobby } from "./lobby.js";
import { createMissedCalls, createNotices } from "./notices.js";
import { createPanels } from "./panels.js";
import { createRecording } from "./recording.js";
import { createPrejoin } from "./prejoin.js";
import { createCallDesk } from "./roomcall.js";
import { createRooms, roomLabel } from "./rooms.js";
import { createSettings } from "./settings.js";
import { createSignIn } from "./signin.js";
import { createShortcuts } from "./shortcuts.js";
import { createSocket, defaultSocketUrl } from "./socket.js";
import { S, applyStrings } from "./strings.js";
import { saved, tab } from "./store.js";
import { byId, createDebugLog } from "./ui.js";

const FEATURES = ["deltas", "ringing", "plain-text", "seq", "history", "rooms"];
// Errors of a sign-in into a room that the sign-in card explains.
const ROOM_SIGN_IN_ERRORS = new Set([
  "bad-room",
  "no-such-room",
  "room-password-required",
  "room-password-wrong",
  "banned",
  "room-closed",
  "invite-invalid",
  "invite-expired",
  "invite-used",
  "invite-revoked",
]);
const DEFAULT_RING_TIMEOUT_S = 30;
const DEFAULT_CONNECT_TIMEOUT_S = 10;
const OUTBOX_LIMIT = 200; // call messages held while the socket is down

/** Start the client on this page. */
export function start() {
  applyStrings();
  const params = new URLSearchParams(window.location.search);
  const log = createDebugLog(byId("debug-log"));
  const session = {
    connectionId: null,
    wantedName: "",
    name: "",
    resume: tab.get("resume"), // a reload takes the parked session back
    lastSeq: tab.get("seq", 0), // the last `seq` received: a resume gets back whatever came after it
    serverRingTimeout: null,
    iceServers: [],
    fileMaxBytes: 0, // told at sign-in (`fileMaxBytes`); 0 until then: no files
    live: false, // signed in on the current socket
    reloadedCall: tab.get("call"), // a call that was going on before a reload
    offeredNotifications: false,
  };
  // Call signaling written while the socket is down waits here; it goes out
  // if the session is resumed (the server queued what came the other way)
  // and is dropped if a new session had to start.
  const outbox = [];

  const notices = createNotices(byId("notices"));
  const alerts = createAlerts({ log });
  const settings = createSettings(params);
  const panels = createPanels({ onChatShown: () => chat.seen() });
  const missed = createMissedCalls({ callBack: (name) => callPerson(name) });

  let hosts = null; // hosts.js: made once the room call exists; the list asks it for roles
  const lobby = createLobby({
    listElement: byId("user-list"),
    countElement: byId("user-count"),
    onCall: (name, how) => callPerson(name, how),
    onChange(names, { joined, left, renamed }) {
      chat.setPeople(names);
      for (const name of joined) if (name !== session.name) chat.addNote(S.joined(name));
      for (const name of left) chat.addNote(S.left(name));
      for (const [from, to] of renamed) {
        chat.addNote(S.renamedTo(from, to));
        if (from === session.name) renamedTo(to);
      }
    },
    decorate: (name, item, button) => hosts?.decorate(name, item, button),
  });
  const chat = createChat({
    logElement: byId("messages"),
    formElement: byId("chat-form"),
    inputElement: byId("chat-input"),
    targetElement: byId("chat-target"),
    jumpButton: byId("jump-button"),
    send: (msg) => session.live && socket.send({ ...msg, id: session.connectionId }),
    self: () => session.name,
    visible: () => panels.chatVisible(),
    onUnread(count) {
      panels.setUnread(count);
      alerts.setUnread(count);
    },
  });
  const fileCards = createFileCards({
    addItem: (item, counts) => chat.addItem(item, counts),
    actions: { accept: (key) => files.accept(key), decline: (key) => files.decline(key), cancel: (key) => files.cancel(key) },
  });
  const files = createFileTransfers({
    send: (msg) => session.live && socket.send(msg),
    self: () => session.name,
    iceConfig: () => iceConfig(),
    maxBytes: () => session.fileMaxBytes,
    onChange: (transfer) => fileCards.render(transfer),
    log,
  });
  wireAttachButton(files, chat, () => session.fileMaxBytes);
  const prejoin = createPrejoin({ self: () => session.name });
  const view = createCallView({ notices, alerts, settings, missed, panels, prejoin });
  // One-to-one and group calls alike: relay-only (Settings, ?relay=1) and the same patience.
  const iceConfig = () => ({
    iceServers: session.iceServers,
    iceTransportPolicy: settings.relayOnly() ? "relay" : "all",
  });
  const timing = {
    iceGraceMs: 1000 * (Number(params.get("iceGrace")) || 5),
    connectTimeoutMs: 1000 * (Number(params.get("connectTimeout")) || DEFAULT_CONNECT_TIMEOUT_S),
  };
  const call = createCall({
    send: sendSignal,
    self: () => session.name,
    online: () => session.live,
    iceConfig,
    ringTimeoutMs: () => 1000 * ringTimeoutSeconds(params, session),
    view,
    log,
    timing,
    onChange: (current) => tab.set("call", current),
  });
  const rooms = createRooms({
    send: (msg) => socket.send(msg),
    live: () => session.live,
    notices,
    onEntered(info, moved) {
      chat.setRoom(info.room); // the room's own history follows
      if (moved) {
        lobby.forget(); // the new room's list is a first list, not a crowd joining
        chat.addNote(S.nowInRoom(roomLabel(info.room, info.title)));
      }
      showIdleWords(info);
      byId("waiting-link").value = rooms.link();
      roomCall.entered(info, moved);
      recording.update(info.call ?? null);
      callPeople.update(info.call ?? null);
      hosts.entered(info, moved);
    },
  });
  const roomCall = createCallDesk({
    send: (msg) => socket.send(msg),
    self: () => session.name,
    room: () => rooms.current(),
    title: () => roomLabel(rooms.current(), rooms.info()?.title),
    iceConfig,
    timing,
    oneToOneBusy: () => call.state() !== "idle",
    view,
    log,
  });
  const recording = createRecording({
    send: (msg) => socket.send(msg),
    self: () => session.name,
    inCall: () => roomCall.active(),
    leaveCall: () => roomCall.leave(),
    notices,
  });
  hosts = createHosts({ send: (msg) => socket.send(msg), self: () => session.name, notices, chat, roomCall, rooms, lobby });
  const callPeople = createCallPeople({ notices, self: () => session.name, inCall: () => roomCall.active() });
  byId("waiting-copy").addEventListener("click", () => rooms.copyLink());
  byId("room-call-button").addEventListener("click", async () => {
    const title = S.prejoin.groupTitle(roomLabel(rooms.current(), rooms.info()?.title));
    if (!(await prejoin.ready({ title, joinLabel: S.prejoin.join }))) return;
    const joining = roomCall.join(); // takes the pre-join screen's stream at once
    prejoin.discard();
    await joining;
  });
  // The control bar and the shortcuts act on the room call while we are in one.
  const current = () => (roomCall.active() ? roomCall : call);
  view.bind({
    accept: acceptCall,
    decline: () => call.decline(),
    cancel: () => call.cancel(),
    hangUp: () => current().hangUp(),
    toggleMute: () => current().toggleMute(),
    toggleCamera: () => current().toggleCamera(),
    toggleScreen: () => current().toggleScreen(),
    switchDevice: (kind, id) => current().switchDevice(kind, id),
    copyInvite: () => rooms.copyLink(),
  });
  createShortcuts(
    {
      accept: acceptCall,
      decline: () => call.decline(),
      hangUp: () => current().hangUp(),
      mute: () => current().toggleMute(),
      camera: () => current().toggleCamera(),
      share: () => navigator.mediaDevices?.getDisplayMedia && current().toggleScreen(),
      fullscreen: () => view.toggleFullscreen(),
      chat: () => panels.toggleChat(),
      people: () => panels.togglePeople(),
      help: () => settings.toggleHelp(),
    },
    () => roomCall.active() || ["connecting", "active"].includes(call.state()),
  );

  /** Call someone (audioOnly: without cameras), through the pre-join screen when idle. */
  async function callPerson(name, { audioOnly = false } = {}) {
    if (roomCall.active()) return view.notice(S.leaveGroupFirst, "error");
    if (call.state() !== "idle" || name === session.name) return call.call(name);
    const title = audioOnly ? S.prejoin.audioCallTitle(name) : S.prejoin.callTitle(name);
    if (!(await prejoin.ready({ title, joinLabel: S.prejoin.call, audioOnly }))) return;
    const calling = call.call(name); // takes the pre-join screen's stream at once
    prejoin.discard();
    await calling;
  }

  /** Accept the ringing call: the ringing stops at once, then the pre-join screen (one click: Join). */
  async function acceptCall() {
    if (call.state() !== "ringing" || call.debug.direction !== "incoming" || prejoin.isOpen()) return;
    alerts.stop();
    const { name, audioOnly } = view.incomingCall();
    const title = audioOnly ? S.prejoin.acceptAudioTitle(name) : S.prejoin.acceptTitle(name);
    if (!(await prejoin.ready({ title, joinLabel: S.prejoin.accept, audioOnly }))) return;
    const accepting = call.accept();
    prejoin.discard();
    await accepting;
  }

  const signIn = createSignIn(session, () => sendSignIn());
  const account = createAccount({
    rename(name) {
      session.wantedName = name;
      socket.send({ type: "username", name, date: Date.now(), id: session.connectionId });
    },
    signOut,
  });

  /** The server renamed us (presence says so): remember the new name. */
  function renamedTo(name) {
    session.name = name;
    session.wantedName = name;
    saved.set("name", name);
    lobby.setSelf(name);
    account.renamed(name);
  }

  /**
   * Sign out: leave any call, forget the remembered name and this tab's
   * session, close the socket cleanly (the server ends the session for good)
   * and start again at the sign-in card.
   */
  function signOut() {
    if (roomCall.active()) roomCall.leave();
    else if (call.state() !== "idle") call.hangUp();
    saved.set("name", null);
    for (const key of ["resume", "seq", "call", "roomCall", "chat"]) tab.set(key, null);
    socket.close();
    window.location.reload();
  }

  function sendSignal(msg) {
    if (session.live && socket.send(msg)) return;
    if (outbox.length < OUTBOX_LIMIT) outbox.push(msg);
  }

  function sendSignIn() {
    if (!session.wantedName || session.connectionId === null) return;
    const msg = { type: "username", name: session.wantedName, date: Date.now(), id: session.connectionId };
    msg.features = FEATURES;
    Object.assign(msg, rooms.signInFields(byId("room-password-input").value));
    if (session.resume) {
      msg.resume = session.resume;
      msg.seq = session.lastSeq;
    }
    socket.send(msg);
  }

  function setLive(live) {
    session.live = live;
    lobby.setOnline(live);
    chat.setOnline(live);
  }

  const handlers = {
    id(msg) {
      session.connectionId = msg.id;
      sendSignIn();
    },
    rejectusername(msg) {
      signIn.renamed(session.wantedName, String(msg.name));
      session.wantedName = String(msg.name);
    },
    "signed-in"(msg) {
      const wasSignedIn = Boolean(session.name);
      session.name = String(msg.name);
      session.wantedName = session.name;
      session.resume = msg.resume ?? null;
      tab.set("resume", session.resume);
      if (!msg.resumed) setSeq(0); // a new session numbers from 1 again
      saved.set("name", session.name);
      log(`signed in as ${session.name}${msg.resumed ? " (session resumed)" : ""}`);
      setLive(true);
      const held = outbox.splice(0);
      if (msg.resumed) for (const queued of held) socket.send(queued);
      // A new session after a drop: the server has already ended our call for the other side.
      else if (wasSignedIn) call.sessionLost();
      if (Number(msg.ringTimeout) > 0) session.serverRingTimeout = Number(msg.ringTimeout);
      session.fileMaxBytes = Number.isSafeInteger(msg.fileMaxBytes) ? msg.fileMaxBytes : 0;
      lobby.setSelf(session.name);
      signIn.signedIn(session.name);
      account.show(session.name);
      chat.signedIn({ features: msg.features, resumed: Boolean(msg.resumed) });
      chat.flush();
      // Before the queued messages of a resume are read: they belong to this call.
      if (session.reloadedCall) call.rejoin(session.reloadedCall);
      session.reloadedCall = null;
      recording.setAllowed(msg.recordings);
      rooms.entered(msg.room ?? null);
      if (!session.offeredNotifications) alerts.offerNotifications(notices);
      session.offeredNotifications = true;
    },
    "ice-servers"(msg) {
      session.iceServers = Array.isArray(msg.iceServers) ? msg.iceServers : [];
      log(`ice-servers: ${session.iceServers.length} server(s)`);
    },
    room: (msg) => rooms.entered(msg),
    "room-call"(msg) {
      roomCall.handle(msg);
      recording.update(msg);
    },
    "room-recording": (msg) => recording.announce(msg),
    rooms: (msg) => rooms.showList(msg),
    userlist: (msg) => lobby.applyUserlist(msg),
    presence: (msg) => lobby.applyPresence(msg),
    message: (msg) => chat.addMessage(msg),
    history: (msg) => chat.addHistory(msg),
    "direct-message": (msg) => chat.addDirect(msg),
    error(msg) {
      log(`error ${msg.code}: ${msg.message}`);
      // bad-resume only says the old session is gone; signed-in has already brought a new one.
      if (msg.code === "bad-resume") return;
      const text = String(msg.message ?? msg.code);
      if (msg.for === "username" && session.name && account.refused(text)) return;
      if (msg.for === "username" && ROOM_SIGN_IN_ERRORS.has(msg.code)) signIn.roomRefused(msg);
      else if (msg.for === "username" || !session.name) signIn.error(text);
      else if (msg.for === "join-room") rooms.joinRefused(msg);
      else if (msg.for === "list-rooms" || msg.for === "call-report") return; // telemetry: nothing to show
      else if (msg.for === "room-recording") recording.refused(msg);
      else if (files.refused(msg)) return;
      else if (roomCall.handle(msg)) return;
      else if (msg.for === "direct-message" && msg.code === "no-such-user") chat.notDelivered(String(msg.target));
      else if (msg.for === "history-request") chat.historyFailed(msg);
      else if (!call.handle(msg)) notices.show(text, { kind: "error" });
    },
  };

  function setSeq(seq) {
    session.lastSeq = seq;
    tab.set("seq", seq);
  }

  const socket = createSocket({
    url: defaultSocketUrl(),
    log,
    onMessage(msg) {
      // A jump in `seq` means the server skipped lines it could not keep for us.
      if (Number.isInteger(msg.seq) && session.lastSeq > 0 && msg.seq > session.lastSeq + 1) chat.linesLost();
      if (Number.isInteger(msg.seq) && msg.seq > session.lastSeq) setSeq(msg.seq);
      const handler = handlers[msg.type];
      if (handler) handler(msg);
      else if (hosts.handle(msg)) return;
      else if (!files.handle(msg) && !roomCall.handle(msg) && !call.handle(msg)) log(`unknown message type: ${String(msg.type)}`);
      if (msg.type === "room-call") callPeople.update(msg);
    },
    onStatus(status) {
      const element = byId("connection-status");
      element.textContent = S.status[status] ?? status;
      element.dataset.status = status;
      if (status === "connected") return;
      if (status === "removed" || status === "denied") {
        tab.set("resume", null); // that session is over; a reload starts afresh (and may be refused)
        session.resume = null;
        roomCall.leave();
        hosts.sentOff(status);
      }
      session.connectionId = null;
      setLive(false);
    },
  });

  // Signed in before this reload (or on an earlier visit): sign in again by ourselves.
  const remembered = saved.get("name", "");
  if (remembered) signIn.auto(remembered);

  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && panels.chatVisible()) chat.seen();
  });

  if (params.get("debug") === "1") {
    window.chinwag = Object.freeze({ debug: call.debug, ring: alerts.debug, room: roomCall.debug, files: files.debug, fileBlob: files.debugBlob });
  }
}

/** The idle stage's heading: the Lobby's, or the room's with its group call. */
function showIdleWords(info) {
  const named = Boolean(info.room);
  byId("idle-title").textContent = named ? S.roomIdleTitle(roomLabel(info.room, info.title)) : S.idleTitle;
  byId("idle-hint").textContent = named ? S.roomIdleHint : S.idleHint;
}

/** The composer's "Send a file": to the person chosen in "To", or to the room. */
function wireAttachButton(files, chat, maxBytes) {
  const input = byId("file-input");
  byId("attach-button").addEventListener("click", () => input.click());
  input.addEventListener("change", async () => {
    const file = input.files?.[0];
    input.value = "";
    if (!file) return;
    const refused = await files.offer(file, chat.target());
    if (refused === "too-large") chat.addNote(S.fileTooLarge(formatBytes(file.size), formatBytes(maxBytes())), "error");
    else if (refused) chat.addNote(S.fileOffline, "error");
  });
}

function ringTimeoutSeconds(params, session) {
  const fromUrl = Number(params.get("ringTimeout"));
  if (fromUrl > 0) return fromUrl;
  return session.serverRingTimeout ?? DEFAULT_RING_TIMEOUT_S;
}

start();
