// "bob joined the call", "bob left the call": while this page is in a room's
// group call, the changes in its participants (from `room-call`) become
// notices, one per person at a time.

import { S } from "./strings.js";

/** notices (notices.js); self() -> our name; inCall() -> we are in the room's call. */
export function createCallPeople({ notices, self, inCall }) {
  let before = null; // who was in the call at the last `room-call` we were part of

  return {
    /** A `room-call` message (or a room's `call` on entering: null when none). */
    update(call) {
      const names = new Set((call?.participants ?? []).map((p) => String(p.name)));
      if (!inCall() || !names.has(self())) {
        before = null;
        return;
      }
      if (before) {
        const tell = (name, words) => name !== self() && notices.show(words(name), { key: `call-people-${name}` });
        for (const name of names) if (!before.has(name)) tell(name, S.joinedCall);
        for (const name of before) if (!names.has(name)) tell(name, S.leftCall);
      }
      before = names;
    },
  };
}
