"""Room calls on an SFU: the requests a participant makes, who may make them (no I/O).

With ``--sfu`` a room call larger than ``--mesh-max`` moves to Janus
(:class:`~chinwag.core.rooms.CallMode`). The browser never talks to Janus's
API: it sends these requests to chinwag, which checks them here and hands
them, with the sender's own name and room, to the SFU link
(:class:`~chinwag.core.effects.SfuSignal`). So a participant can only
publish as itself and only receive its own call's streams, whatever it
writes; Janus's room secret, pin and tokens never leave the server.

Requests (``docs/protocol.md``, "Room calls on an SFU"):

* ``sfu-publish`` with an offer: publish our camera and microphone;
  answered by ``sfu-published`` with Janus's answer;
* ``sfu-subscribe``: receive everyone else on one connection; answered by
  ``sfu-offer`` (Janus's offer, and which ``mid`` is whose), again whenever
  the set of publishers changes;
* ``sfu-answer`` with the answer to the latest ``sfu-offer``;
* ``sfu-view`` with ``views``: the layer each person's tile needs
  (``high``, ``low`` or ``off``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .effects import SfuSignal
from .errors import ProtocolError
from .protocol import encode
from .requests import SfuRequest
from .rooms import CallMode

if TYPE_CHECKING:
    from .context import Context
    from .directory import Member
    from .routing import Router

__all__ = ["SfuDesk"]


class SfuDesk:
    """Checks SFU requests against the room call, and passes the SFU link's answers on."""

    def __init__(self, context: Context, router: Router) -> None:
        self._ctx = context
        self._router = router

    def request(self, member: Member, request: SfuRequest) -> None:
        """A participant's SFU request: to the SFU link if it is in an SFU call."""
        name = member.name
        assert name is not None
        room = self._ctx.rooms.get(member.room)
        call = room.call if room is not None else None
        if room is None or call is None or not call.has(name):
            raise ProtocolError("not-in-call", "You are not in this room's call.", request.type)
        if call.mode is not CallMode.SFU:
            raise ProtocolError(
                "not-sfu-call", "This room's call is a mesh: use `room-signal`.", request.type
            )
        call.signalled(name)  # an SFU participant's signaling keeps its seat in use
        self._ctx.outbox.emit(
            SfuSignal(room.key, call.opened, name, request.type, request.description, request.views)
        )

    def reply(self, room: str, opened: int, name: str, message: dict[str, Any]) -> None:
        """The SFU link's answer for ``name``, if it is still in that SFU call here."""
        member = self._ctx.directory.local(name)
        if member is not None and self._in_call(room, opened, name) and member.room == room:
            self._router.to_member(member, encode(message))

    def speaker(self, room: str, opened: int, name: str) -> None:
        """Janus heard ``name`` talking: tell that call's participants on this node."""
        key_room = self._ctx.rooms.get(room)
        if key_room is None or not self._in_call(room, opened, name):
            return
        payload = encode({"type": "sfu-speaker", "name": name})
        assert key_room.call is not None
        for participant in key_room.call.names():
            member = self._ctx.directory.local(participant)
            if member is not None and member.room == room:
                self._router.to_member(member, payload)

    def _in_call(self, room: str, opened: int, name: str) -> bool:
        found = self._ctx.rooms.get(room)
        call = found.call if found is not None else None
        return (
            call is not None
            and call.opened == opened
            and call.mode is CallMode.SFU
            and call.has(name)
        )
