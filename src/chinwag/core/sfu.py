"""Room calls on an SFU: the requests a participant makes, who may make them (no I/O).

With ``--sfu`` a room call larger than ``--mesh-max`` moves to Janus
(:class:`~chinwag.core.roomcall.CallMode`). The browser never talks to Janus's
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
  (``high``, ``low`` or ``off``);
* ``sfu-unmute`` with ``kind``: lift a host's mute of one's own audio or
  video at Janus.

A host's ``mute`` (:func:`enforce_mute`) is enforced at Janus in an SFU call
(:class:`~chinwag.core.effects.SfuModerate`): Janus stops forwarding that
stream, whatever the muted client does. As in Google Meet, the person may
unmute themselves (``sfu-unmute``); a host who needs silence removes them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from .effects import SfuModerate, SfuSignal
from .errors import ProtocolError
from .protocol import encode
from .requests import SfuRequest
from .roomcall import CallMode

if TYPE_CHECKING:
    from .context import Context
    from .events import HostOrder
    from .members import Member
    from .ports import Mail
    from .rooms import Room

__all__ = ["SfuDesk", "enforce_mute"]

#: The Janus stream each kind of host mute holds back: a screen share replaces
#: the camera on the one video m-line of an SFU publisher.
_MUTED_STREAM: Final = {"audio": "audio", "video": "video", "screen": "video"}


def enforce_mute(context: Context, room: Room, order: HostOrder) -> None:
    """A host's ``mute`` order, carried out on this node: in an SFU call, Janus holds
    back the stream of each targeted participant whose connection is here (each
    node's SFU link holds the Janus handles of its own participants)."""
    call = room.call
    if call is None or call.mode is not CallMode.SFU:
        return  # a mesh: the clients obey the notice
    names = [order.target] if order.target else [n for n in call.names() if n != order.by]
    for name in names:
        member = context.directory.local(name)
        if member is not None and member.room == room.key and call.has(name):
            kind = _MUTED_STREAM.get(order.kind, "audio")
            context.outbox.emit(SfuModerate(room.key, call.opened, name, kind, mute=True))


class SfuDesk:
    """Checks SFU requests against the room call, and passes the SFU link's answers on."""

    def __init__(self, context: Context, router: Mail) -> None:
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
        if request.type == "sfu-unmute":  # only ever one's own stream
            self._ctx.outbox.emit(SfuModerate(room.key, call.opened, name, request.media, False))
            return
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
