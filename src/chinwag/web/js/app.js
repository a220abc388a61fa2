// Wiring: the socket, sign-in, user list, chat and calls of one page.
// Settings from the URL (for tests and troubleshooting):
//   ?ringTimeout=SECONDS  ring this long before "No answer" (else the server's, else 30)
//   ?relay=1              force iceTransportPolicy "relay" (TURN only)
//   ?iceGrace=SECONDS     how long ICE may stay "disconnected" before restarting ICE (5)
//   ?connectTimeout=SECONDS  a call or ICE restart that has not connected by then ends (30)
//   ?debug=1              expose the test hook window.chinwag.debug (docs/web-client.md)

import { createCall } from "./call.js";
import { createCallView } from "./callview.js";
import { createChat } from "./chat.js";
import { createLobby } from "./lobby.js";
import { createSocket, defaultSocketUrl } from "./socket.js";
import { byId, createDebugLog, show } from "./ui.js";

const FEATURES = ["deltas", "ringing", "plain-text", "seq"];
const DEFAULT_RING_TIMEOUT_S = 30;
const OUTBOX_LIMIT = 200; // call messages held while the socket is down
const STATUS_WORDS = {
  connecting: "Connecting…",
  connected: "Connected",
  reconnecting: "Reconnecting…",
  offline: "Offline",
  elsewhere: "Signed in elsewhere",
};

/** Start the client on this page. */
export function start() {
  const params = new URLSearchParams(window.location.search);
  const log = createDebugLog(byId("debug-log"));
  const session = {
    connectionId: null,
    wantedName: "",
    name: "",
    resume: null,
    lastSeq: 0, // the last `seq` received: a resume gets back whatever came after it
    serverRingTimeout: null,
    iceServers: [],
    live: false, // signed in on the current socket
  };
  // Call signaling written while the socket is down waits here; it goes out
  // if the session is resumed (the server queued what came the other way)
  // and is dropped if a new session had to start.
  const outbox = [];

  const relaySwitch = byId("relay-only");
  relaySwitch.checked = params.get("relay") === "1";

  const lobby = createLobby({
    listElement: byId("user-list"),
    countElement: byId("user-count"),
    onCall: (name) => call.call(name),
  });
  const chat = createChat({
    logElement: byId("messages"),
    formElement: byId("chat-form"),
    inputElement: byId("chat-input"),
    send: (text) =>
      session.live && socket.send({ type: "message", text, id: session.connectionId, date: Date.now() }),
  });
  const view = createCallView();
  const call = createCall({
    send: sendSignal,
    self: () => session.name,
    iceConfig: () => ({
      iceServers: session.iceServers,
      iceTransportPolicy: relaySwitch.checked ? "relay" : "all",
    }),
    ringTimeoutMs: () => 1000 * ringTimeoutSeconds(params, session),
    view,
    log,
    timing: {
      iceGraceMs: 1000 * (Number(params.get("iceGrace")) || 5),
      connectTimeoutMs: 1000 * (Number(params.get("connectTimeout")) || 30),
    },
  });
  view.bind(call);

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
      if (!msg.resumed) session.lastSeq = 0; // a new session numbers from 1 again
      log(`signed in as ${session.name}${msg.resumed ? " (session resumed)" : ""}`);
      session.live = true;
      const held = outbox.splice(0);
      if (msg.resumed) for (const queued of held) socket.send(queued);
      // A new session after a drop: the server has already ended our call for the other side.
      else if (wasSignedIn) call.sessionLost();
      if (Number(msg.ringTimeout) > 0) session.serverRingTimeout = Number(msg.ringTimeout);
      lobby.setSelf(session.name);
      signIn.signedIn(session.name);
      byId("chat-input").focus();
    },
    "ice-servers"(msg) {
      session.iceServers = Array.isArray(msg.iceServers) ? msg.iceServers : [];
      log(`ice-servers: ${session.iceServers.length} server(s)`);
    },
    userlist: (msg) => lobby.applyUserlist(msg),
    presence: (msg) => lobby.applyPresence(msg),
    message: (msg) => chat.addMessage(msg),
    error(msg) {
      log(`error ${msg.code}: ${msg.message}`);
      // bad-resume only says the old session is gone; signed-in has already brought a new one.
      if (msg.code === "bad-resume") return;
      if (msg.for === "username" || !session.name) signIn.error(String(msg.message ?? msg.code));
      else if (!call.handle(msg)) chat.addNote(String(msg.message ?? msg.code));
    },
  };

  const socket = createSocket({
    url: defaultSocketUrl(),
    log,
    onMessage(msg) {
      if (Number.isInteger(msg.seq) && msg.seq > session.lastSeq) session.lastSeq = msg.seq;
      const handler = handlers[msg.type];
      if (handler) handler(msg);
      else if (!call.handle(msg)) log(`unknown message type: ${String(msg.type)}`);
    },
    onStatus(status) {
      const element = byId("connection-status");
      element.textContent = STATUS_WORDS[status] ?? status;
      element.dataset.status = status;
      if (status === "connected") return;
      session.connectionId = null;
      session.live = false;
    },
  });

  if (params.get("debug") === "1") {
    window.chinwag = Object.freeze({ debug: call.debug });
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

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    session.wantedName = input.value.trim();
    error.textContent = "";
    input.removeAttribute("aria-invalid");
    if (session.wantedName) submit();
  });

  return {
    error(text) {
      error.textContent = text;
      input.setAttribute("aria-invalid", "true");
      session.wantedName = "";
      input.focus();
    },
    renamed(asked, assigned) {
      renamedFrom = asked;
      error.textContent = `The name ${asked} was taken; you are ${assigned}.`;
    },
    signedIn(name) {
      show(byId("signin"), false);
      show(byId("app"), true);
      signedInAs.textContent = name;
      const note = byId("rename-note");
      note.textContent = renamedFrom ? `${renamedFrom} was taken, so you are ${name}.` : "";
      show(note, Boolean(renamedFrom));
    },
  };
}

start();
