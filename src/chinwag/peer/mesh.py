"""The aiortc peer in a room call: one peer connection per other participant.

The server's ``room-call`` list fixes each pair's roles (docs/protocol.md,
"Room calls"): the participant who joined later sends the first offer. This
peer declares ``no-rollback`` (aiortc cannot roll back an offer), so it is
the impolite side of every pair: it offers to everyone present when it joins,
answers everyone who joins after it, and ignores an offer that crosses its
own (the browser, being polite, rolls back).

A participant who leaves the list has its connection closed; the others go on.
When the call moves to the SFU (``"mode": "sfu"``) the mesh links close and
:class:`~chinwag.peer.sfu.RoomSfu` carries the call from then on; when it
comes back (no Janus answers and the call is small enough: ``room-call``
without ``mode``), the SFU part closes and the mesh links open again.

A host's ``mute`` of this peer (or of everyone, by someone else) is obeyed as
the web client obeys it: the held kind goes quiet (:mod:`.holds`) and every
other participant is told by ``media-state``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable

from aiortc import MediaStreamTrack, RTCConfiguration

from ..client import ChinwagClient, Moderation, RoomCall, RoomSignal
from ..client.events import Unknown
from .call import Call, RoomSignaling
from .holds import Holds
from .media import CallMedia
from .sfu import RoomSfu

__all__ = ["RoomMesh", "offers_to"]

logger = logging.getLogger("chinwag.peer.mesh")


def offers_to(call: RoomCall, me: str, other: str) -> bool:
    """Whether ``me`` sends the first offer to ``other``: ``me`` joined the call later."""
    names = call.names()
    return names.index(me) > names.index(other)


class RoomMesh:
    """This client's seat in its room's call, and a :class:`Call` per other participant.

    :meth:`run` takes the seat and follows the call until cancelled or the
    connection ends; it leaves the call and closes every connection on the
    way out.
    """

    def __init__(
        self,
        client: ChinwagClient,
        media: Callable[[], CallMedia],
        configuration: Callable[[], RTCConfiguration],
        holds: Holds | None = None,
    ) -> None:
        """``holds``: the :class:`Holds` that ``media``'s CallMedia are given, so a
        host's mute quiets what this peer sends (without it, only ``media-state``
        says so)."""
        self.client = client
        self._media = media
        self._configuration = configuration
        self.holds = holds if holds is not None else Holds()
        self.links: dict[str, Call] = {}  # other participant -> its peer connection
        self.sfu: RoomSfu | None = None  # once the call is on the SFU
        self._others: list[str] = []  # the call's other participants, as last told

    async def run(self) -> None:
        with self.client.subscribe() as events:
            call = await self.client.join_room_call()
            try:
                await self._follow(call)
                async for event in events:
                    if isinstance(event, RoomCall) and event.room == call.room:
                        await self._follow(event)
                    elif isinstance(event, RoomSignal) and self.sfu is None:
                        await self._signal(event)
                    elif isinstance(event, Unknown) and event.type.startswith("sfu-") and self.sfu:
                        await self.sfu.handle(event.raw)
                    elif isinstance(event, Moderation) and event.action == "mute":
                        await self._obey_mute(event)
            finally:
                with contextlib.suppress(Exception):
                    await self.client.leave_room_call()
                await self.close()

    async def close(self) -> None:
        links, self.links = self.links, {}
        for link in links.values():
            await link.close()
        if self.sfu is not None:
            await self.sfu.close()

    async def _follow(self, call: RoomCall) -> None:
        """Open links to new participants (offering where this peer joined later),
        close those to participants who left."""
        me = self.client.name
        self._others = [name for name in call.names() if name != me]
        if call.raw.get("mode") == "sfu" and me in call.names():
            if self.sfu is None:
                await self.close()
                self.sfu = RoomSfu(self.client, self._media, self._configuration)
                await self.sfu.publish()
            return
        # No Janus left and the call is small: a mesh again. (A call without us is an
        # older event, queued before our join's answer: not a move.)
        if self.sfu is not None and me in call.names():
            logger.info("room call: back to a mesh")
            sfu, self.sfu = self.sfu, None
            await sfu.close()
        present = set(call.names())
        for gone in [name for name in self.links if name not in present]:
            logger.info("room call: %s left", gone)
            await self.links.pop(gone).close()
        if me not in present:
            return
        for other in call.names():
            if other != me and other not in self.links:
                link = self._link(other)
                if offers_to(call, me, other):
                    await link.start()

    def sender_of(self, track: MediaStreamTrack) -> str:
        """Whose media a received track carries, on the SFU or a mesh link ("" if none)."""
        if self.sfu is not None:
            return self.sfu.sender_of(track)
        for name, link in self.links.items():
            if any(receiver.track is track for receiver in link.pc.getReceivers()):
                return name
        return ""

    async def _obey_mute(self, order: Moderation) -> None:
        """A host muted us (or everyone, and it was not us): go quiet, say so."""
        me = self.client.name
        if order.target != me and (order.target is not None or order.by == me):
            return
        if not self.holds.hold(order.kind or "audio"):
            return
        logger.info("room call: %s muted our %s", order.by or "the server", order.kind or "audio")
        state = {"type": "media-state", **self.holds.sending(), "screen": False}
        for other in self._others:
            await self.client.send({**state, "target": other})

    async def _signal(self, signal: RoomSignal) -> None:
        link = self.links.get(signal.name) or self._link(signal.name)
        await link.handle(signal)

    def _link(self, other: str) -> Call:
        logger.info("room call: connecting with %s", other)
        link = Call(
            self.client,
            other,
            polite=False,
            media=self._media(),
            configuration=self._configuration(),
            signaling=RoomSignaling(self.client, other),
        )
        self.links[other] = link
        return link
