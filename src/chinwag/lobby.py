"""The lobby: presence, names, chat and routing rules, with no I/O.

Rules of this module:

* Inputs are method calls: a connection opened (``connect``), a frame from it
  (``receive``), a transport-level fault (``reject``), a connection gone for
  good (``disconnect``), the presence timer (``flush_presence``).
* Each call returns a list of effects for the transport to carry out, in
  order: :class:`Send` one payload to some connections, :class:`Close` one.
  The lobby never awaits and never touches a socket, so every rule is
  unit-tested by calling methods and reading the effects.
* Identity is bound to the connection: ``name`` on everything relayed is the
  sender's current username, whatever the client wrote.
* Presence is coalesced: changes are recorded as they happen and sent at most
  once per ``flush_presence`` call (the transport calls it every interval
  while ``presence_pending`` is true). Reference clients get the full
  ``userlist``; ``deltas`` clients get one full list, then ``presence`` deltas.
* The lobby knows who is in a call with whom from the signaling it relays
  (offer/invite, answer/accept, decline, hang-up), marks them busy, and hangs
  up the partner of a connection that goes away.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .errors import ProtocolError
from .protocol import (
    Chat,
    Inbound,
    Relay,
    SignIn,
    encode,
    escape_html,
    numbered_name,
    parse_frame,
    strip_tags,
)

__all__ = ["Close", "ConnId", "Effect", "Lobby", "Send"]

ConnId = int

#: Relayed types that open, establish and end a call (see docs/protocol.md).
_CALL_OPENERS = frozenset({"call-invite", "video-offer"})
_CALL_ACCEPTS = frozenset({"call-accept", "video-answer"})
_CALL_ENDERS = frozenset({"call-decline", "hang-up"})


@dataclass(frozen=True, slots=True)
class Send:
    """Write ``payload`` (UTF-8 JSON) as one text frame to each connection."""

    conns: tuple[ConnId, ...]
    payload: bytes


@dataclass(frozen=True, slots=True)
class Close:
    """Close one connection with a WebSocket close code."""

    conn: ConnId
    code: int
    reason: str


Effect = Send | Close


@dataclass(slots=True)
class _Member:
    """One connection on this server."""

    conn: ConnId
    name: str | None = None
    features: frozenset[str] = frozenset()


@dataclass(slots=True)
class _Partner:
    """Who a user is calling or talking to; ``active`` once answered."""

    name: str
    active: bool = False


@dataclass(slots=True)
class _PresenceChanges:
    """What changed since the last flush, netted out at flush time."""

    touched: set[str] = field(default_factory=set)
    renamed: dict[str, str] = field(default_factory=dict)  # new name -> old name
    list_changed: bool = False
    fresh: set[ConnId] = field(default_factory=set)  # deltas clients owed a full list

    @property
    def pending(self) -> bool:
        return bool(self.touched or self.fresh or self.list_changed)


class Lobby:
    """All the rules of one chinwag server, fed by a transport."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock  # wall clock, for the `date` of chat lines
        self._members: dict[ConnId, _Member] = {}
        self._by_name: dict[str, _Member] = {}  # insertion order is the list order
        self._partners: dict[str, _Partner] = {}
        self._callers: dict[str, set[str]] = {}  # callee -> callers ringing it
        self._seen_by_deltas: dict[str, bool] = {}  # name -> busy, as deltas clients know it
        self._changes = _PresenceChanges()

    # -- queries ---------------------------------------------------------

    @property
    def presence_pending(self) -> bool:
        """True while a ``flush_presence`` call has something to send."""
        return self._changes.pending

    def usernames(self) -> list[str]:
        return list(self._by_name)

    def name_of(self, conn: ConnId) -> str | None:
        member = self._members.get(conn)
        return member.name if member else None

    def partner_of(self, name: str) -> str | None:
        partner = self._partners.get(name)
        return partner.name if partner else None

    def is_busy(self, name: str) -> bool:
        partner = self._partners.get(name)
        return partner is not None and partner.active

    @property
    def connection_count(self) -> int:
        return len(self._members)

    # -- inputs ----------------------------------------------------------

    def connect(self, conn: ConnId) -> list[Effect]:
        """A socket opened: greet it with its ``id`` (it signs in next)."""
        self._members[conn] = _Member(conn)
        return [Send((conn,), encode({"type": "id", "id": conn}))]

    def receive(self, conn: ConnId, data: str | bytes) -> list[Effect]:
        """One text frame from ``conn``; bad input is answered to it alone."""
        member = self._members.get(conn)
        if member is None:
            return []
        try:
            message = parse_frame(data)
            return self._dispatch(member, message)
        except ProtocolError as error:
            return [Send((conn,), encode(error.as_message()))]

    def reject(self, conn: ConnId, error: ProtocolError) -> list[Effect]:
        """A fault the transport found (binary frame, oversized frame)."""
        if conn not in self._members:
            return []
        return [Send((conn,), encode(error.as_message()))]

    def disconnect(self, conn: ConnId) -> list[Effect]:
        """``conn`` is gone for good: leave the list, hang up its calls."""
        member = self._members.pop(conn, None)
        if member is None or member.name is None:
            return []
        name = member.name
        effects = self._end_calls_of(name)
        del self._by_name[name]
        self._changes.fresh.discard(conn)
        self._touch(name)
        return effects

    def flush_presence(self) -> list[Effect]:
        """Send the coalesced presence changes; call every interval while pending."""
        changes, self._changes = self._changes, _PresenceChanges()
        effects: list[Effect] = []
        legacy = tuple(m.conn for m in self._signed_in() if "deltas" not in m.features)
        if legacy and changes.list_changed:
            effects.append(Send(legacy, encode({"type": "userlist", "users": self.usernames()})))
        delta = self._delta(changes)
        deltas_clients = tuple(
            m.conn
            for m in self._signed_in()
            if "deltas" in m.features and m.conn not in changes.fresh
        )
        if delta and deltas_clients:
            effects.append(Send(deltas_clients, encode(delta)))
        if changes.fresh:
            effects.append(Send(tuple(changes.fresh), encode(self._full_list())))
        return effects

    # -- dispatch --------------------------------------------------------

    def _dispatch(self, member: _Member, message: Inbound) -> list[Effect]:
        if isinstance(message, SignIn):
            return self._sign_in(member, message)
        if member.name is None:
            kind = "message" if isinstance(message, Chat) else message.type
            raise ProtocolError("not-signed-in", "Sign in with a `username` message first.", kind)
        if isinstance(message, Chat):
            return self._chat(member.name, member.conn, message.text)
        return self._relay(member.name, message)

    def _sign_in(self, member: _Member, request: SignIn) -> list[Effect]:
        old = member.name
        if request.name == old:
            return []
        name = self._free_name(request.name)
        effects: list[Effect] = []
        if name != request.name:
            reply = {"type": "rejectusername", "id": member.conn, "name": name}
            effects.append(Send((member.conn,), encode(reply)))
        if old is None:
            member.features = request.features
            if member.features:
                welcome = {
                    "type": "signed-in",
                    "id": member.conn,
                    "name": name,
                    "features": sorted(member.features),
                }
                effects.append(Send((member.conn,), encode(welcome)))
            if "deltas" in member.features:
                self._changes.fresh.add(member.conn)
        else:
            del self._by_name[old]
            self._rename_partners(old, name)
            self._changes.renamed[name] = self._changes.renamed.pop(old, old)
            self._touch(old)
        member.name = name
        self._by_name[name] = member
        self._touch(name)
        return effects

    def _free_name(self, wanted: str) -> str:
        """The name itself if free, else the reference's numbered fallback."""
        name, number = wanted, 0
        while name in self._by_name:
            number += 1
            name = numbered_name(wanted, number)
        return name

    def _chat(self, name: str, conn: ConnId, text: str) -> list[Effect]:
        line = {"type": "message", "name": name, "date": int(self._clock() * 1000), "id": conn}
        plain: list[ConnId] = []
        html: list[ConnId] = []
        for member in self._signed_in():
            (plain if "plain-text" in member.features else html).append(member.conn)
        effects: list[Effect] = []
        if plain:
            effects.append(Send(tuple(plain), encode({**line, "text": text})))
        if html:
            safe = escape_html(strip_tags(text))
            effects.append(Send(tuple(html), encode({**line, "text": safe})))
        return effects

    def _relay(self, sender: str, message: Relay) -> list[Effect]:
        body = message.body
        body["name"] = sender
        if message.target is None:
            return [Send(tuple(m.conn for m in self._signed_in()), encode(body))]
        target = self._by_name.get(message.target)
        if target is None:
            raise ProtocolError(
                "no-such-user",
                f"{message.target} is not online; the {message.type} was not delivered.",
                message.type,
                message.target,
            )
        auto = self._ring_for_legacy(sender, target, message.type)
        if auto is not None:
            return auto
        if message.target != sender:
            self._track_call(sender, message.target, message.type)
        return [Send((target.conn,), encode(body))]

    # -- calls -----------------------------------------------------------

    def _ring_for_legacy(self, caller: str, callee: _Member, kind: str) -> list[Effect] | None:
        """Answer a ``call-invite`` for a client that cannot ring.

        The reference client answers every offer at once, so the server
        accepts on its behalf (or declines as busy), and the caller goes on to
        send its ``video-offer``.
        """
        if kind != "call-invite" or "ringing" in callee.features:
            return None
        assert callee.name is not None
        caller_conn = self._by_name[caller].conn
        if self.is_busy(callee.name) and self.partner_of(callee.name) != caller:
            reply: dict[str, Any] = {
                "type": "call-decline",
                "name": callee.name,
                "target": caller,
                "reason": "busy",
            }
        else:
            self._track_call(caller, callee.name, kind)
            reply = {"type": "call-accept", "name": callee.name, "target": caller, "auto": True}
        return [Send((caller_conn,), encode(reply))]

    def _track_call(self, sender: str, target: str, kind: str) -> None:
        if kind in _CALL_OPENERS:
            if sender not in self._partners:
                self._partners[sender] = _Partner(target)
                self._callers.setdefault(target, set()).add(sender)
        elif kind in _CALL_ACCEPTS:
            caller = self._partners.get(target)
            if caller is not None and caller.name == sender and not caller.active:
                self._drop_ringing(target, sender)
                self._partners[target] = _Partner(sender, active=True)
                self._partners[sender] = _Partner(target, active=True)
                self._touch(sender)
                self._touch(target)
        elif kind in _CALL_ENDERS:
            self._unpair(sender, target)

    def _unpair(self, one: str, other: str) -> None:
        for a, b in ((one, other), (other, one)):
            partner = self._partners.get(a)
            if partner is not None and partner.name == b:
                del self._partners[a]
                self._drop_ringing(b, a)
                if partner.active:
                    self._touch(a)

    def _drop_ringing(self, callee: str, caller: str) -> None:
        callers = self._callers.get(callee)
        if callers is not None:
            callers.discard(caller)
            if not callers:
                del self._callers[callee]

    def _end_calls_of(self, name: str) -> list[Effect]:
        """Hang up, on their behalf, everyone ``name`` was calling or talking to."""
        others = set(self._callers.pop(name, ()))
        partner = self._partners.get(name)
        if partner is not None:
            others.add(partner.name)
        effects: list[Effect] = []
        for other in sorted(others):
            self._unpair(name, other)
            member = self._by_name.get(other)
            if member is not None:
                hang_up = {"type": "hang-up", "name": name, "target": other, "reason": "gone"}
                effects.append(Send((member.conn,), encode(hang_up)))
        return effects

    def _rename_partners(self, old: str, new: str) -> None:
        partner = self._partners.pop(old, None)
        if partner is not None:
            self._partners[new] = partner
            other = self._partners.get(partner.name)
            if other is not None and other.name == old:
                other.name = new
            callers = self._callers.get(partner.name)
            if callers is not None and old in callers:
                callers.discard(old)
                callers.add(new)
        callers_of_old = self._callers.pop(old, None)
        if callers_of_old:
            self._callers[new] = callers_of_old
            for caller in callers_of_old:
                self._partners[caller].name = new

    # -- presence --------------------------------------------------------

    def _signed_in(self) -> Iterable[_Member]:
        return self._by_name.values()

    def _touch(self, name: str) -> None:
        self._changes.touched.add(name)
        self._changes.list_changed = True

    def _full_list(self) -> dict[str, Any]:
        busy = [name for name in self._by_name if self.is_busy(name)]
        return {"type": "userlist", "users": self.usernames(), "busy": busy}

    def _delta(self, changes: _PresenceChanges) -> dict[str, Any] | None:
        """Net the touched names against what deltas clients last saw."""
        seen = self._seen_by_deltas
        joined: list[str] = []
        left: list[str] = []
        busy: list[str] = []
        idle: list[str] = []
        for name in changes.touched:
            was = seen.get(name)
            member = self._by_name.get(name)
            now = None if member is None else self.is_busy(name)
            if was is None and now is not None:
                joined.append(name)
            elif was is not None and now is None:
                left.append(name)
            if now is not None and now != bool(was):
                (busy if now else idle).append(name)
            if now is None:
                seen.pop(name, None)
            else:
                seen[name] = now
        renamed = []
        for new, old in changes.renamed.items():
            if new in joined and old in left:
                joined.remove(new)
                left.remove(old)
                renamed.append([old, new])
        if not (joined or left or renamed or busy or idle):
            return None
        order = {name: i for i, name in enumerate(self._by_name)}
        joined.sort(key=order.__getitem__)
        return {
            "type": "presence",
            "joined": joined,
            "left": sorted(left),
            "renamed": renamed,
            "busy": sorted(busy),
            "idle": sorted(idle),
        }
