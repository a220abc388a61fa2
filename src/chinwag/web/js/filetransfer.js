// Files sent peer to peer: the server relays only a small offer, accept,
// decline, cancel and the negotiation (docs/protocol.md, "Files"); the bytes
// go over an RTCDataChannel of a peer connection of their own (data channel
// only, the calls' ICE servers), so a file goes with or without a call.
//
// One transfer per (file, receiver): a room offer is accepted by each
// receiver on its own, and the sender opens one peer connection per
// acceptance. The sender is the impolite side of negotiation.js (it alone
// makes the data channel, so only it ever offers). Chunks are CHUNK_BYTES;
// the sender waits for `bufferedamountlow` whenever the channel holds more
// than HIGH_WATER bytes. On arrival the receiver checks the SHA-256 the offer
// named and says "ok" or "bad" on the channel; a mismatch is discarded.
//
// Events: onChange(transfer) for every state or progress change. A transfer:
// {id, key, direction: "out" | "in", name, size, peer, state, done, url, error}
// with state one of offered, waiting, connecting, sending, receiving,
// verified, failed, declined, cancelled.

import { createNegotiation } from "./negotiation.js";

const CHUNK_BYTES = 16 * 1024;
const HIGH_WATER = 1024 * 1024;
const LOW_WATER = 256 * 1024;
const ENDED = new Set(["verified", "failed", "declined", "cancelled"]);

/** Lowercase hex SHA-256 of an ArrayBuffer. */
export async function sha256Hex(buffer) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", buffer));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * send(msg) -> boolean (a socket message); self() -> our name; room() -> our
 * room; iceConfig() -> RTCConfiguration; maxBytes() -> the server's limit;
 * onChange(transfer); log(text).
 */
