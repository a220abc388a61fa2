// What the server does for a room call, in one page: keeps the participants
// list in join order, sends `room-call` to everyone whenever it changes, and
// relays `room-signal` / `media-state` to `target` with `name` set, only
// between participants (else `not-in-call` back to the sender). Delivery is
// asynchronous and in order per receiver, as over a socket.

/** A bus; join(name, handle) returns send(message) for that participant. */
export function createSignalingBus() {
  const members = new Map(); // name -> handle(message)
  let participants = [];
  let started = null;
  const counts = new Map(); // name -> messages sent

  function deliver(name, message) {
    const handle = members.get(name);
    if (handle) setTimeout(() => handle(structuredClone(message)), 0);
  }

  function announce() {
    const message = { type: "room-call", room: "test", started, participants };
    for (const name of members.keys()) deliver(name, message);
  }

  function relay(from, message) {
    counts.set(from, (counts.get(from) ?? 0) + 1);
    if (message.type !== "room-signal" && message.type !== "media-state") {
      throw new Error(`the bus does not take ${message.type}`);
    }
    if (!members.has(message.target)) {
      deliver(from, { type: "error", code: "not-in-call", for: message.type });
      return;
    }
    deliver(message.target, { ...message, name: from });
  }

  return {
    join(name, handle, { rollback = true } = {}) {
      members.set(name, handle);
      participants = [...participants, { name, rollback }];
      started ??= Date.now();
      announce();
      return (message) => relay(name, message);
    },
    leave(name) {
      members.delete(name);
      participants = participants.filter((p) => p.name !== name);
      if (!participants.length) started = null;
      announce();
    },
    /** Messages each participant has sent so far. */
    counts: () => Object.fromEntries(counts),
  };
}
