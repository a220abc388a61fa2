"""What a change in a room tells others: observers' events and the cluster's record (no I/O).

Shared by the room desk and the call desk, which both move people.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .effects import Publish, RoomEvent, UpdateRecord
from .errors import ProtocolError
from .events import Moved
from .moderation import is_waiting_key
from .rooms import Room
from .status import record_of

if TYPE_CHECKING:
    from .context import Context
    from .members import Member

__all__ = ["need_rooms_feature", "observe", "publish_place"]


def observe(context: Context, event: str, room: Room | str | None, name: str | None = "") -> None:
    """Report ``event`` (a webhook's name) in ``room`` to observers; never for waiting
    rooms, which are a room's hidden hall, not a room."""
    label = room.name if isinstance(room, Room) else room
    if label is not None and not is_waiting_key(label):
        context.outbox.emit(RoomEvent(event, label, name or ""))


def publish_place(context: Context, member: Member) -> None:
    """Tell the other nodes where ``member`` is now, and in which call."""
    if context.node is not None:
        record = record_of(context, member)
        context.outbox.emit(Publish(Moved(record)), UpdateRecord(record))


def need_rooms_feature(member: Member, for_type: str) -> None:
    if "rooms" not in member.features:
        raise ProtocolError(
            "bad-room",
            "Rooms need the `rooms` feature, declared when signing in.",
            for_type,
        )