export function createFileTransfers({ send, self, iceConfig, maxBytes, onChange, log = () => {} }) {
  const outgoing = new Map(); // file id -> {file, buffer, sha256, name, size, target, receivers: Map(name -> transfer)}
  const incoming = new Map(); // `${sender}/${file id}` -> transfer

  // A sender's per-receiver transfer has no card of its own: updateCard() sums them up.
  function changed(transfer) {
    if (transfer.key) onChange(transfer);
  }

  function finish(transfer, state, error = "", { keepLink = false } = {}) {
    if (ENDED.has(transfer.state)) return;
    transfer.state = state;
    transfer.error = error;
    transfer.chunks = null;
    if (state !== "verified") transfer.blob = null;
    if (state !== "verified" && transfer.url) {
      URL.revokeObjectURL(transfer.url);
      transfer.url = null;
    }
    if (!keepLink) closeLink(transfer);
    changed(transfer);
  }

  // Said on the channel too: it arrives before the channel's close, which alone would read as a failure.
  function sayCancel(transfer) {
    if (transfer.channel?.readyState === "open") transfer.channel.send("cancel");
  }

  function closeLink(transfer) {
    try {
      transfer.channel?.close();
    } catch {
      /* already closed */
    }
    transfer.pc?.close();
  }

  function signalFor(transfer) {
    return (message) =>
      send({ type: "file-signal", target: transfer.peer, file: transfer.id, ...serialise(message) });
  }

  function openLink(transfer, polite) {
    const pc = new RTCPeerConnection(iceConfig());
    transfer.pc = pc;
    transfer.negotiation = createNegotiation({
      pc,
      polite,
      signal: signalFor(transfer),
      onError: (error) => finish(transfer, "failed", String(error?.message ?? error)),
      log,
    });
    pc.addEventListener("connectionstatechange", () => {
      if (pc.connectionState === "failed" && !ENDED.has(transfer.state)) finish(transfer, "failed", "connection-failed");
    });
    return pc;
  }

  // -- sending ---------------------------------------------------------------

  /** Offer a File to target (a name) or, with target "", to the room. Returns an error code or "". */
  async function offer(file, target) {
    const limit = maxBytes();
    if (file.size > limit) return "too-large";
    const id = crypto.randomUUID();
    const buffer = await file.arrayBuffer();
    const sha256 = await sha256Hex(buffer);
    const entry = { id, buffer, sha256, name: file.name, size: file.size, target, receivers: new Map() };
    outgoing.set(id, entry);
    const msg = { type: "file-offer", file: id, filename: file.name, size: file.size, sha256 };
    if (target) msg.target = target;
    const card = { id, key: `out/${id}`, direction: "out", name: file.name, size: file.size, peer: target, state: "waiting", done: 0, url: null, error: "" };
    entry.card = card;
    if (!send(msg)) {
      outgoing.delete(id);
      return "offline";
    }
    changed(card);
    return "";
  }

  function sendTo(entry, transfer) {
    const pc = openLink(transfer, false);
    const channel = pc.createDataChannel("file", { ordered: true });
    transfer.channel = channel;
    channel.binaryType = "arraybuffer";
    channel.bufferedAmountLowThreshold = LOW_WATER;
    channel.addEventListener("open", () => pump(entry, transfer, channel));
    channel.addEventListener("message", ({ data }) => {
      if (data === "ok") finish(transfer, "verified");
      else if (data === "cancel") finish(transfer, "cancelled");
      else if (data === "bad") finish(transfer, "failed", "checksum");
      updateCard(entry);
    });
    channel.addEventListener("close", () => {
      if (!ENDED.has(transfer.state)) finish(transfer, "failed", "closed");
      updateCard(entry);
    });
  }

  async function pump(entry, transfer, channel) {
    transfer.state = "sending";
    for (let offset = 0; offset < entry.size; offset += CHUNK_BYTES) {
      if (transfer.state !== "sending" || channel.readyState !== "open") return;
      if (channel.bufferedAmount > HIGH_WATER) {
        await new Promise((resolve) => {
          const done = () => {
            channel.removeEventListener("bufferedamountlow", done);
            channel.removeEventListener("close", done);
            resolve();
          };
          channel.addEventListener("bufferedamountlow", done);
          channel.addEventListener("close", done);
        });
        if (channel.readyState !== "open") return;
      }
      channel.send(entry.buffer.slice(offset, offset + CHUNK_BYTES));
      transfer.done = Math.min(entry.size, offset + CHUNK_BYTES);
      updateCard(entry);
    }
  }

  // The sender's one card for a file: the progress of its furthest transfer still going.
  function updateCard(entry) {
    const card = entry.card;
    const transfers = [...entry.receivers.values()];
    const going = transfers.filter((t) => !ENDED.has(t.state));
    card.receivers = transfers.map((t) => ({ name: t.peer, state: t.state, error: t.error }));
    if (card.state === "cancelled") return changed(card);
    if (going.length) {
      card.state = going.some((t) => t.state === "sending") ? "sending" : "connecting";
      card.done = Math.max(...going.map((t) => t.done));
    } else if (!entry.target) {
      card.state = "waiting"; // a room offer: others may still accept, until it is cancelled
    } else if (transfers.some((t) => t.state === "verified")) {
      card.state = "verified";
      card.done = card.size;
    } else if (transfers.length) {
      card.state = transfers[0].state; // a direct offer ends as its one transfer did
      card.error = transfers[0].error;
    }
    card.progressEvents = (card.progressEvents ?? 0) + 1;
    changed(card);
  }

  function onAccept(msg) {
    const entry = outgoing.get(String(msg.file));
    const from = String(msg.name ?? "");
    if (!entry || entry.card.state === "cancelled" || entry.receivers.has(from)) return;
    if (entry.target && entry.target !== from) return;
    const transfer = { id: entry.id, direction: "out", peer: from, state: "connecting", done: 0, error: "" };
    entry.receivers.set(from, transfer);
    sendTo(entry, transfer);
    updateCard(entry);
  }

  function onDecline(msg) {
    const entry = outgoing.get(String(msg.file));
    const from = String(msg.name ?? "");
    if (!entry) return;
    const transfer = entry.receivers.get(from) ?? { id: entry.id, peer: from, state: "waiting", done: 0 };
    entry.receivers.set(from, transfer);
    finish(transfer, msg.type === "file-cancel" ? "cancelled" : "declined", String(msg.reason ?? ""));
    updateCard(entry);
  }

  // -- receiving -------------------------------------------------------------

  function onOffer(msg) {
    const from = String(msg.name ?? "");
    if (!from) return;
    const id = String(msg.file ?? "");
    const key = `${from}/${id}`;
    if (!id || incoming.has(key)) return;
    const size = Number(msg.size);
    const transfer = {
      id, key, direction: "in", name: String(msg.filename ?? ""), size, peer: from,
      sha256: String(msg.sha256 ?? ""), state: "offered", done: 0, url: null, error: "", room: !msg.target, progressEvents: 0,
    };
    incoming.set(key, transfer);
    if (!Number.isSafeInteger(size) || size < 0 || size > maxBytes()) {
      send({ type: "file-decline", target: from, file: id, reason: "too-large" });
      finish(transfer, "declined", "too-large");
      return;
    }
    changed(transfer);
  }

  function accept(key) {
    const transfer = incoming.get(key);
    if (!transfer || transfer.state !== "offered") return;
    transfer.state = "connecting";
    transfer.chunks = [];
    send({ type: "file-accept", target: transfer.peer, file: transfer.id });
    const pc = openLink(transfer, true);
    pc.addEventListener("datachannel", ({ channel }) => receiveOn(transfer, channel));
    changed(transfer);
  }

  function receiveOn(transfer, channel) {
    transfer.channel = channel;
    channel.binaryType = "arraybuffer";
    channel.addEventListener("message", ({ data }) => {
      if (data === "cancel") return finish(transfer, "cancelled");
      if (transfer.state === "connecting") transfer.state = "receiving";
      if (transfer.state !== "receiving" || typeof data === "string") return;
      transfer.chunks.push(data);
      transfer.done += data.byteLength;
      transfer.progressEvents += 1;
      if (transfer.done > transfer.size) return cancel(transfer.key, "too-large");
      changed(transfer);
      if (transfer.done === transfer.size) verify(transfer, channel);
    });
    channel.addEventListener("close", () => {
      if (!ENDED.has(transfer.state) && transfer.state !== "checking") finish(transfer, "failed", "closed");
      else closeLink(transfer); // verified: the sender closed the channel once it heard "ok"
    });
  }

  async function verify(transfer, channel) {
    transfer.state = "checking";
    const blob = new Blob(transfer.chunks);
    transfer.chunks = null;
    const actual = await sha256Hex(await blob.arrayBuffer());
    const good = actual === transfer.sha256;
    if (channel.readyState === "open") channel.send(good ? "ok" : "bad");
    if (good) {
      transfer.url = URL.createObjectURL(blob);
      transfer.blob = blob; // what the URL holds, for the test hook's fileBlob()
    }
    transfer.state = "receiving"; // let finish() end it
    // Verified: the sender closes once it has read "ok" (closing here could lose it).
    finish(transfer, good ? "verified" : "failed", good ? "" : "checksum", { keepLink: good });
  }

  function decline(key) {
    const transfer = incoming.get(key);
    if (!transfer || transfer.state !== "offered") return;
    send({ type: "file-decline", target: transfer.peer, file: transfer.id });
    finish(transfer, "declined");
  }

  // -- both ------------------------------------------------------------------

  /** Cancel a transfer by its key (a card's), from either side. */
  function cancel(key, reason = "") {
    if (key.startsWith("out/")) {
      const entry = outgoing.get(key.slice(4));
      if (!entry || ENDED.has(entry.card.state)) return;
      const msg = { type: "file-cancel", file: entry.id };
      if (entry.target) msg.target = entry.target;
      send(msg); // a room offer: everyone who has it hears at once
      for (const transfer of entry.receivers.values()) {
        if (!ENDED.has(transfer.state)) sayCancel(transfer);
        finish(transfer, "cancelled");
      }
      entry.buffer = null;
      finish(entry.card, "cancelled");
      return;
    }
    const transfer = incoming.get(key);
    if (!transfer || ENDED.has(transfer.state)) return;
    sayCancel(transfer);
    send({ type: "file-cancel", target: transfer.peer, file: transfer.id, ...(reason ? { reason } : {}) });
    finish(transfer, "cancelled", reason);
  }

  function onCancel(msg) {
    const from = String(msg.name ?? "");
    const theirs = incoming.get(`${from}/${String(msg.file)}`);
    if (theirs) return finish(theirs, "cancelled", String(msg.reason ?? ""));
    onDecline(msg); // a receiver cancelled its part of our offer
  }

  function onSignal(msg) {
    const from = String(msg.name ?? "");
    const id = String(msg.file ?? "");
    const transfer = incoming.get(`${from}/${id}`) ?? outgoing.get(id)?.receivers.get(from);
    if (!transfer?.negotiation || ENDED.has(transfer.state)) return;
    transfer.negotiation.dispatch(msg.description ? { description: msg.description } : { candidate: msg.candidate });
  }

  /**
   * The server could not deliver our file-offer or file-accept: the other
   * side is not online (docs/protocol.md, `no-such-user`). A direct offer
   * still waiting for them, or our acceptance of their offer, fails with
   * "gone" instead of waiting for ever. True when the error was about a file.
   */
  function refused(msg) {
    if (msg.for !== "file-offer" && msg.for !== "file-accept") return false;
    if (msg.code !== "no-such-user") return true;
    const peer = String(msg.target ?? "");
    if (msg.for === "file-offer") {
      for (const entry of outgoing.values()) {
        if (entry.target === peer && entry.card.state === "waiting" && !entry.receivers.size) {
          entry.buffer = null;
          finish(entry.card, "failed", "gone");
        }
      }
    } else {
      for (const transfer of incoming.values()) {
        if (transfer.peer === peer && transfer.state === "connecting" && !transfer.done) finish(transfer, "failed", "gone");
      }
    }
    return true;
  }

  const handlers = {
    "file-offer": onOffer,
    "file-accept": onAccept,
    "file-decline": onDecline,
    "file-cancel": onCancel,
    "file-signal": onSignal,
  };

  return {
    offer,
    accept,
    decline,
    cancel,
    refused,
    /** A socket message; true when it was a file message. */
    handle(msg) {
      const handler = handlers[msg.type];
      if (!handler) return false;
      // A room offer or cancel comes back to its sender too (docs/protocol.md): not for us.
      if (String(msg.name ?? "") !== self()) handler(msg);
      return true;
    },
    /** For tests (?debug=1): the received Blob of a verified transfer (its Save link's). */
    debugBlob: (key) => incoming.get(key)?.blob ?? null,
    /** For tests (?debug=1): every transfer's state, and its peer connection's. */
    debug() {
      const all = [...[...outgoing.values()].flatMap((e) => [e.card, ...e.receivers.values()]), ...incoming.values()];
      return all.map((t) => ({
        key: t.key ?? null, id: t.id, direction: t.direction ?? "out", peer: t.peer, state: t.state, done: t.done,
        size: t.size ?? null, url: t.url ?? null, error: t.error ?? "", progressEvents: t.progressEvents ?? 0,
        pc: t.pc ? t.pc.connectionState : null, signaling: t.pc ? t.pc.signalingState : null,
        channel: t.channel ? t.channel.readyState : null,
      }));
    },
  };
}

// RTCSessionDescription and RTCIceCandidate to plain JSON for the socket.
function serialise({ description, candidate }) {
  if (description) return { description: { type: description.type, sdp: description.sdp } };
  return { candidate: candidate.toJSON ? candidate.toJSON() : candidate };
}
