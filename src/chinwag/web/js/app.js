// Wiring: the socket, sign-in, people, chat, calls, ringing, notices and
// shortcuts of one page. Each concern is its own module; this one only
// connects them (no globals but the opt-in test hook).
// Settings from the URL (for tests and troubleshooting):
//   ?ringTimeout=SECONDS  ring this long before "No answer" (else the server's, else 30)
//   ?relay=1              force iceTransportPolicy "relay" (TURN only)
//   ?iceGrace=SECONDS     how long ICE may stay "disconnected" before restarting ICE (5)
//   ?connectTimeout=SECONDS  a call or ICE restart that has not connected by then ends (10)
//   ?debug=1              expose the test hook window.chinwag (docs/web-client.md)

import { createAlerts } from "./alerts.js";
import { createCall } from "./call.js";
import { createCallView } from "./callview.js";
import { createChat } from "./chat.js";
import { createLobby } from "./lobby.js";
import { createMissedCalls, createNotices } from "./notices.js";
import { createPanels } from "./panels.js";
import { createSettings } from "./settings.js";
import { createShortcuts } from "./shortcuts.js";
import { createSocket, defaultSocketUrl } from "./socket.js";
import { S, applyStrings } from "./strings.js";
import { saved, tab } from "./store.js";
import { byId, createDebugLog, show } from "./ui.js";

const FEATURES = ["deltas", "ringing", "plain-text", "seq", "history"];
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
  const missed = createMissedCalls({ callBack: (name) => call.call(name) });

  const lobby = createLobby({
    listElement: byId("user-list"),
    countElement: byId("user-count"),
    onCall: (name) => call.call(name),
    onChange(names, { joined, left, renamed }) {
      chat.setPeople(names);
      for (const name of joined) if (name !== session.name) chat.addNote(S.joined(name));
      for (const name of left) chat.addNote(S.left(name));
      for (const [from, to] of renamed) chat.addNote(S.renamedTo(from, to));
    },
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
  const view = createCallView({ notices, alerts, settings, missed, panels });
  const call = createCall({
    send: sendSignal,
    self: () => session.name,
    online: () => session.live,
    iceConfig: () => ({
      iceServers: session.iceServers,
      iceTransportPolicy: settings.relayOnly() ? "relay" : "all",
    }),
    ringTimeoutMs: () => 1000 * ringTimeoutSeconds(params, session),
    view,
    log,
    timing: {
      iceGraceMs: 1000 * (Number(params.get("iceGrace")) || 5),
      connectTimeoutMs: 1000 * (Number(params.get("connectTimeout")) || DEFAULT_CONNECT_TIMEOUT_S),
    },
    onChange: (current) => tab.set("call", current),
  });
  view.bind(call);
  createShortcuts(
    {
      accept: () => call.accept(),
      decline: () => call.decline(),
      hangUp: () => call.hangUp(),
      mute: () => call.toggleMute(),
      camera: () => call.toggleCamera(),
      share: () => navigator.mediaDevices?.getDisplayMedia && call.toggleScreen(),
      fullscreen: () => view.toggleFullscreen(),
      chat: () => panels.toggleChat(),
      people: () => panels.togglePeople(),
      help: () => settings.toggleHelp(),
    },
    () => ["connecting", "active"].includes(call.state()),
  );

  const signIn = createSignIn(session, () => sendSignIn());

  function sendSignal(msg) {
    if (session.live && socket.send(msg)) return;
    if (outbox.length < OUTBOX_LIMIT) outbox.push(msg);
  }

  function sendSignIn() {
    if (!session.wantedName || session.connectionId === null) return;
    const msg = { type: "username", name: session.wantedName, date: Date.now(), id: session.connectionId };
    msg.features = FEATURES;
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
      lobby.setSelf(session.name);
      signIn.signedIn(session.name);
      chat.signedIn({ features: msg.features, resumed: Boolean(msg.resumed) });
      chat.flush();
      // Before the queued messages of a resume are read: they belong to this call.
      if (session.reloadedCall) call.rejoin(session.reloadedCall);
      session.reloadedCall = null;
      if (!session.offeredNotifications) alerts.offerNotifications(notices);
      session.offeredNotifications = true;
    },
    "ice-servers"(msg) {
      session.iceServers = Array.isArray(msg.iceServers) ? msg.iceServers : [];
      log(`ice-servers: ${session.iceServers.length} server(s)`);
    },
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
      if (msg.for === "username" || !session.name) signIn.error(text);
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
      else if (!call.handle(msg)) log(`unknown message type: ${String(msg.type)}`);
    },
    onStatus(status) {
      const element = byId("connection-status");
      element.textContent = S.status[status] ?? status;
      element.dataset.status = status;
      if (status === "connected") return;
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
    window.chinwag = Object.freeze({ debug: call.debug, ring: alerts.debug });
  }
}

function ringTimeoutSeconds(params, session) {
  const fromUrl = Number(params.get("ringTimeout"));
  if (fromUrl > 0) return fromUrl;
  return session.serverRingTimeout ?? DEFAULT_RING_TIMEOUT_S;
}

/** The sign-in form: asks for a name; shows errors and the assigned name. */
function createSignIn(session, submit) {
  const form = byId("signin-form");
  const input = byId("name-input");
  const error = byId("name-error");
  const signedInAs = byId("self-name");
  let renamedFrom = "";

  function explain(text) {
    error.textContent = text;
    input.setAttribute("aria-invalid", "true");
    input.focus();
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    session.wantedName = input.value.trim();
    error.textContent = "";
    input.removeAttribute("aria-invalid");
    if (session.wantedName) submit();
    else explain(S.nameEmpty);
  });
  input.focus();

  return {
    /** Sign in with a remembered name, without a click. */
    auto(name) {
      input.value = name;
      session.wantedName = name;
      submit();
    },
    error(text) {
      session.wantedName = "";
      show(byId("signin"), true);
      show(byId("app"), false);
      explain(text);
    },
    renamed(asked, assigned) {
      renamedFrom = asked;
      error.textContent = S.nameTaken(asked, assigned);
    },
    signedIn(name) {
      show(byId("signin"), false);
      show(byId("app"), true);
      document.body.dataset.signedIn = "true";
      signedInAs.textContent = name;
      const note = byId("rename-note");
      note.textContent = renamedFrom ? S.renamedNote(renamedFrom, name) : "";
      show(note, Boolean(renamedFrom));
    },
  };
}

start();
