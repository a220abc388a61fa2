// Minimal relay of chinwag's wire protocol (docs/protocol.md) on Node.js + `ws`,
// used by bench/relay.py as the yardstick for chinwag's own server. It does what
// the benchmark exercises and nothing more: `id`, sign-in with numbered names,
// `signed-in` for feature clients, coalesced presence (full `userlist`, or
// `presence` deltas for "deltas" clients), targeted and broadcast relay with the
// sender's `name` set, and `no-such-user` / `bad-json` errors.
//
// Usage: node relay.js [--host 127.0.0.1] [--port 0]
// Prints "relay listening on http://HOST:PORT/" once listening.
"use strict";

const http = require("http");
const { WebSocketServer } = require("ws");

const PRESENCE_INTERVAL_MS = 50;
const SERVER_TYPES = new Set([
  "id", "rejectusername", "userlist", "error", "signed-in", "presence", "ice-servers",
]);
const KNOWN_FEATURES = new Set(["deltas", "ringing", "plain-text"]);

function option(name, fallback) {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : fallback;
}

const members = new Map(); // name -> member, in sign-in order
let nextId = 1;
let joined = [];
let left = [];
let renamed = [];

function errorFrame(code, message, kind, target) {
  return JSON.stringify({ type: "error", code, message, for: kind ?? null, target: target ?? null });
}

function freeName(wanted) {
  if (!members.has(wanted)) return wanted;
  for (let number = 1; ; number += 1) {
    const candidate = wanted + number;
    if (!members.has(candidate)) return candidate;
  }
}

function signIn(member, msg) {
  const wanted = typeof msg.name === "string" ? msg.name.trim() : "";
  if (!wanted || wanted.length > 32) {
    member.socket.send(errorFrame("bad-name", "Bad username.", "username"));
    return;
  }
  if (member.name === wanted) return;
  const name = freeName(wanted);
  if (member.name === null) {
    const features = Array.isArray(msg.features) ? msg.features.filter((f) => KNOWN_FEATURES.has(f)) : [];
    member.deltas = features.includes("deltas");
    member.fresh = true;
    joined.push(name);
    if (features.length) {
      member.socket.send(JSON.stringify({ type: "signed-in", id: member.id, name, features: features.sort() }));
    }
  } else {
    members.delete(member.name);
    renamed.push([member.name, name]);
  }
  if (name !== wanted) member.socket.send(JSON.stringify({ type: "rejectusername", id: member.id, name }));
  member.name = name;
  members.set(name, member);
}

function relay(member, msg, kind) {
  if (SERVER_TYPES.has(kind)) {
    member.socket.send(errorFrame("bad-type", `${kind} is sent by the server only.`, kind));
    return;
  }
  msg.name = member.name;
  const text = JSON.stringify(msg);
  if (typeof msg.target === "string" && msg.target) {
    const target = members.get(msg.target);
    if (target) target.socket.send(text);
    else member.socket.send(errorFrame("no-such-user", `${msg.target} is not online.`, kind, msg.target));
    return;
  }
  for (const other of members.values()) other.socket.send(text);
}

function receive(member, data, isBinary) {
  if (isBinary) {
    member.socket.send(errorFrame("binary-frame", "Send JSON text."));
    return;
  }
  let msg;
  try {
    msg = JSON.parse(data.toString("utf8"));
  } catch {
    member.socket.send(errorFrame("bad-json", "The frame is not valid JSON."));
    return;
  }
  if (msg === null || typeof msg !== "object" || Array.isArray(msg)) {
    member.socket.send(errorFrame("bad-message", "A message must be a JSON object."));
    return;
  }
  const kind = msg.type;
  if (kind === "username") signIn(member, msg);
  else if (member.name === null) member.socket.send(errorFrame("not-signed-in", "Sign in first.", kind));
  else if (kind === "message") {
    const line = { type: "message", text: String(msg.text), name: member.name, date: Date.now(), id: member.id };
    const text = JSON.stringify(line);
    for (const other of members.values()) other.socket.send(text);
  } else relay(member, msg, kind);
}

function flushPresence() {
  if (!joined.length && !left.length && !renamed.length) return;
  const users = [...members.keys()];
  // Encoded once, sent to many: text frames from ready-made UTF-8 buffers.
  const encode = (message) => Buffer.from(JSON.stringify(message));
  const full = encode({ type: "userlist", users });
  const fullForDeltas = encode({ type: "userlist", users, busy: [] });
  const delta = encode({ type: "presence", joined, left, renamed, busy: [], idle: [] });
  const text = { binary: false };
  for (const member of members.values()) {
    if (!member.deltas) member.socket.send(full, text);
    else if (member.fresh) member.socket.send(fullForDeltas, text);
    else member.socket.send(delta, text);
    member.fresh = false;
  }
  joined = [];
  left = [];
  renamed = [];
}

function main() {
  const host = option("--host", "127.0.0.1");
  const port = Number(option("--port", "0"));
  const server = http.createServer((request, response) => {
    response.writeHead(404).end();
  });
  const wss = new WebSocketServer({
    server,
    handleProtocols: (protocols) => (protocols.has("json") ? "json" : false),
  });
  wss.on("connection", (socket) => {
    const member = { id: nextId++, name: null, deltas: false, fresh: false, socket };
    socket.send(JSON.stringify({ type: "id", id: member.id }));
    socket.on("message", (data, isBinary) => receive(member, data, isBinary));
    socket.on("close", () => {
      if (member.name !== null && members.get(member.name) === member) {
        members.delete(member.name);
        const pending = joined.indexOf(member.name);
        if (pending >= 0) joined.splice(pending, 1);
        else left.push(member.name);
      }
    });
    socket.on("error", () => {});
  });
  setInterval(flushPresence, PRESENCE_INTERVAL_MS);
  const stop = () => {
    for (const client of wss.clients) client.close(1001);
    server.close();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  server.listen({ host, port, backlog: 4096 }, () => {
    process.stdout.write(`relay listening on http://${host}:${server.address().port}/\n`);
  });
}

main();
