"""The room messages (the ``rooms`` feature; docs/protocol.md#rooms), one method each,
for :class:`~chinwag.client.ChinwagClient`.

Joining and listing rooms, and a room call's seat and signaling. A request
that has an answer (``join-room``, ``list-rooms``, ``room-call-join``) waits
for it and raises the ``error`` the server sent instead. This base class keeps
them apart from the socket loop; a subclass supplies ``send``, ``subscribe``
and ``close_code``, as for :class:`~chinwag.client.calling.CallMessages`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .errors import ConnectionClosed
from .events import E, ErrorReceived, PublicRoom, RoomCall, RoomEntered, RoomList
from .subscription import Subscription

__all__ = ["RoomMessages"]


class RoomMessages:
    """Sends the room messages through :meth:`send`; holds only the password last used."""

    name: str
    close_code: int | None
    #: The password of the room this client last asked to join (signed in to again after a drop).
    room_password: str | None

    async def send(self, message: Mapping[str, Any]) -> None:
        """Send one message; the subclass owns the socket."""
        raise NotImplementedError

    def subscribe(self) -> Subscription:
        """A queue of every event from now on; the subclass owns the events."""
        raise NotImplementedError

    async def join_room(
        self, room: str, *, password: str | None = None, public: bool = False, title: str = ""
    ) -> RoomEntered:
        """Move to ``room`` (``""``: the default room); return the server's ``room``.

        ``password``/``public``/``title`` set the room up if this join opens it.
        Raises ErrorReply (``room-password-wrong``, ``in-call``, ...) if refused.
        """
        message: dict[str, Any] = {"type": "join-room", "room": room, "public": public}
        if password is not None:
            message["password"] = password
        if title:
            message["title"] = title
        self.room_password = password
        return await self._ask(message, RoomEntered, "join-room")

    async def list_rooms(self) -> tuple[PublicRoom, ...]:
        """The public rooms and their head counts."""
        return (await self._ask({"type": "list-rooms"}, RoomList, "list-rooms")).rooms

    async def join_room_call(self) -> RoomCall:
        """Take a seat in this room's call; return the participants (this client among them)."""
        seated = await self._ask(
            {"type": "room-call-join"},
            RoomCall,
            "room-call-join",
            lambda call: self.name in call.names(),
        )
        return seated

    async def leave_room_call(self) -> None:
        """Give up the seat in this room's call."""
        await self.send({"type": "room-call-leave"})

    async def room_signal(
        self,
        target: str,
        *,
        description: tuple[str, str] | None = None,
        candidate: Mapping[str, Any] | None = None,
    ) -> None:
        """Send ``target`` (in this room's call) a description (type, sdp) or a candidate."""
        message: dict[str, Any] = {"type": "room-signal", "target": target}
        if description is not None:
            message["description"] = {"type": description[0], "sdp": description[1]}
        if candidate is not None:
            message["candidate"] = dict(candidate)
        await self.send(message)

    async def _ask(
        self,
        message: Mapping[str, Any],
        reply: type[E],
        kind: str,
        wanted: Callable[[E], bool] = lambda event: True,
    ) -> E:
        """Send ``message`` and return the next ``reply`` event that is ``wanted``,
        or raise the ``error`` the server answered instead."""
        with self.subscribe() as events:
            await self.send(message)
            async for event in events:
                if isinstance(event, reply) and wanted(event):
                    return event
                if isinstance(event, ErrorReceived) and event.for_type == kind:
                    raise event.exception()
        raise ConnectionClosed(f"closed while waiting for the answer to {kind}", self.close_code)
