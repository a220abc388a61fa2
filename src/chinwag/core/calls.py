"""The one-to-one call state machine, as the server sees it (no I/O).

The server takes no part in calls; it follows the signaling it relays. Every
call has a caller and a callee and goes through these states (the same names
as the web client and the Python peer use)::

    idle ──call-invite / video-offer──▶ ringing ──call-accept / video-answer──▶ connecting
                                          │                                      │
                                          │                        call-connected│
                                          ▼                                      ▼
                                        ended ◀──hang-up / call-decline / left── active

``connecting`` and ``active`` both count as "in a call" (busy); ``active``
only says that a chinwag client reported media flowing (``call-connected``).
Reference clients never send that message, so their calls stay
``connecting`` until they end, and are busy exactly the same.

The transition table (``TRANSITIONS``), ``state x event -> (state, who may
send it)``:

=========== ================ =========== =======
state       event            next        sender
=========== ================ =========== =======
idle        call-invite      ringing     caller
idle        video-offer      ringing     caller
ringing     call-invite      ringing     caller
ringing     video-offer      ringing     caller
ringing     call-accept      connecting  callee
ringing     video-answer     connecting  callee
ringing     call-decline     ended       either
ringing     hang-up          ended       either
connecting  video-offer      connecting  either
connecting  video-answer     connecting  either
connecting  call-connected   active      either
connecting  call-decline     ended       either
connecting  hang-up          ended       either
active      video-offer      active      either
active      video-answer     active      either
active      call-connected   active      either
active      call-decline     ended       either
active      hang-up          ended       either
any         left             ended       either
=========== ================ =========== =======

Which call a message is about: the sender's own call (the one it placed or
is in) if it is with the target; for ``call-accept``/``video-answer``/
``call-decline`` first a call the target is ringing the sender with; for
``call-invite``/``video-offer`` from someone with no call of their own, a
new call (so crossing invites make two ringing calls; accepting one of them
ends the accepter's own outgoing ringing call: exactly one call results).

Anything not in the table is an **illegal transition**: logged, the state
left unchanged, and one of two named outcomes (``Outcome``):

* ``IGNORED``: the message is still relayed, because today's clients send it
  and their peers cope: a repeated ``call-accept``, a ``hang-up`` or
  ``call-decline`` for a call that already ended (both sides hang up at
  once), a ``video-answer`` that arrives after a hang-up, an invite from
  someone already in another call (the callee's client answers ``busy``).
  Refusing these would break the reference client, which sends them freely.
* ``REFUSED``: the message is not relayed and the sender gets an error with
  a stable code. Only ``call-connected`` outside a ``connecting``/``active``
  call with its target (code ``not-in-call``): it is chinwag's own message,
  so no reference client depends on it.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Container
from dataclasses import dataclass
from typing import Final, NamedTuple

__all__ = [
    "CALL_MESSAGES",
    "TRANSITIONS",
    "CallBook",
    "CallState",
    "Outcome",
    "Role",
    "Step",
]

log = logging.getLogger(__name__)


class CallState(enum.Enum):
    IDLE = "idle"
    RINGING = "ringing"
    CONNECTING = "connecting"
    ACTIVE = "active"
    ENDED = "ended"


class Role(enum.Enum):
    """Who may send an event in a state."""

    CALLER = "caller"
    CALLEE = "callee"
    EITHER = "either"


class Outcome(enum.Enum):
    """What following one message did."""

    MOVED = "moved"  # the call changed state (or began, or ended)
    STAYED = "stayed"  # a legal message that changes no state (renegotiation, a repeat)
    IGNORED = "ignored"  # illegal; state unchanged, message still relayed
    REFUSED = "refused"  # illegal; not relayed, an error goes to the sender
    NOT_A_CALL = "not-a-call"  # not a call message (media-state, candidates, ...)


_S = CallState
_IN_CALL: Final = frozenset({_S.CONNECTING, _S.ACTIVE})
LIVE_STATES: Final = frozenset({_S.RINGING, _S.CONNECTING, _S.ACTIVE})
_OPENERS: Final = frozenset({"call-invite", "video-offer"})
_CALLEE_FIRST: Final = frozenset({"call-accept", "video-answer", "call-decline"})
LEFT: Final = "left"  # not a wire message: the user left for good

TRANSITIONS: Final[dict[tuple[CallState, str], tuple[CallState, Role]]] = {
    (_S.IDLE, "call-invite"): (_S.RINGING, Role.CALLER),
    (_S.IDLE, "video-offer"): (_S.RINGING, Role.CALLER),
    (_S.RINGING, "call-invite"): (_S.RINGING, Role.CALLER),
    (_S.RINGING, "video-offer"): (_S.RINGING, Role.CALLER),
    (_S.RINGING, "call-accept"): (_S.CONNECTING, Role.CALLEE),
    (_S.RINGING, "video-answer"): (_S.CONNECTING, Role.CALLEE),
    (_S.RINGING, "call-decline"): (_S.ENDED, Role.EITHER),
    (_S.RINGING, "hang-up"): (_S.ENDED, Role.EITHER),
    (_S.CONNECTING, "video-offer"): (_S.CONNECTING, Role.EITHER),
    (_S.CONNECTING, "video-answer"): (_S.CONNECTING, Role.EITHER),
    (_S.CONNECTING, "call-connected"): (_S.ACTIVE, Role.EITHER),
    (_S.CONNECTING, "call-decline"): (_S.ENDED, Role.EITHER),
    (_S.CONNECTING, "hang-up"): (_S.ENDED, Role.EITHER),
    (_S.ACTIVE, "video-offer"): (_S.ACTIVE, Role.EITHER),
    (_S.ACTIVE, "video-answer"): (_S.ACTIVE, Role.EITHER),
    (_S.ACTIVE, "call-connected"): (_S.ACTIVE, Role.EITHER),
    (_S.ACTIVE, "call-decline"): (_S.ENDED, Role.EITHER),
    (_S.ACTIVE, "hang-up"): (_S.ENDED, Role.EITHER),
    **{(state, LEFT): (_S.ENDED, Role.EITHER) for state in LIVE_STATES},
}

#: The wire messages the machine follows (``left`` is the server's own event).
CALL_MESSAGES: Final = frozenset(event for _, event in TRANSITIONS if event != LEFT)

#: Illegal events that are refused rather than relayed (see the module docstring).
_REFUSED_WHEN_ILLEGAL: Final = frozenset({"call-connected"})


@dataclass(slots=True, eq=False)
class _Call:
    caller: str
    callee: str
    state: CallState = _S.RINGING

    def other(self, name: str) -> str:
        return self.callee if name == self.caller else self.caller


class Step(NamedTuple):
    """The result of following one message: its outcome, whose busy state changed."""

    outcome: Outcome
    changed: tuple[str, ...] = ()
    why: str = ""


class CallBook:
    """Every call this node knows of, by user name.

    Invariants (``check`` asserts them): a user has at most one *own* call
    (placed, or connecting/active); a connecting/active call is the own call
    of both its sides; a ringing call is its caller's own call and is listed
    once under its callee's incoming calls.
    """

    def __init__(self) -> None:
        self._own: dict[str, _Call] = {}  # the call a user placed or is in
        self._incoming: dict[str, dict[str, _Call]] = {}  # callee -> caller -> ringing call

    # -- queries -------------------------------------------------------------

    def partner_of(self, name: str) -> str | None:
        call = self._own.get(name)
        return call.other(name) if call else None

    def in_call(self, name: str) -> bool:
        """Busy: in a ``connecting`` or ``active`` call."""
        call = self._own.get(name)
        return call is not None and call.state in _IN_CALL

    def involved(self, name: str) -> bool:
        """In any call at all: placing one, being rung, connecting or active."""
        return name in self._own or bool(self._incoming.get(name))

    def state_of(self, name: str) -> CallState:
        """The state of ``name``'s own call; ``ringing`` too while someone rings it."""
        call = self._own.get(name)
        if call is not None:
            return call.state
        return _S.RINGING if self._incoming.get(name) else _S.IDLE

    def active_pairs(self, among: Container[str]) -> int:
        """Calls in progress (connecting or active) with at least one side in ``among``."""
        calls = {id(c) for n, c in self._own.items() if c.state in _IN_CALL and n in among}
        return len(calls)

    # -- following the signaling ---------------------------------------------

    def follow(self, sender: str, target: str, kind: str) -> Step:
        """Apply one relayed message of type ``kind`` from ``sender`` to ``target``.

        Decides everything before changing anything, so a refused or illegal
        message leaves the book exactly as it was.
        """
        if kind not in CALL_MESSAGES:
            return Step(Outcome.NOT_A_CALL)
        if sender == target:
            return self._illegal(sender, target, kind, "a call with oneself")
        call = self._find(sender, target, kind)
        state = call.state if call else _S.IDLE
        rule = TRANSITIONS.get((state, kind))
        if rule is None:
            return self._illegal(sender, target, kind, f"not allowed in state {state.value}")
        next_state, role = rule
        if call is None:
            if sender in self._own:
                return self._illegal(sender, target, kind, "the sender is in another call")
            self._open(sender, target)
            return Step(Outcome.MOVED)
        if not _may_send(call, sender, role):
            return self._illegal(sender, target, kind, f"only the {role.value} may send it")
        if next_state is state:
            return Step(Outcome.STAYED)
        if next_state is _S.CONNECTING:
            if call.callee in self._own and self._own[call.callee].state in _IN_CALL:
                return self._illegal(sender, target, kind, "the callee is in another call")
            return Step(Outcome.MOVED, self._connect(call))
        if next_state is _S.ACTIVE:
            self._set_state(call, _S.ACTIVE)
            return Step(Outcome.MOVED)
        return Step(Outcome.MOVED, tuple(self._end(call)))

    def end_all(self, name: str) -> tuple[list[str], list[str]]:
        """``name`` left for good: (everyone it was ringing, rung by or in a call with,
        whose busy state changed)."""
        calls = list(self._incoming.get(name, {}).values())
        own = self._own.get(name)
        if own is not None:
            calls.append(own)
        partners: set[str] = set()
        changed: list[str] = []
        for call in calls:
            partners.add(call.other(name))
            changed += self._end(call)
        return sorted(partners), changed

    def rename(self, old: str, new: str) -> None:
        """A user's name changed (another node's user: this node refuses renames in a call)."""
        calls = list(self._incoming.pop(old, {}).values())
        own = self._own.pop(old, None)
        if own is not None:
            calls.append(own)
            self._own[new] = own
        if calls:
            self._incoming[new] = {}
        for call in calls:
            if call.caller == old:
                call.caller = new
                incoming = self._incoming.get(call.callee, {})
                if incoming.pop(old, None) is not None:
                    incoming[new] = call
            if call.callee == old:
                call.callee = new
                if call.state is _S.RINGING:
                    self._incoming[new][call.caller] = call
        if not self._incoming.get(new):
            self._incoming.pop(new, None)

    def restore(self, name: str, partner: str | None, in_call: bool) -> None:
        """Carry on a call that ``name`` had on another node (its session moved here)."""
        if partner is None or name in self._own:
            return
        if not in_call:
            self._open(name, partner)
            return
        other = self._own.get(partner)
        if other is not None and other.other(partner) == name:
            self._own[name] = other
        elif other is None:
            call = _Call(name, partner, _S.CONNECTING)
            self._own[name] = self._own[partner] = call

    def check(self) -> None:
        """Assert the invariants in the class docstring (for tests)."""
        for name, call in self._own.items():
            assert name in (call.caller, call.callee), (name, call)
            assert call.state in LIVE_STATES, call
            if call.state is _S.RINGING:
                assert name == call.caller, (name, call)
                assert self._incoming[call.callee][call.caller] is call, call
        for callee, calls in self._incoming.items():
            assert calls, callee
            for caller, call in calls.items():
                assert (call.caller, call.callee, call.state) == (caller, callee, _S.RINGING)
                assert self._own.get(caller) is call, call

    # -- transitions (the only code that changes the book) -------------------

    def _find(self, sender: str, target: str, kind: str) -> _Call | None:
        """The call a message from ``sender`` to ``target`` is about, if any."""
        if kind in _CALLEE_FIRST:
            ringing = self._incoming.get(sender, {}).get(target)
            if ringing is not None:
                return ringing
        own = self._own.get(sender)
        if own is not None and own.other(sender) == target:
            return own
        return None

    def _open(self, caller: str, callee: str) -> None:
        call = _Call(caller, callee)
        self._own[caller] = call
        self._incoming.setdefault(callee, {})[caller] = call
        log.debug("call %s -> %s: idle -> ringing", caller, callee)

    def _connect(self, call: _Call) -> tuple[str, ...]:
        """The callee answered: its own outgoing ringing call, if any, ends (crossing invites)."""
        crossing = self._own.get(call.callee)
        if crossing is not None and crossing is not call:
            self._end(crossing)
        self._stop_ringing(call)
        self._own[call.callee] = call
        self._set_state(call, _S.CONNECTING)
        return (call.callee, call.caller)

    def _end(self, call: _Call) -> list[str]:
        """End ``call``; return whose busy state changed."""
        was_busy = call.state in _IN_CALL
        self._stop_ringing(call)
        for name in (call.caller, call.callee):
            if self._own.get(name) is call:
                del self._own[name]
        self._set_state(call, _S.ENDED)
        return [call.caller, call.callee] if was_busy else []

    def _stop_ringing(self, call: _Call) -> None:
        incoming = self._incoming.get(call.callee)
        if incoming is not None and incoming.get(call.caller) is call:
            del incoming[call.caller]
            if not incoming:
                del self._incoming[call.callee]

    @staticmethod
    def _set_state(call: _Call, state: CallState) -> None:
        log.debug(
            "call %s -> %s: %s -> %s", call.caller, call.callee, call.state.value, state.value
        )
        call.state = state

    @staticmethod
    def _illegal(sender: str, target: str, kind: str, why: str) -> Step:
        outcome = Outcome.REFUSED if kind in _REFUSED_WHEN_ILLEGAL else Outcome.IGNORED
        log.info("call: %s from %s to %s %s: %s", kind, sender, target, outcome.value, why)
        return Step(outcome, (), why)


def _may_send(call: _Call, sender: str, role: Role) -> bool:
    if role is Role.CALLER:
        return sender == call.caller
    if role is Role.CALLEE:
        return sender == call.callee
    return True
