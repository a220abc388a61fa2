"""What this node says about a listed user's status: busy, seated, its record (no I/O).

Plain questions of the shared state, asked by every desk that tells others
about a user (the list, the cluster's records, sign-in rules): they live here,
apart from :mod:`~chinwag.core.routing`, so asking needs no desk.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .events import UserRecord

if TYPE_CHECKING:
    from .context import Context
    from .members import Member

__all__ = ["is_busy", "record_of", "room_call_since"]


def is_busy(context: Context, name: str) -> bool:
    """In a one-to-one call (connecting or active) or in a room call."""
    remote = context.directory.remote(name)
    if remote is not None:
        return remote.busy
    return context.calls.in_call(name) or room_call_since(context, name) > 0


def room_call_since(context: Context, name: str) -> int:
    """When a listed user joined its room's call (Unix ms), 0 when not in it."""
    remote = context.directory.remote(name)
    if remote is not None:
        return remote.call
    room = context.rooms.get(context.directory.room_of(name) or "")
    if room is None or room.call is None:
        return 0
    return next((p.since for p in room.call.participants if p.name == name), 0)


def record_of(context: Context, member: Member) -> UserRecord:
    """What the cluster's shared directory holds for a local user."""
    assert member.name is not None
    features = tuple(sorted(member.features))
    room = context.rooms.get(member.room)
    return UserRecord(
        member.name,
        context.node or "",
        features,
        is_busy(context, member.name),
        room.name if room is not None else "",
        room_call_since(context, member.name),
        room.settings if room is not None and member.room else None,
    )
