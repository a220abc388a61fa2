"""The Redis bus's room claims (``Bus.claim_room``), kept beside redis.py's connection life.

Keys, beside those redis.py lists (``key`` is a room's name key)::

    {prefix}room:{key}      msgpack RoomSettings: the room's claimed settings
    {prefix}holders:{key}   set: the nodes holding that claim (alive ones count)
    {prefix}rooms:{node}    set: the room keys the node holds (reaped with it)

The scripts (scripts.py) drop holders that are not alive before answering a
claim, and reaping a dead node lets go of its rooms.
"""

from __future__ import annotations

import contextlib
from typing import Any

import msgspec
from redis.commands.core import AsyncScript

from ..core.events import RoomSettings
from .bus import BusUnavailable
from .outbound import encode
from .scripts import Scripts

__all__ = ["RedisRoomClaims"]

_decode_settings = msgspec.msgpack.Decoder(RoomSettings).decode


class RedisRoomClaims:
    """Mixed into RedisBus, whose ``_run``, ``_scripts`` and ``_available`` these use."""

    _available: bool

    async def _run(self, script: AsyncScript, *args: str | bytes) -> Any:
        raise NotImplementedError  # RedisBus's

    @property
    def _scripts(self) -> Scripts:
        raise NotImplementedError  # RedisBus's

    async def claim_room(self, room: str, settings: RoomSettings) -> RoomSettings:
        """Room ``room``'s settings as first claimed (``settings`` if none is held), atomically."""
        return _decode_settings(await self._run(self._scripts.claim_room, room, encode(settings)))

    async def release_room(self, room: str) -> None:
        """This node holds room ``room`` no more; while Redis is down, its lease will lapse."""
        if self._available:
            with contextlib.suppress(BusUnavailable):
                await self._run(self._scripts.release_room, room)
